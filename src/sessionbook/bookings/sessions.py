"""The arithmetic of a booking's sessions: which are live, how many remain, which comes next."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sessionbook.bookings.models import Booking, BookingSession, SessionState


def live_sessions(sessions: Iterable[BookingSession]) -> list[BookingSession]:
    """The booked (not cancelled) sessions, earliest first."""
    booked = [session for session in sessions if session.state == SessionState.BOOKED]
    return sorted(booked, key=lambda session: (session.start_time, str(session.id)))


def sessions_remaining(booking: Booking, live_count: int) -> int:
    """Sessions paid for and neither booked nor lapsed; never below 0."""
    return max(0, booking.sessions_total - live_count - (booking.sessions_lapsed or 0))


def all_booked(booking: Booking, live_count: int) -> bool:
    """Every session the booking may still hold is booked, and at least one is."""
    return live_count > 0 and sessions_remaining(booking, live_count) == 0


def next_session(live: list[BookingSession], now: datetime) -> BookingSession | None:
    """The first live session that has not ended, else the last one; None without any."""
    ordered = sorted(live, key=lambda session: (session.start_time, str(session.id)))
    for session in ordered:
        if session.end_time > now:
            return session
    return ordered[-1] if ordered else None


def valid_until(paid_at: datetime, valid_days: int | None) -> datetime | None:
    """When a booking paid at `paid_at` stops being schedulable; None without a validity."""
    if valid_days is None:
        return None
    return paid_at + timedelta(days=valid_days)


def overlaps(session: BookingSession, start: datetime, end: datetime) -> bool:
    """Whether [start, end) and the session's time share any instant."""
    return session.start_time < end and start < session.end_time
