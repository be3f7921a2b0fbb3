"""Every SQL statement of the scheduling domain: slot claims and the sweep's booking queries."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import delete, exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from sessionbook.bookings.models import (
    LEASE_HELD,
    Booking,
    BookingEvent,
    BookingSession,
    BookingStatus,
    where_rows,
)
from sessionbook.bookings.repository import sessions_ahead
from sessionbook.scheduling.models import SlotClaim


class ClaimRepository:
    """Reads and writes slot claims (and the booking rows the sweep looks for) in a transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def of_booking(self, booking_id: uuid.UUID) -> Sequence[SlotClaim]:
        statement = (
            select(SlotClaim).where(SlotClaim.booking_id == booking_id).order_by(SlotClaim.id)
        )
        return (await self.session.execute(statement)).scalars().all()

    async def add(self, claim: SlotClaim) -> None:
        """Insert; IntegrityError when another booking holds the same event type and start."""
        self.session.add(claim)
        await self.session.flush()

    async def add_if_free(self, claim: SlotClaim) -> bool:
        """Insert inside a savepoint; False (and the transaction intact) when the slot is held."""
        try:
            async with self.session.begin_nested():
                self.session.add(claim)
                await self.session.flush()
        except IntegrityError:
            return False
        return True

    async def remove(self, claims: Iterable[SlotClaim]) -> None:
        ids = [claim.id for claim in claims]
        if ids:
            await self.session.execute(delete(SlotClaim).where(SlotClaim.id.in_(ids)))

    async def held_by_others(
        self, *, event_type_id: int, start: datetime, end: datetime, booking_id: uuid.UUID
    ) -> Sequence[tuple[datetime, datetime]]:
        """(start, end) of claims on this event type overlapping [start, end) of other bookings.

        Runs as the service role: a customer may not see other bookings' claims, only their times.
        """
        statement = select(SlotClaim.start_time, SlotClaim.end_time).where(
            SlotClaim.event_type_id == event_type_id,
            SlotClaim.start_time < end,
            SlotClaim.end_time > start,
            SlotClaim.booking_id != booking_id,
        )
        rows = (await self.session.execute(statement)).all()
        return [(row[0], row[1]) for row in rows]

    async def has_event(self, booking_id: uuid.UUID, event_type: str) -> bool:
        statement = select(
            exists().where(
                BookingEvent.booking_id == booking_id, BookingEvent.event_type == event_type
            )
        )
        return bool((await self.session.execute(statement)).scalar())

    async def ids_with_lapsed_lease(self, now: datetime, *, limit: int) -> Sequence[uuid.UUID]:
        """Bookings whose scheduling lease ran out: a request or sweep died mid-way.

        SKIP LOCKED lets several sweepers share the work; the lease itself stops double work.
        """
        statement = (
            select(Booking.id)
            .where(where_rows(LEASE_HELD), Booking.schedule_lease_until <= now)
            .order_by(Booking.schedule_lease_until)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return (await self.session.execute(statement)).scalars().all()

    async def sessions_of_cancelled_bookings(
        self, now: datetime, *, limit: int
    ) -> Sequence[BookingSession]:
        """Booked sessions not yet ended whose booking was cancelled (by a refund, say).

        From the partial index of booked sessions by end: the sessions ahead, not the past.
        """
        ahead = aliased(BookingSession, sessions_ahead(now))
        # A scalar subquery, one primary-key probe per session ahead: as a join, a planner may
        # hash every cancelled booking of the history instead.
        status = select(Booking.status).where(Booking.id == ahead.booking_id).scalar_subquery()
        statement = (
            select(ahead)
            .where(status == BookingStatus.CANCELLED)
            .order_by(ahead.start_time)
            .limit(limit)
        )
        return (await self.session.execute(statement)).scalars().all()
