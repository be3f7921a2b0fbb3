"""Every SQL statement of the booking domain; no rules live here."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import inspect, select
from sqlalchemy.ext.asyncio import AsyncSession

from sessionbook.bookings.models import Booking, BookingEvent, BookingStatus

# Attribute name and column name of every mapped column, in one fixed order.
_COLUMNS = tuple((attr.key, attr.columns[0].name) for attr in inspect(Booking).column_attrs)
_BY_TOKEN_HASH = (
    f"SELECT {', '.join(name for _, name in _COLUMNS)} FROM bookings WHERE token_hash = $1"  # noqa: S608 - fixed column names
)


async def read_by_token_hash(driver: Any, token_hash: str) -> Booking | None:
    """The booking with this token hash, read on a `Database.driver_transaction` connection.

    The result is a transient Booking with the same values and types the ORM would load
    (asyncpg gives UTC-aware datetimes and decoded JSON on these connections); it is for
    reading only: changes go through `BookingRepository` and a locked re-read.
    """
    row = await driver.fetchrow(_BY_TOKEN_HASH, token_hash)
    if row is None:
        return None
    return Booking(**{key: row[index] for index, (key, _) in enumerate(_COLUMNS)})


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

    async def due_for_expiry(self, now: datetime, *, limit: int) -> Sequence[Booking]:
        """Unpaid bookings past their window and free ones unscheduled past theirs, locked.

        SKIP LOCKED lets several sweepers share the work without waiting on each other; the
        rows come whole, so the sweep needs no second query per booking.
        """
        statement = (
            select(Booking)
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
