"""An iCalendar (RFC 5545) event for a scheduled session, attached to the confirmation email."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

PRODUCT_ID = "-//sessionbook//booking confirmation//EN"


def _escape(value: str) -> str:
    """TEXT escaping of RFC 5545 3.3.11: backslash, semicolon, comma and newlines."""
    return (
        value.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
    )


def _fold(line: str) -> str:
    """Lines longer than 75 octets continue on the next line after a single space."""
    encoded = line.encode("utf-8")
    if len(encoded) <= 75:
        return line
    parts: list[str] = []
    current = ""
    limit = 75
    for char in line:
        if len((current + char).encode("utf-8")) > limit:
            parts.append(current)
            current = char
            limit = 74  # continuation lines start with the space
        else:
            current += char
    parts.append(current)
    return "\r\n ".join(parts)


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


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
    """One VEVENT in UTC. The same `uid` with a higher `sequence` updates an earlier copy."""
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODUCT_ID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        "BEGIN:VEVENT",
        f"UID:{_escape(uid)}",
        f"SEQUENCE:{sequence}",
        f"DTSTAMP:{_stamp(now)}",
        f"DTSTART:{_stamp(start)}",
        f"DTEND:{_stamp(end)}",
        f"SUMMARY:{_escape(summary)}",
        f"DESCRIPTION:{_escape(description)}",
    ]
    if location:
        lines.append(f"LOCATION:{_escape(location)}")
        # URL is a URI, not TEXT: only a plain http(s) address may go in unescaped.
        if location.startswith(("https://", "http://")) and not any(
            char.isspace() for char in location
        ):
            lines.append(f"URL:{location}")
    lines += ["STATUS:CONFIRMED", "TRANSP:OPAQUE", "END:VEVENT", "END:VCALENDAR"]
    return ("\r\n".join(_fold(line) for line in lines) + "\r\n").encode("utf-8")


@dataclass(frozen=True, slots=True)
class EventFields:
    """What `session_event` takes for one session, to put several in one calendar."""

    uid: str
    sequence: int
    start: datetime
    end: datetime
    summary: str
    description: str
    location: str | None


def sessions_calendar(events: Sequence[EventFields], *, now: datetime) -> bytes:
    """One VCALENDAR holding a VEVENT per session, each exactly as `session_event` writes it."""
    blocks: list[bytes] = []
    head = tail = b""
    for event in events:
        whole = session_event(
            uid=event.uid,
            sequence=event.sequence,
            start=event.start,
            end=event.end,
            summary=event.summary,
            description=event.description,
            location=event.location,
            now=now,
        )
        begin = whole.index(b"BEGIN:VEVENT")
        end = whole.index(b"END:VEVENT\r\n") + len(b"END:VEVENT\r\n")
        head, tail = whole[:begin], whole[end:]
        blocks.append(whole[begin:end])
    if not blocks:
        raise ValueError("a calendar of sessions needs at least one session")
    return head + b"".join(blocks) + tail
