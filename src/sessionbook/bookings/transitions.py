"""The one way a booking's state changes: set the new state and write its audit row together."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sessionbook.bookings.models import Booking, BookingStatus, PaymentStatus
from sessionbook.bookings.repository import BookingRepository
from sessionbook.bookings.sessions import valid_until


async def record_change(
    repository: BookingRepository,
    booking: Booking,
    *,
    event_type: str,
    source: str,
    now: datetime,
    status: BookingStatus | None = None,
    payment_status: PaymentStatus | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    """Apply a status and/or payment-status change and append the audit row in one go.

    The caller holds the row lock (FOR UPDATE, or SQLite's write lock) for the transaction.
    """
    from_status = booking.status
    details = dict(data or {})
    if payment_status is not None and payment_status != booking.payment_status:
        details.setdefault("fromPaymentStatus", booking.payment_status)
        details.setdefault("toPaymentStatus", payment_status.value)
        booking.payment_status = payment_status.value
    if status is not None and status != booking.status:
        booking.status = status.value
        _stamp(booking, status, now)
    booking.updated_at = now
    await repository.add_event(
        booking,
        event_type=event_type,
        source=source,
        from_status=from_status,
        to_status=booking.status,
        data=details,
        at=now,
    )


def _stamp(booking: Booking, status: BookingStatus, now: datetime) -> None:
    if status is BookingStatus.PAID and booking.paid_at is None:
        booking.paid_at = now
        # The package's validity runs from the payment.
        booking.sessions_valid_until = valid_until(now, booking.valid_days)
    elif status is BookingStatus.SCHEDULED:
        booking.scheduled_at = now
    elif status is BookingStatus.CANCELLED:
        booking.cancelled_at = now
    elif status is BookingStatus.EXPIRED:
        booking.expired_at = now


def expiry_due(booking: Booking, now: datetime) -> bool:
    """Unpaid past the payment window, or free and unscheduled past the scheduling window.

    A paid booking is never expired by time: its customer keeps the right to schedule or be
    refunded.
    """
    if booking.expires_at > now:
        return False
    if booking.status == BookingStatus.PENDING:
        return True
    return booking.status == BookingStatus.PAID and booking.amount_cents == 0
