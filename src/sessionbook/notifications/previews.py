"""Sample bookings for the admin's email previews: a fictitious customer, nothing stored.

The preview renders them with `messages.render`, the function every real email goes through.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sessionbook.bookings.models import Booking, BookingSession
from sessionbook.catalog.models import Package
from sessionbook.notifications.messages import (
    BOOKING_CONFIRMED,
    BOOKING_EXPIRED,
    BOOKING_REMINDER,
    PAYMENT_RECEIVED,
    SESSION_CANCELLED_BY_COACH,
    SESSIONS_LAPSING,
)

SAMPLE_CUSTOMER_NAME = "Alex Example"
SAMPLE_CUSTOMER_EMAIL = "alex@example.com"
SAMPLE_MEETING_URL = "https://meet.example.com/sample-session"
# Fixed ids, so a preview reads the same each time it is opened.
SAMPLE_BOOKING_ID = uuid.UUID("00000000-0000-4000-8000-000000000001")
SAMPLE_SESSION_ID = uuid.UUID("00000000-0000-4000-8000-000000000002")


@dataclass(frozen=True, slots=True)
class Sample:
    booking: Booking
    sessions: list[BookingSession]
    payload: dict[str, object]


def sample_for(
    kind: str, *, package: Package, locale: str, zone: ZoneInfo, now: datetime
) -> Sample:
    """A booking of `package` in the state `kind` speaks of, its session next week at 10:00."""
    next_week = (now.astimezone(zone) + timedelta(days=7)).date()
    start = datetime.combine(next_week, time(10), tzinfo=zone).astimezone(now.tzinfo)
    end = start + timedelta(minutes=package.duration_minutes)
    status = {
        BOOKING_EXPIRED: "expired",
        BOOKING_CONFIRMED: "scheduled",
        BOOKING_REMINDER: "scheduled",
    }.get(kind, "paid")
    booking = Booking(
        id=SAMPLE_BOOKING_ID,
        package_id=package.id,
        package_title=package.title,
        duration_minutes=package.duration_minutes,
        sessions_total=package.sessions,
        valid_days=package.valid_days,
        amount_cents=package.price_cents,
        refunded_cents=0,
        currency=package.currency,
        customer_name=SAMPLE_CUSTOMER_NAME,
        customer_email=SAMPLE_CUSTOMER_EMAIL,
        customer_timezone=zone.key,
        customer_locale=locale,
        status=status,
        payment_status="pending" if status == "expired" else "paid",
        cal_event_type_id=package.cal_event_type_id,
        sessions_valid_until=now + timedelta(days=5),
        sessions_lapsed=0,
        expires_at=now + timedelta(days=30),
        created_at=now,
    )
    session = BookingSession(
        id=SAMPLE_SESSION_ID,
        booking_id=booking.id,
        state="booked",
        start_time=start,
        end_time=end,
        meeting_url=SAMPLE_MEETING_URL,
    )
    if kind in (BOOKING_CONFIRMED, BOOKING_REMINDER):
        payload: dict[str, object] = {"sessionId": str(session.id)}
        if kind == BOOKING_REMINDER:
            payload["scheduledStart"] = start.isoformat()
        return Sample(booking, [session], payload)
    if kind == SESSION_CANCELLED_BY_COACH:
        return Sample(booking, [], {"sessionId": str(session.id), "start": start.isoformat()})
    if kind in (PAYMENT_RECEIVED, SESSIONS_LAPSING, BOOKING_EXPIRED):
        return Sample(booking, [], {})
    raise KeyError(kind)
