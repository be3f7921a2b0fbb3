"""Queue notifications inside the caller's transaction, and every SQL statement of the outbox.

`enqueue_*` are what the booking, payment and scheduling code call, in the same transaction
as the state change that is the news: the email exists if and only if the change committed.
The dedupe key is unique, so the same news queued twice (a webhook delivered to two servers,
a retried request) is stored once.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from sessionbook.bookings.models import Booking, BookingStatus
from sessionbook.core.db import utcnow
from sessionbook.notifications.messages import (
    BOOKING_CONFIRMED,
    BOOKING_EXPIRED,
    BOOKING_REMINDER,
    PAYMENT_RECEIVED,
)
from sessionbook.notifications.models import OutboxMessage


async def enqueue(
    session: AsyncSession,
    *,
    booking_id: uuid.UUID,
    kind: str,
    dedupe_key: str,
    payload: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> bool:
    """Insert the message unless its dedupe key exists; True when this call queued it."""
    at = now or utcnow()
    values = {
        "booking_id": booking_id,
        "kind": kind,
        "dedupe_key": dedupe_key,
        "payload": payload or {},
        "state": "pending",
        "attempts": 0,
        "created_at": at,
        "next_attempt_at": at,
    }
    insert = postgresql.insert if _dialect(session) == "postgresql" else sqlite.insert
    statement = (
        insert(OutboxMessage)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(OutboxMessage.id)
    )
    return (await session.execute(statement)).scalar_one_or_none() is not None


def _dialect(session: AsyncSession) -> str:
    bind = session.bind
    assert bind is not None, "sessions of sessionbook.core.db.Database are bound to its engine"
    return bind.dialect.name


async def enqueue_payment_received(session: AsyncSession, booking: Booking) -> bool:
    """After a payment is confirmed: one "payment received" email per booking."""
    return await enqueue(
        session,
        booking_id=booking.id,
        kind=PAYMENT_RECEIVED,
        dedupe_key=f"{PAYMENT_RECEIVED}:{booking.id}",
    )


async def enqueue_booking_confirmed(
    session: AsyncSession, booking: Booking, *, resend_id: str | None = None
) -> bool:
    """After scheduling (or rescheduling): the confirmation with the session as an .ics file.

    Keyed by the Cal.com booking uid, which a reschedule changes, so each new time is
    confirmed once; an operator's resend passes a fresh `resend_id`.
    """
    key = f"{BOOKING_CONFIRMED}:{booking.id}:{booking.cal_uid or booking.scheduled_start}"
    if resend_id is not None:
        key += f":resend:{resend_id}"
    return await enqueue(session, booking_id=booking.id, kind=BOOKING_CONFIRMED, dedupe_key=key)


async def enqueue_booking_expired(session: AsyncSession, booking: Booking) -> bool:
    """After a booking expired unpaid or unscheduled."""
    return await enqueue(
        session,
        booking_id=booking.id,
        kind=BOOKING_EXPIRED,
        dedupe_key=f"{BOOKING_EXPIRED}:{booking.id}",
    )


async def enqueue_reminder(session: AsyncSession, booking: Booking) -> bool:
    """24 hours before: keyed by the start, so a moved session is reminded of again."""
    assert booking.scheduled_start is not None
    start = booking.scheduled_start.isoformat()
    return await enqueue(
        session,
        booking_id=booking.id,
        kind=BOOKING_REMINDER,
        dedupe_key=f"{BOOKING_REMINDER}:{booking.id}:{start}",
        payload={"scheduledStart": start},
    )


class OutboxNews:
    """Implements `bookings.ports.BookingNews`: the domains' news, queued in their transaction."""

    async def payment_received(self, session: AsyncSession, booking: Booking) -> bool:
        return await enqueue_payment_received(session, booking)

    async def booking_confirmed(
        self, session: AsyncSession, booking: Booking, *, resend_id: str | None = None
    ) -> bool:
        return await enqueue_booking_confirmed(session, booking, resend_id=resend_id)

    async def booking_expired(self, session: AsyncSession, booking: Booking) -> bool:
        return await enqueue_booking_expired(session, booking)


class OutboxRepository:
    """Claims and settles outbox rows inside the caller's (SERVICE) transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def claim_due(
        self, now: datetime, *, lease: timedelta, limit: int
    ) -> Sequence[OutboxMessage]:
        """Take due rows for one sender and push their next attempt past the lease.

        SKIP LOCKED lets another sweeper take other rows; once this transaction commits, the
        pushed `next_attempt_at` keeps the rows away from everyone until the lease ends, so
        a row is sent by one worker at a time. A worker that dies mid-send leaves the row to
        be tried again after the lease.
        """
        statement = (
            select(OutboxMessage)
            .where(OutboxMessage.state == "pending", OutboxMessage.next_attempt_at <= now)
            .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        rows = (await self.session.execute(statement)).scalars().all()
        for row in rows:
            row.attempts += 1
            row.next_attempt_at = now + lease
        await self.session.flush()
        return rows

    async def settle(
        self,
        message_id: int,
        *,
        claimed_attempt: int,
        state: str,
        now: datetime,
        error: str | None = None,
        next_attempt_at: datetime | None = None,
    ) -> bool:
        """Record the outcome, unless another worker re-claimed the row meanwhile."""
        values: dict[str, Any] = {"state": state, "last_error": error}
        if state == "sent":
            values["sent_at"] = now
        if next_attempt_at is not None:
            values["next_attempt_at"] = next_attempt_at
        statement = (
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id, OutboxMessage.attempts == claimed_attempt)
            .values(**values)
        )
        result = await self.session.execute(statement)
        return bool(getattr(result, "rowcount", 0))

    async def bookings_to_remind(
        self, *, starting_after: datetime, starting_before: datetime, limit: int
    ) -> Sequence[Booking]:
        """Scheduled sessions starting in the window whose booking was made well before.

        A session booked within a day of its start has just had its confirmation; a
        reminder on top of it would be noise.
        """
        statement = (
            select(Booking)
            .where(
                Booking.status == BookingStatus.SCHEDULED,
                Booking.scheduled_start > starting_after,
                Booking.scheduled_start <= starting_before,
            )
            .order_by(Booking.scheduled_start)
            .limit(limit)
        )
        rows = (await self.session.execute(statement)).scalars().all()
        return [
            booking
            for booking in rows
            if booking.scheduled_at is None
            or booking.scheduled_start is None
            or booking.scheduled_at <= booking.scheduled_start - timedelta(hours=24)
        ]

    async def bookings(self, booking_ids: set[uuid.UUID]) -> dict[uuid.UUID, Booking]:
        """The bookings of a batch of messages, in one query."""
        if not booking_ids:
            return {}
        statement = select(Booking).where(Booking.id.in_(booking_ids))
        return {booking.id: booking for booking in (await self.session.scalars(statement))}
