"""iCalendar (RFC 5545) files of booked sessions: one per email, all of them in calendar.ics."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from icalendar import Calendar, Event

PRODUCT_ID = "-//sessionbook//booking confirmation//EN"


@dataclass(frozen=True, slots=True)
class EventFields:
    """One session as a VEVENT: the same `uid` with a higher `sequence` updates an earlier copy."""

    uid: str
    sequence: int
    start: datetime
    end: datetime
    summary: str
    description: str
    location: str | None


def session_event(
    *,
    uid: str,
    sequence: int,
    start: datetime,
    end: datetime,
    summary: str,
    description: str,
    location: str | None,
    now: datetime,
) -> bytes:
    """A calendar of one VEVENT in UTC, for the confirmation email of one session."""
    fields = EventFields(uid, sequence, start, end, summary, description, location)
    return sessions_calendar([fields], now=now)


def sessions_calendar(events: Sequence[EventFields], *, now: datetime) -> bytes:
    """One VCALENDAR holding a VEVENT per session.

    icalendar escapes TEXT values and folds long lines (RFC 5545 3.3.11 and 3.1).
    """
    if not events:
        raise ValueError("a calendar of sessions needs at least one session")
    calendar = Calendar()
    calendar.add("prodid", PRODUCT_ID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    for fields in events:
        calendar.add_component(_event(fields, now))
    ical: bytes = calendar.to_ical()
    return ical


def _event(fields: EventFields, now: datetime) -> Event:
    event = Event()
    event.add("uid", fields.uid)
    event.add("sequence", fields.sequence)
    event.add("dtstamp", now.astimezone(UTC))
    event.add("dtstart", fields.start.astimezone(UTC))
    event.add("dtend", fields.end.astimezone(UTC))
    event.add("summary", fields.summary)
    event.add("description", fields.description)
    if fields.location:
        event.add("location", fields.location)
        # URL is a URI, not TEXT: only a plain http(s) address may go in.
        if fields.location.startswith(("https://", "http://")) and not any(
            char.isspace() for char in fields.location
        ):
            event.add("url", fields.location)
    event.add("status", "CONFIRMED")
    event.add("transp", "OPAQUE")
    return event
