"""The payment page of a new booking, made through the gateway for the booking service."""

from __future__ import annotations

from datetime import datetime

from sessionbook.bookings.models import Booking
from sessionbook.bookings.ports import IssuedPaymentLink, PaymentLinkFailed
from sessionbook.payments.airwallex.errors import PaymentProviderError
from sessionbook.payments.airwallex.gateway import PaymentGateway


class GatewayPaymentLinks:
    """Implements `bookings.ports.PaymentLinkCreator` with one idempotent gateway call."""

    def __init__(self, gateway: PaymentGateway) -> None:
        self.gateway = gateway

    async def create_link(
        self,
        booking: Booking,
        *,
        title: str,
        description: str | None,
        expires_at: datetime,
    ) -> IssuedPaymentLink:
        try:
            link = await self.gateway.create_payment_link(
                booking_id=str(booking.id),
                amount_cents=booking.amount_cents,
                currency=booking.currency,
                title=title,
                description=description,
                expires_at=expires_at,
                # The same id on a retry: Airwallex makes the link once.
                request_id=f"booking-{booking.id}-link",
            )
        except PaymentProviderError as exc:
            raise PaymentLinkFailed(exc.code) from exc
        return IssuedPaymentLink(id=link.id, url=link.url)
