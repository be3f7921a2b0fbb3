"""What the booking side needs from the layers above it, as small Protocols bootstrap fills.

Bookings know no Airwallex and no outbox: payments and notifications implement these, so the
dependencies keep pointing one way (bookings <- payments <- scheduling <- notifications).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from sessionbook.bookings.models import Booking, BookingSession


@dataclass(frozen=True, slots=True)
class IssuedPaymentLink:
    """The hosted payment page made for a booking."""

    id: str
    url: str


class PaymentLinkFailed(Exception):
    """The payment provider made no link; `code` is its error code, for the audit row."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class PaymentLinkCreator(Protocol):
    """Makes the payment page of a new booking (payments implements it over the gateway)."""

    async def create_link(
        self,
        booking: Booking,
        *,
        title: str,
        description: str | None,
        expires_at: datetime,
    ) -> IssuedPaymentLink:
        """Raises PaymentLinkFailed when the provider made no link."""
        ...


# On a status read: re-check a pending payment not checked for a while (PaymentService's).
StalePaymentRefresher = Callable[[Booking], Awaitable[Booking]]


class BookingNews(Protocol):
    """Queues the customer's emails in the caller's transaction (notifications' outbox).

    Each returns True when this call queued the message, False when it was queued already.
    """

    async def payment_received(self, session: AsyncSession, booking: Booking) -> bool: ...

    async def booking_confirmed(
        self,
        session: AsyncSession,
        booking: Booking,
        *,
        booking_session: BookingSession | None = None,
        resend_id: str | None = None,
    ) -> bool:
        """The confirmation of `booking_session` (by default the booking's next session)."""
        ...

    async def booking_expired(self, session: AsyncSession, booking: Booking) -> bool: ...
