"""The words of each customer email, written from the booking as it is when the email is sent."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sessionbook.bookings.models import Booking, BookingSession
from sessionbook.bookings.sessions import next_session, sessions_remaining
from sessionbook.core.money import format_money
from sessionbook.notifications.email import Attachment, OutgoingEmail
from sessionbook.notifications.ics import session_event

PAYMENT_RECEIVED = "payment_received"
BOOKING_CONFIRMED = "booking_confirmed"
BOOKING_EXPIRED = "booking_expired"
BOOKING_REMINDER = "booking_reminder"
SESSIONS_LAPSING = "sessions_lapsing"
SESSION_CANCELLED_BY_COACH = "session_cancelled_by_coach"
KINDS = (
    PAYMENT_RECEIVED,
    BOOKING_CONFIRMED,
    BOOKING_EXPIRED,
    BOOKING_REMINDER,
    SESSIONS_LAPSING,
    SESSION_CANCELLED_BY_COACH,
)


class Obsolete(Exception):
    """The news in this message is no longer true (rescheduled, cancelled, paid after all)."""


def _zone(booking: Booking, fallback: str) -> ZoneInfo:
    for name in (booking.customer_timezone, fallback):
        if name:
            try:
                return ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


def _when(moment: datetime, zone: ZoneInfo) -> str:
    local = moment.astimezone(zone)
    return f"{local:%A %d %B %Y, %H:%M} ({zone.key})"


def session_uid(session: BookingSession) -> str:
    """The stable iCalendar UID of a session: the same across moves and resends."""
    return f"{session.id}@sessionbook"


def _session_of(
    booking: Booking, sessions: list[BookingSession], payload: dict[str, object], now: datetime
) -> BookingSession:
    """The session a confirmation or reminder is about: the one it names, else the next."""
    if booking.status not in ("paid", "scheduled"):
        raise Obsolete(f"booking is {booking.status}")
    named = payload.get("sessionId")
    if named is not None:
        for session in sessions:
            if str(session.id) == named:
                return session
        raise Obsolete("session cancelled")
    found = next_session(sessions, now)
    if found is None:
        raise Obsolete("no session booked")
    return found


def render(
    *,
    kind: str,
    booking: Booking,
    sessions: list[BookingSession],
    payload: dict[str, object],
    coach_timezone: str,
    message_id: str,
    sequence: int,
    now: datetime,
) -> OutgoingEmail:
    """The email for one outbox row; `Obsolete` when it should no longer be sent."""
    title = booking.package_title
    zone = _zone(booking, coach_timezone)
    greeting = f"Hello {booking.customer_name},\n\n"
    reference = f"\n\nYour booking reference: {booking.id}\n"
    attachments: tuple[Attachment, ...] = ()
    if kind == PAYMENT_RECEIVED:
        subject = f"Payment received: {title}"
        body = (
            f"we received your payment of {format_money(booking.amount_cents, booking.currency)} "
            f"for {title}. Thank you!\n\nYou can now pick a time for your session with the "
            "booking link you were given when you booked."
        )
    elif kind == BOOKING_EXPIRED:
        if booking.status != "expired":
            raise Obsolete(f"booking is {booking.status}")
        subject = f"Your booking has expired: {title}"
        body = (
            f"your booking for {title} was not completed in time and has expired. "
            "Nothing was charged for it. You are welcome to book again at any time."
        )
    elif kind == SESSIONS_LAPSING:
        remaining = sessions_remaining(booking, len(sessions))
        until = booking.sessions_valid_until
        if booking.status != "paid" or remaining == 0 or until is None or until <= now:
            raise Obsolete("nothing left to lapse")
        subject = f"{remaining} session(s) of your {title} left to book"
        body = (
            f"you still have {remaining} session(s) of your {title} to book. Sessions not "
            f"booked by {_when(until, zone)} lapse. Pick your times with the booking link "
            "you were given when you booked."
        )
    elif kind == SESSION_CANCELLED_BY_COACH:
        start_text = payload.get("start")
        when = _when(datetime.fromisoformat(str(start_text)), zone) if start_text else "soon"
        subject = f"Your coach cancelled your {title} on {when}"
        body = (
            f"your coach had to cancel your {title} on {when}. The session is credited back "
            "to your booking, nothing is lost: pick a new time with the booking link you were "
            "given when you booked."
        )
    elif kind in (BOOKING_CONFIRMED, BOOKING_REMINDER):
        session = _session_of(booking, sessions, payload, now)
        start, end = session.start_time, session.end_time
        if kind == BOOKING_REMINDER:
            if payload.get("scheduledStart") != start.isoformat() or start <= now:
                raise Obsolete("session moved or already begun")
            subject = f"Reminder: {title} on {_when(start, zone)}"
            lead = f"a reminder that your {title} starts {_when(start, zone)}."
        else:
            subject = f"Booking confirmed: {title} on {_when(start, zone)}"
            lead = f"your {title} is booked for {_when(start, zone)}."
        link = session.meeting_url or "the link in your calendar invitation"
        body = f"{lead}\n\nJoin here: {link}\n\nThe session is attached as a calendar file."
        attachments = (
            Attachment(
                filename="session.ics",
                content_type="text/calendar; method=PUBLISH",
                content=session_event(
                    uid=session_uid(session),
                    sequence=sequence,
                    start=start,
                    end=end,
                    summary=title,
                    description=f"Booking reference {booking.id}",
                    location=session.meeting_url,
                    now=now,
                ),
            ),
        )
    else:
        raise Obsolete(f"unknown notification kind {kind!r}")
    return OutgoingEmail(
        to=booking.customer_email,
        subject=subject,
        text=greeting + body + reference,
        kind=kind,
        booking_id=str(booking.id),
        message_id=message_id,
        attachments=attachments,
    )
