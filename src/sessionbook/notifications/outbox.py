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
from sqlalchemy.ext.asyncio import AsyncSession

from sessionbook.bookings.models import (
    PAID_WITH_VALIDITY,
    Booking,
    BookingSession,
    BookingStatus,
    SessionState,
    where_rows,
)
from sessionbook.core.db import insert_unless_present, utcnow
from sessionbook.core.wakeup import Wakeup
from sessionbook.notifications.messages import (
    BOOKING_CONFIRMED,
    BOOKING_EXPIRED,
    BOOKING_REMINDER,
    PAYMENT_RECEIVED,
    SESSION_CANCELLED_BY_COACH,
    SESSIONS_LAPSING,
)
from sessionbook.notifications.models import OutboxMessage

_ENQUEUE = insert_unless_present(
    OutboxMessage.__table__,
    (
        "booking_id",
        "kind",
        "dedupe_key",
        "payload",
        "state",
        "attempts",
        "created_at",
        "next_attempt_at",
    ),
    key=("dedupe_key",),
    returning="id",
)


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
    return (await session.execute(_ENQUEUE, values)).scalar_one_or_none() is not None


async def enqueue_payment_received(session: AsyncSession, booking: Booking) -> bool:
    """After a payment is confirmed: one "payment received" email per booking."""
    return await enqueue(
        session,
        booking_id=booking.id,
        kind=PAYMENT_RECEIVED,
        dedupe_key=f"{PAYMENT_RECEIVED}:{booking.id}",
    )


async def enqueue_booking_confirmed(
    session: AsyncSession,
    booking: Booking,
    *,
    booking_session: BookingSession | None = None,
    resend_id: str | None = None,
) -> bool:
    """After scheduling (or rescheduling) a session: its confirmation with its own .ics file.

    Keyed by the session's Cal.com uid, which a reschedule changes, so each new time is
    confirmed once; an operator's resend passes a fresh `resend_id` (and no session: the
    email then shows the booking's next session).
    """
    target = booking_session.cal_uid if booking_session is not None else "next"
    key = f"{BOOKING_CONFIRMED}:{booking.id}:{target}"
    if resend_id is not None:
        key += f":resend:{resend_id}"
    payload = {"sessionId": str(booking_session.id)} if booking_session is not None else {}
    return await enqueue(
        session, booking_id=booking.id, kind=BOOKING_CONFIRMED, dedupe_key=key, payload=payload
    )


async def enqueue_booking_expired(session: AsyncSession, booking: Booking) -> bool:
    """After a booking expired unpaid or unscheduled."""
    return await enqueue(
        session,
        booking_id=booking.id,
        kind=BOOKING_EXPIRED,
        dedupe_key=f"{BOOKING_EXPIRED}:{booking.id}",
    )


async def enqueue_reminder(session: AsyncSession, booking_session: BookingSession) -> bool:
    """24 hours before a session: keyed by its start, so a moved session is reminded of again."""
    start = booking_session.start_time.isoformat()
    return await enqueue(
        session,
        booking_id=booking_session.booking_id,
        kind=BOOKING_REMINDER,
        dedupe_key=f"{BOOKING_REMINDER}:{booking_session.id}:{start}",
        payload={"scheduledStart": start, "sessionId": str(booking_session.id)},
    )


async def enqueue_sessions_lapsing(session: AsyncSession, booking: Booking, remaining: int) -> bool:
    """A week before the unbooked sessions lapse: once per booking and validity date."""
    assert booking.sessions_valid_until is not None
    until = booking.sessions_valid_until.isoformat()
    return await enqueue(
        session,
        booking_id=booking.id,
        kind=SESSIONS_LAPSING,
        dedupe_key=f"{SESSIONS_LAPSING}:{booking.id}:{until}",
        payload={"sessionsValidUntil": until, "sessionsRemaining": remaining},
    )


async def enqueue_session_cancelled_by_coach(
    session: AsyncSession, booking: Booking, booking_session: BookingSession
) -> bool:
    """After the coach cancelled a session in Cal.com: once per session."""
    return await enqueue(
        session,
        booking_id=booking.id,
        kind=SESSION_CANCELLED_BY_COACH,
        dedupe_key=f"{SESSION_CANCELLED_BY_COACH}:{booking_session.id}",
        payload={
            "sessionId": str(booking_session.id),
            "start": booking_session.start_time.isoformat(),
        },
    )


class OutboxNews:
    """Implements `bookings.ports.BookingNews`: the domains' news, queued in their transaction.

    Each message queued rings the sweep's doorbell, so the email leaves within seconds rather
    than at the next regular pass.
    """

    def __init__(self, wakeup: Wakeup | None = None) -> None:
        self.wakeup = wakeup

    def _queued(self, queued: bool) -> bool:
        if queued and self.wakeup is not None:
            self.wakeup.ring()
        return queued

    async def payment_received(self, session: AsyncSession, booking: Booking) -> bool:
        return self._queued(await enqueue_payment_received(session, booking))

    async def booking_confirmed(
        self,
        session: AsyncSession,
        booking: Booking,
        *,
        booking_session: BookingSession | None = None,
        resend_id: str | None = None,
    ) -> bool:
        return self._queued(
            await enqueue_booking_confirmed(
                session, booking, booking_session=booking_session, resend_id=resend_id
            )
        )

    async def booking_expired(self, session: AsyncSession, booking: Booking) -> bool:
        return self._queued(await enqueue_booking_expired(session, booking))

    async def session_cancelled_by_coach(
        self, session: AsyncSession, booking: Booking, booking_session: BookingSession
    ) -> bool:
        return self._queued(
            await enqueue_session_cancelled_by_coach(session, booking, booking_session)
        )


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

    async def sessions_to_remind(
        self, *, starting_after: datetime, starting_before: datetime, limit: int
    ) -> Sequence[BookingSession]:
        """Booked sessions starting in the window, of live bookings, booked well before.

        A session booked within a day of its start has just had its confirmation; a
        reminder on top of it would be noise.
        """
        statement = (
            select(BookingSession)
            .join(Booking, Booking.id == BookingSession.booking_id)
            .where(
                Booking.status.in_((BookingStatus.PAID, BookingStatus.SCHEDULED)),
                BookingSession.state == SessionState.BOOKED,
                BookingSession.start_time > starting_after,
                BookingSession.start_time <= starting_before,
            )
            .order_by(BookingSession.start_time)
            .limit(limit)
        )
        rows = (await self.session.execute(statement)).scalars().all()
        return [s for s in rows if s.updated_at <= s.start_time - timedelta(hours=24)]

    async def bookings_lapsing(
        self, *, valid_until_after: datetime, valid_until_before: datetime, limit: int
    ) -> Sequence[Booking]:
        """Paid bookings whose validity ends in the window (the caller counts what remains)."""
        statement = (
            select(Booking)
            .where(
                where_rows(PAID_WITH_VALIDITY),
                Booking.sessions_valid_until > valid_until_after,
                Booking.sessions_valid_until <= valid_until_before,
            )
            .order_by(Booking.sessions_valid_until)
            .limit(limit)
        )
        return (await self.session.execute(statement)).scalars().all()

    async def live_sessions_of(
        self, booking_ids: set[uuid.UUID]
    ) -> dict[uuid.UUID, list[BookingSession]]:
        """The booked sessions of a batch of bookings by start, in one query."""
        found: dict[uuid.UUID, list[BookingSession]] = {
            booking_id: [] for booking_id in booking_ids
        }
        if not booking_ids:
            return found
        statement = (
            select(BookingSession)
            .where(
                BookingSession.booking_id.in_(booking_ids),
                BookingSession.state == SessionState.BOOKED,
            )
            .order_by(BookingSession.start_time)
        )
        for row in await self.session.scalars(statement):
            found[row.booking_id].append(row)
        return found

    async def bookings(self, booking_ids: set[uuid.UUID]) -> dict[uuid.UUID, Booking]:
        """The bookings of a batch of messages, in one query."""
        if not booking_ids:
            return {}
        statement = select(Booking).where(Booking.id.in_(booking_ids))
        return {booking.id: booking for booking in (await self.session.scalars(statement))}
