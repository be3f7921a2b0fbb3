"""Keyset cursors of the bookings list: where the next page starts, as text for a URL or a shell.

A page is "the `limit` bookings created before this one", newest first, keyed by
(created_at, id): it costs its own rows however far back it is, and a booking created while
someone pages is never shown twice nor skipped, as an OFFSET would do.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sessionbook.bookings.models import Booking

SEPARATOR = "_"


def cursor_after(booking: Booking) -> str:
    """The cursor of the page that follows `booking` (the last row of a page)."""
    moment = booking.created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return f"{moment}{SEPARATOR}{booking.id}"


def parse_cursor(text: str) -> tuple[datetime, uuid.UUID]:
    """(created_at, id) from a cursor; ValueError with a readable reason when it is not one."""
    moment_text, separator, id_text = text.strip().partition(SEPARATOR)
    if not separator:
        raise ValueError("is not a page cursor (expected <createdAt>_<bookingId>)")
    try:
        moment = datetime.fromisoformat(moment_text.replace("Z", "+00:00"))
        booking_id = uuid.UUID(id_text)
    except ValueError:
        raise ValueError("is not a page cursor (expected <createdAt>_<bookingId>)") from None
    if moment.tzinfo is None:
        raise ValueError("needs a time with its offset (Z for UTC)")
    return moment.astimezone(UTC), booking_id
