"""The payment page of a new booking, made through the gateway for the booking service."""

from __future__ import annotations

from datetime import datetime

from sessionbook.bookings.models import Booking
from sessionbook.bookings.ports import IssuedPaymentLink, PaymentLinkFailed
from sessionbook.branding.profile import BrandSource
from sessionbook.payments.airwallex.errors import PaymentProviderError
from sessionbook.payments.airwallex.gateway import PaymentGateway

# Airwallex documents `title` as a required string shown on its hosted page, without a
# published maximum; 200 characters is what our stand-in accepts, so no title is cut there
# that would pass here. A package title alone is at most 200 characters too.
PAYMENT_TITLE_MAX_LENGTH = 200
_SEPARATOR = " · "


def payment_title(display_name: str, package_title: str) -> str:
    """`Coach Anna · Monthly package`: the customer sees whom they pay, then for what."""
    title = f"{display_name}{_SEPARATOR}{package_title}" if display_name else package_title
    if len(title) <= PAYMENT_TITLE_MAX_LENGTH:
        return title
    return title[: PAYMENT_TITLE_MAX_LENGTH - 1].rstrip() + "…"


class GatewayPaymentLinks:
    """Implements `bookings.ports.PaymentLinkCreator` with one idempotent gateway call.

    With a brand, the link's title starts with the coach's business (or own) name.
    """

    def __init__(self, gateway: PaymentGateway, brand: BrandSource | None = None) -> None:
        self.gateway = gateway
        self.brand = brand

    async def create_link(
        self,
        booking: Booking,
        *,
        title: str,
        description: str | None,
        expires_at: datetime,
    ) -> IssuedPaymentLink:
        if self.brand is not None:
            title = payment_title((await self.brand.current()).display_name, title)
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
