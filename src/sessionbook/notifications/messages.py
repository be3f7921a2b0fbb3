"""The words of each customer email, written from the booking as it is when the email is sent."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sessionbook.bookings.models import Booking
from sessionbook.core.money import format_money
from sessionbook.notifications.email import Attachment, OutgoingEmail
from sessionbook.notifications.ics import session_event

PAYMENT_RECEIVED = "payment_received"
BOOKING_CONFIRMED = "booking_confirmed"
BOOKING_EXPIRED = "booking_expired"
BOOKING_REMINDER = "booking_reminder"
KINDS = (PAYMENT_RECEIVED, BOOKING_CONFIRMED, BOOKING_EXPIRED, BOOKING_REMINDER)


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


def render(
    *,
    kind: str,
    booking: Booking,
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
    elif kind in (BOOKING_CONFIRMED, BOOKING_REMINDER):
        start, end = booking.scheduled_start, booking.scheduled_end
        if booking.status != "scheduled" or start is None or end is None:
            raise Obsolete(f"booking is {booking.status}")
        if kind == BOOKING_REMINDER:
            if payload.get("scheduledStart") != start.isoformat() or start <= now:
                raise Obsolete("session moved or already begun")
            subject = f"Reminder: {title} on {_when(start, zone)}"
            lead = f"a reminder that your {title} starts {_when(start, zone)}."
        else:
            subject = f"Booking confirmed: {title} on {_when(start, zone)}"
            lead = f"your {title} is booked for {_when(start, zone)}."
        link = booking.meeting_url or "the link in your calendar invitation"
        body = f"{lead}\n\nJoin here: {link}\n\nThe session is attached as a calendar file."
        attachments = (
            Attachment(
                filename="session.ics",
                content_type="text/calendar; method=PUBLISH",
                content=session_event(
                    uid=f"{booking.id}@sessionbook",
                    sequence=sequence,
                    start=start,
                    end=end,
                    summary=title,
                    description=f"Booking reference {booking.id}",
                    location=booking.meeting_url,
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
