"""An iCalendar (RFC 5545) event for a scheduled session, attached to the confirmation email."""

from __future__ import annotations

from datetime import UTC, datetime

from icalendar import Calendar, Event

PRODUCT_ID = "-//sessionbook//booking confirmation//EN"


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
    """One VEVENT in UTC. The same `uid` with a higher `sequence` updates an earlier copy.

    icalendar escapes TEXT values and folds long lines (RFC 5545 3.3.11 and 3.1).
    """
    calendar = Calendar()
    calendar.add("prodid", PRODUCT_ID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    event = Event()
    event.add("uid", uid)
    event.add("sequence", sequence)
    event.add("dtstamp", now.astimezone(UTC))
    event.add("dtstart", start.astimezone(UTC))
    event.add("dtend", end.astimezone(UTC))
    event.add("summary", summary)
    event.add("description", description)
    if location:
        event.add("location", location)
        # URL is a URI, not TEXT: only a plain http(s) address may go in.
        if location.startswith(("https://", "http://")) and not any(
            char.isspace() for char in location
        ):
            event.add("url", location)
    event.add("status", "CONFIRMED")
    event.add("transp", "OPAQUE")
    calendar.add_component(event)
    ical: bytes = calendar.to_ical()
    return ical
