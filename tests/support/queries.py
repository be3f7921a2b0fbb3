"""Read what the API wrote, straight from the database, as the service role."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update

from sessionbook.bookings.models import Booking, BookingEvent, BookingSession
from sessionbook.bookings.repository import BookingRepository
from sessionbook.bookings.sessions import next_session
from sessionbook.core.db import SERVICE, Database, utcnow


class BookingRow:
    """A stored booking with its next live session's fields where the booking once held them."""

    def __init__(self, booking: Booking, sessions: list[BookingSession]) -> None:
        self.booking = booking
        self.sessions = sessions
        self.session = next_session(sessions, utcnow())

    def __getattr__(self, name: str) -> Any:
        return getattr(self.booking, name)

    @property
    def cal_uid(self) -> str | None:
        return self.session.cal_uid if self.session else None

    @property
    def cal_booking_id(self) -> int | None:
        return self.session.cal_booking_id if self.session else None

    @property
    def scheduled_start(self) -> datetime | None:
        return self.session.start_time if self.session else None

    @property
    def scheduled_end(self) -> datetime | None:
        return self.session.end_time if self.session else None

    @property
    def meeting_url(self) -> str | None:
        return self.session.meeting_url if self.session else None


async def booking_row(database: Database, booking_id: str | uuid.UUID) -> BookingRow:
    async with database.transaction(SERVICE) as session:
        repository = BookingRepository(session)
        booking = await repository.by_id(uuid.UUID(str(booking_id)))
        assert booking is not None, f"booking {booking_id} not stored"
        return BookingRow(booking, await repository.sessions_of(booking.id))


async def audit_trail(database: Database, booking_id: str | uuid.UUID) -> Sequence[BookingEvent]:
    async with database.transaction(SERVICE) as session:
        return await BookingRepository(session).events_of(uuid.UUID(str(booking_id)))


async def event_types(database: Database, booking_id: str | uuid.UUID) -> list[str]:
    return [event.event_type for event in await audit_trail(database, booking_id)]


async def set_booking(database: Database, booking_id: str | uuid.UUID, **values: Any) -> None:
    """Move a booking behind the API's back, e.g. its expiry into the past.

    The session fields a booking once held (`scheduled_start`, `scheduled_end`, `cal_uid`,
    `meeting_url`) give it one booked session instead.
    """
    moved = {key: values.pop(key) for key in _SESSION_FIELDS if key in values}
    key = uuid.UUID(str(booking_id))
    async with database.transaction(SERVICE) as session:
        if values:
            await session.execute(update(Booking).where(Booking.id == key).values(**values))
        if moved:
            booking = await session.get(Booking, key)
            assert booking is not None
            start = moved["scheduled_start"]
            session.add(
                BookingSession(
                    id=uuid.uuid4(),
                    booking_id=key,
                    state="booked",
                    start_time=start,
                    end_time=moved.get("scheduled_end", start + timedelta(hours=1)),
                    cal_event_type_id=booking.cal_event_type_id,
                    cal_booking_id=uuid.uuid4().int % 1_000_000_000,
                    cal_uid=moved.get("cal_uid", f"uid-{uuid.uuid4().hex}"),
                    meeting_url=moved.get("meeting_url"),
                    created_at=utcnow(),
                    updated_at=utcnow(),
                )
            )


_SESSION_FIELDS = ("scheduled_start", "scheduled_end", "cal_uid", "meeting_url")


def parse_utc(text: str) -> datetime:
    assert text.endswith("Z"), f"{text!r} is not UTC with Z"
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


async def start_of_a_fresh_window(window_seconds: int = 60, margin: float = 10.0) -> None:
    """Wait until a fixed rate-limit window has at least `margin` seconds left.

    Limits count in fixed windows of wall-clock time, so a burst that straddles a boundary
    would be counted in two windows and a limit test would pass or fail by the clock.
    """
    left = window_seconds - (time.time() % window_seconds)
    if left < margin:
        await asyncio.sleep(left + 0.05)
