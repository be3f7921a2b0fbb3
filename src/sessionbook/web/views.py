"""What the booking page shows for a booking: one named view per state, and its facts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sessionbook.bookings.models import Booking, BookingSession, BookingStatus, PaymentStatus
from sessionbook.bookings.service import BookingStatusView
from sessionbook.bookings.sessions import next_session, sessions_remaining
from sessionbook.core import i18n
from sessionbook.core.money import format_money
from sessionbook.web.formatting import (
    format_date,
    format_day,
    format_moment,
    format_price,
    format_time_range,
    zone_or_utc,
)

# The page's states; the status endpoint reports the same name, so the script only has to
# notice that the name changed and reload the page.
WAITING = "waiting"
PAYMENT_FAILED = "payment-failed"
SCHEDULE = "schedule"
CONFIRMED = "confirmed"
EXPIRED = "expired"
CANCELLED = "cancelled"


def view_name(booking: Booking, live_count: int, now: datetime) -> str:
    """The page state of a booking holding `live_count` booked sessions.

    A paid package whose validity has passed offers no picker even before the sweep has
    recorded the lapse: what is booked is confirmed, and with nothing booked it has expired.
    """
    if booking.status == BookingStatus.PENDING:
        return PAYMENT_FAILED if booking.payment_status == PaymentStatus.FAILED else WAITING
    if booking.status == BookingStatus.PAID:
        if not _validity_passed(booking, now):
            return SCHEDULE
        return CONFIRMED if live_count else EXPIRED
    if booking.status == BookingStatus.SCHEDULED:
        return CONFIRMED
    if booking.status == BookingStatus.EXPIRED:
        return EXPIRED
    return CANCELLED


def _validity_passed(booking: Booking, now: datetime) -> bool:
    until = booking.sessions_valid_until
    return until is not None and until <= now


@dataclass(frozen=True, slots=True)
class SessionView:
    """One booked session as the list shows it, in the customer's zone."""

    id: str
    number: int
    start: datetime
    end: datetime
    day_text: str
    time_text: str
    meeting_url: str | None
    ended: bool
    # Outside the cancellation cutoff: the customer may still move or cancel it online.
    can_change: bool


@dataclass(frozen=True, slots=True)
class BookingView:
    """The facts a page may show: never the token, only what the customer gave or bought."""

    name: str
    package_id: str
    package_title: str
    duration_minutes: int
    price: str
    amount_cents: int
    currency: str
    free: bool
    customer_name: str
    customer_email: str
    payment_url: str | None
    refunded: bool
    # What went back to the card, once it has: the refund recorded, else the whole price.
    refunded_amount: str | None
    cancelled_on_text: str | None
    scheduled_start: datetime | None
    scheduled_end: datetime | None
    time_zone: str
    chosen_zone: str | None
    day_text: str | None
    time_text: str | None
    meeting_url: str | None
    expires_at: datetime
    expires_text: str
    sessions_total: int
    sessions_remaining: int
    sessions_lapsed: int
    valid_until: datetime | None
    valid_until_text: str | None
    sessions: tuple[SessionView, ...]

    @property
    def multi(self) -> bool:
        """A package of several sessions: the page lists them; a single one looks as ever."""
        return self.sessions_total > 1

    @property
    def sessions_booked(self) -> int:
        return len(self.sessions)

    @property
    def lapsed_count(self) -> int:
        """Sessions lost to the validity: recorded by the sweep, or due and not yet recorded."""
        if self.sessions_lapsed:
            return self.sessions_lapsed
        # Past its validity a paid package shows as confirmed or expired, never as "schedule".
        due = self.name in (CONFIRMED, EXPIRED) and self.valid_until is not None
        return self.sessions_remaining if due else 0


def booking_view(status: BookingStatusView, *, now: datetime, cutoff: timedelta) -> BookingView:
    """What the page shows of a booking, from the booking's own copy of its package."""
    booking, live = status.booking, status.sessions
    name = view_name(booking, len(live), now)
    zone = zone_or_utc(booking.customer_timezone)
    shown = next_session(live, now) if name == CONFIRMED else None
    start = shown.start_time if shown else None
    end = shown.end_time if shown else None
    until = booking.sessions_valid_until
    return BookingView(
        name=name,
        package_id=booking.package_id,
        package_title=booking.package_title,
        duration_minutes=booking.duration_minutes,
        price=format_price(booking.amount_cents, booking.currency),
        amount_cents=booking.amount_cents,
        currency=booking.currency,
        free=booking.amount_cents == 0,
        customer_name=booking.customer_name,
        customer_email=booking.customer_email,
        payment_url=booking.payment_url if name in (WAITING, PAYMENT_FAILED) else None,
        refunded=booking.payment_status == PaymentStatus.REFUNDED,
        refunded_amount=_refunded_amount(booking),
        cancelled_on_text=format_date(booking.cancelled_at, zone) if booking.cancelled_at else None,
        scheduled_start=start,
        scheduled_end=end,
        time_zone=zone.key,
        chosen_zone=booking.customer_timezone,
        day_text=format_day(start, zone) if start else None,
        time_text=format_time_range(start, end, zone) if start and end else None,
        meeting_url=shown.meeting_url if shown else None,
        expires_at=booking.expires_at,
        expires_text=format_moment(booking.expires_at, zone_or_utc("UTC")),
        sessions_total=booking.sessions_total,
        sessions_remaining=sessions_remaining(booking, len(live)),
        sessions_lapsed=booking.sessions_lapsed,
        valid_until=until,
        valid_until_text=format_date(until, zone) if until else None,
        sessions=tuple(
            _session_view(number, session, zone_key=zone.key, now=now, cutoff=cutoff)
            for number, session in enumerate(live, start=1)
        )
        if name in (SCHEDULE, CONFIRMED)
        else (),
    )


def _refunded_amount(booking: Booking) -> str | None:
    if booking.payment_status != PaymentStatus.REFUNDED or booking.amount_cents == 0:
        return None
    amount = booking.refunded_cents or booking.amount_cents
    return format_money(amount, booking.currency, i18n.current_locale())


def _session_view(
    number: int, session: BookingSession, *, zone_key: str, now: datetime, cutoff: timedelta
) -> SessionView:
    zone = zone_or_utc(zone_key)
    return SessionView(
        id=str(session.id),
        number=number,
        start=session.start_time,
        end=session.end_time,
        day_text=format_day(session.start_time, zone),
        time_text=format_time_range(session.start_time, session.end_time, zone),
        meeting_url=session.meeting_url,
        ended=session.end_time <= now,
        # The service has the last word; this only spares the customer a button that must fail.
        can_change=now < session.start_time - cutoff,
    )
