"""Every SQL statement of the booking domain; no rules live here."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import CTE, inspect, select
from sqlalchemy.ext.asyncio import AsyncSession

from sessionbook.bookings.models import (
    EXPIRY_CANDIDATES,
    PAID_WITH_VALIDITY,
    SESSION_BOOKED,
    Booking,
    BookingEvent,
    BookingSession,
    SessionState,
    where_rows,
)

# Attribute name and column name of every mapped column, in one fixed order.
# The columns as the status function's row values name them (attribute key, column name).
_COLUMNS = tuple((attr.key, attr.columns[0].name) for attr in inspect(Booking).column_attrs)
_SESSION_COLUMNS = tuple(
    (attr.key, attr.columns[0].name) for attr in inspect(BookingSession).column_attrs
)


def sessions_ahead(now: datetime) -> CTE:
    """Booked sessions not ended at `now`, as a query of their own (a materialized CTE).

    Read from the partial index by end time, so only the sessions ahead are read. Kept apart
    from the ordering by start that its callers add: otherwise a planner may walk the
    (state, start_time) index from the oldest session on, through the whole history.
    """
    return (
        select(BookingSession)
        .where(where_rows(SESSION_BOOKED), BookingSession.end_time > now)
        .cte("sessions_ahead")
        .prefix_with("MATERIALIZED")
    )


_STATUS_READ = "SELECT booking_row, live_sessions FROM sessionbook_booking_status($1)"


async def read_status(driver: Any, token_hash: str) -> tuple[Booking, list[BookingSession]] | None:
    """The booking with this token hash and its booked sessions by start, in one round trip.

    On a `Database.single_statement` connection: the function (migration 0015) takes the
    customer role and token hash itself, so row-level security decides what it returns, as on
    `Database.transaction`. Transient rows, for reading only: changes go through
    `BookingRepository` and a locked re-read.
    """
    row = await driver.fetchrow(_STATUS_READ, token_hash)
    if row is None:
        return None
    found, sessions = row[0], row[1]
    booking = _reading_copy(Booking, {key: found[name] for key, name in _COLUMNS})
    return booking, [
        _reading_copy(BookingSession, {key: each[name] for key, name in _SESSION_COLUMNS})
        for each in sessions or ()
    ]


M = TypeVar("M", Booking, BookingSession)


def _reading_copy(model: type[M], values: dict[str, Any]) -> M:
    """A transient instance holding `values`, as the ORM fills one it loads: straight into its
    `__dict__`, without the declarative constructor's per-attribute change events (about 30
    microseconds of a booking-status request's CPU for a booking, against 2 this way)."""
    instance: M = model.__mapper__.class_manager.new_instance()
    instance.__dict__.update(values)
    return instance


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

        Read from the partial index of pending and free unscheduled bookings only.

        SKIP LOCKED lets several sweepers share the work without waiting on each other; the
        rows come whole, so the sweep needs no second query per booking.
        """
        statement = (
            select(Booking)
            .where(where_rows(EXPIRY_CANDIDATES), Booking.expires_at <= now)
            .order_by(Booking.expires_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return (await self.session.execute(statement)).scalars().all()

    async def sessions_of(
        self, booking_id: uuid.UUID, *, live_only: bool = True
    ) -> list[BookingSession]:
        """The booking's sessions by start; only the booked ones unless `live_only` is False."""
        statement = select(BookingSession).where(BookingSession.booking_id == booking_id)
        if live_only:
            statement = statement.where(BookingSession.state == SessionState.BOOKED)
        statement = statement.order_by(BookingSession.start_time, BookingSession.id)
        return list((await self.session.execute(statement)).scalars().all())

    async def session_by_id(
        self, booking_id: uuid.UUID, session_id: uuid.UUID
    ) -> BookingSession | None:
        """The session with this id if it belongs to this booking (any state), else None."""
        statement = select(BookingSession).where(
            BookingSession.id == session_id, BookingSession.booking_id == booking_id
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def session_by_cal_uid(self, cal_uid: str) -> BookingSession | None:
        statement = select(BookingSession).where(BookingSession.cal_uid == cal_uid)
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def add_session(self, session: BookingSession) -> None:
        self.session.add(session)
        await self.session.flush()

    async def due_for_lapse(self, now: datetime, *, limit: int) -> Sequence[Booking]:
        """Paid bookings past their sessionsValidUntil (the caller counts what remains), locked."""
        statement = (
            select(Booking)
            .where(where_rows(PAID_WITH_VALIDITY), Booking.sessions_valid_until <= now)
            .order_by(Booking.sessions_valid_until)
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
