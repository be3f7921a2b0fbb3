"""What the booking page shows for a booking: one named view per state, and its facts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sessionbook.bookings.models import Booking, BookingSession, BookingStatus, PaymentStatus
from sessionbook.web.formatting import format_day, format_price, format_time_range, zone_or_utc

# The page's states; the status endpoint reports the same name, so the script only has to
# notice that the name changed and reload the page.
WAITING = "waiting"
PAYMENT_FAILED = "payment-failed"
SCHEDULE = "schedule"
CONFIRMED = "confirmed"
EXPIRED = "expired"
CANCELLED = "cancelled"


def view_name(booking: Booking) -> str:
    """The page state of a booking."""
    if booking.status == BookingStatus.PENDING:
        return PAYMENT_FAILED if booking.payment_status == PaymentStatus.FAILED else WAITING
    if booking.status == BookingStatus.PAID:
        return SCHEDULE
    if booking.status == BookingStatus.SCHEDULED:
        return CONFIRMED
    if booking.status == BookingStatus.EXPIRED:
        return EXPIRED
    return CANCELLED


@dataclass(frozen=True, slots=True)
class BookingView:
    """The facts a page may show: never the token, only what the customer gave or bought."""

    name: str
    package_id: str
    package_title: str
    duration_minutes: int
    price: str
    free: bool
    customer_name: str
    customer_email: str
    payment_url: str | None
    refunded: bool
    scheduled_start: datetime | None
    scheduled_end: datetime | None
    time_zone: str
    chosen_zone: str | None
    day_text: str | None
    time_text: str | None
    meeting_url: str | None
    expires_at: datetime


def booking_view(booking: Booking, upcoming: BookingSession | None = None) -> BookingView:
    """What the page shows of a booking (and its next session), from its copy of its package."""
    name = view_name(booking)
    zone = zone_or_utc(booking.customer_timezone)
    start = upcoming.start_time if upcoming else None
    end = upcoming.end_time if upcoming else None
    return BookingView(
        name=name,
        package_id=booking.package_id,
        package_title=booking.package_title,
        duration_minutes=booking.duration_minutes,
        price=format_price(booking.amount_cents, booking.currency),
        free=booking.amount_cents == 0,
        customer_name=booking.customer_name,
        customer_email=booking.customer_email,
        payment_url=booking.payment_url if name in (WAITING, PAYMENT_FAILED) else None,
        refunded=booking.payment_status == PaymentStatus.REFUNDED,
        scheduled_start=start,
        scheduled_end=end,
        time_zone=zone.key,
        chosen_zone=booking.customer_timezone,
        day_text=format_day(start, zone) if start else None,
        time_text=format_time_range(start, end, zone) if start and end else None,
        meeting_url=upcoming.meeting_url if upcoming and name == CONFIRMED else None,
        expires_at=booking.expires_at,
    )
