"""Every SQL statement of the booking domain; no rules live here."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sessionbook.bookings.models import Booking, BookingEvent, BookingStatus


class BookingRepository:
    """Reads and writes bookings and their audit rows inside the caller's transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, booking: Booking) -> None:
        self.session.add(booking)
        await self.session.flush()

    async def by_token_hash(self, token_hash: str, *, for_update: bool = False) -> Booking | None:
        statement = select(Booking).where(Booking.token_hash == token_hash)
        if for_update:
            statement = statement.with_for_update()
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def by_id(self, booking_id: uuid.UUID, *, for_update: bool = False) -> Booking | None:
        statement = select(Booking).where(Booking.id == booking_id)
        if for_update:
            statement = statement.with_for_update()
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def by_payment_link(self, link_id: str, *, for_update: bool = False) -> Booking | None:
        statement = select(Booking).where(Booking.payment_link_id == link_id)
        if for_update:
            statement = statement.with_for_update()
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def by_payment_intent(
        self, intent_id: str, *, for_update: bool = False
    ) -> Booking | None:
        statement = select(Booking).where(Booking.payment_intent_id == intent_id)
        if for_update:
            statement = statement.with_for_update()
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def ids_due_for_expiry(self, now: datetime, *, limit: int) -> Sequence[uuid.UUID]:
        """Unpaid bookings past their window and free ones unscheduled past theirs.

        SKIP LOCKED lets several sweepers share the work without waiting on each other.
        """
        statement = (
            select(Booking.id)
            .where(
                Booking.expires_at <= now,
                (Booking.status == BookingStatus.PENDING)
                | ((Booking.status == BookingStatus.PAID) & (Booking.amount_cents == 0)),
            )
            .order_by(Booking.expires_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return (await self.session.execute(statement)).scalars().all()

    async def add_event(
        self,
        booking: Booking,
        *,
        event_type: str,
        source: str,
        from_status: str | None,
        to_status: str | None,
        data: dict[str, Any] | None = None,
        at: datetime,
    ) -> None:
        self.session.add(
            BookingEvent(
                booking_id=booking.id,
                event_type=event_type,
                source=source,
                from_status=from_status,
                to_status=to_status,
                data=data or {},
                created_at=at,
            )
        )
        await self.session.flush()

    async def events_of(self, booking_id: uuid.UUID) -> Sequence[BookingEvent]:
        statement = (
            select(BookingEvent)
            .where(BookingEvent.booking_id == booking_id)
            .order_by(BookingEvent.id)
        )
        return (await self.session.execute(statement)).scalars().all()
