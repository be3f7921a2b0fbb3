"""Every SQL statement of the operator views: lists, search, one booking's whole story, counts."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Select, Uuid, bindparam, case, func, literal, select, tuple_, union
from sqlalchemy.ext.asyncio import AsyncSession

from sessionbook.bookings.models import (
    PAID_NOT_SCHEDULED,
    PAID_WITH_VALIDITY,
    PAYMENT_CONFIRMED_ROWS,
    Booking,
    BookingEvent,
    BookingSession,
    BookingStatus,
    PaymentStatus,
    SessionState,
    where_rows,
)
from sessionbook.core.db import UTCDateTime
from sessionbook.notifications.models import OutboxMessage
from sessionbook.payments.models import WEBHOOK_OPEN, PaymentRefund, WebhookEvent


@dataclass(frozen=True, slots=True)
class StateCount:
    """How many rows are in one state, with the newest and oldest time seen in that state."""

    state: str
    count: int
    newest: datetime | None = None
    oldest: datetime | None = None


@dataclass(frozen=True, slots=True)
class SessionFacts:
    """A booking's live sessions in two numbers: how many, and the start to show in a list."""

    booked: int
    shown_start: datetime | None  # the next one not ended, else the last one


class AdminRepository:
    """Read-mostly queries for operators; runs inside the caller's (ADMIN) transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _bookings(self, statement: Select[tuple[Booking]]) -> Sequence[Booking]:
        return (await self.session.execute(statement)).scalars().all()

    async def recent(
        self,
        *,
        limit: int,
        status: str | None = None,
        before: tuple[datetime, uuid.UUID] | None = None,
    ) -> Sequence[Booking]:
        """Newest first, as the original "View All Bookings" query; a page ends at `before`.

        Keyset pagination on (created_at, id): a page costs its own rows, however deep it is.
        """
        statement = (
            select(Booking).order_by(Booking.created_at.desc(), Booking.id.desc()).limit(limit)
        )
        if status is not None:
            statement = statement.where(Booking.status == status)
        if before is not None:
            last_created, last_id = before
            after = tuple_(
                bindparam("before_created_at", last_created, type_=UTCDateTime()),
                bindparam("before_id", last_id, type_=Uuid()),
            )
            statement = statement.where(tuple_(Booking.created_at, Booking.id) < after)
        return await self._bookings(statement)

    async def awaiting_payment(self, *, since: datetime, limit: int) -> Sequence[Booking]:
        """Created since `since` and still waiting for a payment (a failed try included)."""
        statement = (
            select(Booking)
            .where(
                Booking.status == BookingStatus.PENDING,
                Booking.payment_status.in_([PaymentStatus.PENDING, PaymentStatus.FAILED]),
                Booking.created_at > since,
            )
            .order_by(Booking.created_at.desc())
            .limit(limit)
        )
        return await self._bookings(statement)

    async def sessions_between(
        self, start: datetime, end: datetime, *, limit: int
    ) -> list[tuple[Booking, BookingSession]]:
        """Live sessions starting in [start, end), earliest first, each with its booking."""
        statement = (
            select(Booking, BookingSession)
            .join(BookingSession, BookingSession.booking_id == Booking.id)
            .where(
                BookingSession.state == SessionState.BOOKED,
                BookingSession.start_time >= start,
                BookingSession.start_time < end,
            )
            .order_by(BookingSession.start_time)
            .limit(limit)
        )
        rows = (await self.session.execute(statement)).all()
        return [(booking, session) for booking, session in rows]

    async def session_facts(
        self, booking_ids: Sequence[uuid.UUID], *, now: datetime
    ) -> dict[uuid.UUID, SessionFacts]:
        """One grouped query over (booking_id, start_time): live count and start per booking."""
        if not booking_ids:
            return {}
        upcoming = func.min(case((BookingSession.end_time > now, BookingSession.start_time)))
        statement = (
            select(
                BookingSession.booking_id,
                func.count(),
                upcoming,
                func.max(BookingSession.start_time),
            )
            .where(
                BookingSession.booking_id.in_(set(booking_ids)),
                BookingSession.state == SessionState.BOOKED,
            )
            .group_by(BookingSession.booking_id)
        )
        rows = (await self.session.execute(statement)).all()
        return {
            booking_id: SessionFacts(
                booked=int(count), shown_start=_aware(next_start) or _aware(last_start)
            )
            for booking_id, count, next_start, last_start in rows
        }

    async def sessions_of(self, booking_id: uuid.UUID) -> Sequence[BookingSession]:
        """Every session of a booking, cancelled ones too, by start."""
        statement = (
            select(BookingSession)
            .where(BookingSession.booking_id == booking_id)
            .order_by(BookingSession.start_time, BookingSession.id)
        )
        return (await self.session.execute(statement)).scalars().all()

    async def lapsing(self, *, now: datetime, until: datetime, limit: int) -> Sequence[Booking]:
        """Paid packages with sessions left to book whose validity ends in (now, until].

        A paid booking has sessions left by definition (all booked makes it `scheduled`); the
        count below also guards a booking caught between two changes.
        """
        live = (
            select(func.count())
            .where(
                BookingSession.booking_id == Booking.id,
                BookingSession.state == SessionState.BOOKED,
            )
            .correlate(Booking)
            .scalar_subquery()
        )
        statement = (
            select(Booking)
            .where(
                where_rows(PAID_WITH_VALIDITY),
                Booking.sessions_valid_until > now,
                Booking.sessions_valid_until <= until,
                Booking.sessions_total - Booking.sessions_lapsed - live > 0,
            )
            .order_by(Booking.sessions_valid_until, Booking.id)
            .limit(limit)
        )
        return await self._bookings(statement)

    async def paid_not_scheduled(self, *, limit: int) -> Sequence[Booking]:
        """Who paid (or took a free call) but has not picked a time yet; longest waiting first."""
        statement = (
            select(Booking)
            .where(where_rows(PAID_NOT_SCHEDULED))
            .order_by(Booking.paid_at.asc().nulls_last(), Booking.created_at)
            .limit(limit)
        )
        return await self._bookings(statement)

    async def search(self, query: str, *, limit: int) -> Sequence[Booking]:
        """By booking id, provider ids, or the start of the customer's email or name (any case).

        Each way of matching is its own index-backed lookup (the lower-cased email and name
        have text_pattern_ops indexes on PostgreSQL), joined by UNION: the search costs its
        matches, never a pass over every booking. The pattern is written into the statement
        so that PostgreSQL sees its fixed start and reads the index range.
        """
        text = query.strip()
        pattern = literal(_like_prefix(text.lower()), literal_execute=True)
        arms: list[Select[tuple[uuid.UUID]]] = [
            select(Booking.id).where(func.lower(Booking.customer_email).like(pattern, escape="/")),
            select(Booking.id).where(func.lower(Booking.customer_name).like(pattern, escape="/")),
            select(Booking.id).where(Booking.payment_link_id == text),
            select(Booking.id).where(Booking.payment_intent_id == text),
            select(BookingSession.booking_id).where(BookingSession.cal_uid == text),
        ]
        with contextlib.suppress(ValueError):
            arms.append(select(Booking.id).where(Booking.id == uuid.UUID(text)))
        if text.isdigit() and len(text) < 10:
            arms.append(
                select(BookingSession.booking_id).where(BookingSession.cal_booking_id == int(text))
            )
        matches = union(*arms).subquery()
        statement = (
            select(Booking)
            .where(Booking.id.in_(select(matches.c[0])))
            .order_by(Booking.created_at.desc())
            .limit(limit)
        )
        return await self._bookings(statement)

    async def by_id(self, booking_id: uuid.UUID) -> Booking | None:
        return await self.session.get(Booking, booking_id)

    async def events_of(self, booking_id: uuid.UUID) -> Sequence[BookingEvent]:
        statement = (
            select(BookingEvent)
            .where(BookingEvent.booking_id == booking_id)
            .order_by(BookingEvent.id)
        )
        return (await self.session.execute(statement)).scalars().all()

    async def outbox_of(self, booking_id: uuid.UUID) -> Sequence[OutboxMessage]:
        statement = (
            select(OutboxMessage)
            .where(OutboxMessage.booking_id == booking_id)
            .order_by(OutboxMessage.id)
        )
        return (await self.session.execute(statement)).scalars().all()

    async def webhooks_of(self, booking_id: uuid.UUID) -> Sequence[WebhookEvent]:
        statement = (
            select(WebhookEvent)
            .where(WebhookEvent.booking_id == booking_id)
            .order_by(WebhookEvent.id)
        )
        return (await self.session.execute(statement)).scalars().all()

    async def refunds_of(self, booking_id: uuid.UUID) -> Sequence[PaymentRefund]:
        statement = (
            select(PaymentRefund)
            .where(PaymentRefund.booking_id == booking_id)
            .order_by(PaymentRefund.created_at)
        )
        return (await self.session.execute(statement)).scalars().all()

    # -- bounded counts for the dashboard and the CLI: their cost follows the work waiting
    # and the window shown, never the history. (The whole-table counts below serve /metrics.)

    async def open_bookings(self) -> dict[str, int]:
        """How many bookings wait now: for a payment (pending), for a time (paid)."""
        statement = (
            select(Booking.status, func.count())
            .where(Booking.status.in_((BookingStatus.PENDING, BookingStatus.PAID)))
            .group_by(Booking.status)
        )
        rows = (await self.session.execute(statement)).all()
        return {str(status): int(count) for status, count in rows}

    async def bookings_changed_since(self, since: datetime) -> dict[str, int]:
        """How many bookings were scheduled, expired and cancelled since `since` (by when)."""
        moments = {
            BookingStatus.SCHEDULED.value: Booking.scheduled_at,
            BookingStatus.EXPIRED.value: Booking.expired_at,
            BookingStatus.CANCELLED.value: Booking.cancelled_at,
        }
        statement = select(
            *(
                select(func.count()).where(moment >= since).scalar_subquery().label(status)
                for status, moment in moments.items()
            )
        )
        row = (await self.session.execute(statement)).one()
        return {status: int(row[index]) for index, status in enumerate(moments)}

    async def webhook_last_received(self) -> datetime | None:
        """When the newest stored delivery arrived (one step down the received_at index)."""
        statement = select(func.max(WebhookEvent.received_at))
        return _aware((await self.session.execute(statement)).scalar_one_or_none())

    async def payments_confirmed_by_source(self, *, since: datetime) -> dict[str, int]:
        """How many payments each source (webhook, sweep, status check) confirmed since `since`."""
        statement = (
            select(BookingEvent.source, func.count())
            .where(where_rows(PAYMENT_CONFIRMED_ROWS), BookingEvent.created_at >= since)
            .group_by(BookingEvent.source)
        )
        rows = (await self.session.execute(statement)).all()
        return {str(source): int(count) for source, count in rows}

    async def outbox_waiting(self) -> StateCount:
        """Notifications not sent yet, with the oldest one's creation time (the backlog's age).

        Pending rows only, found through the (state, next_attempt_at) index.
        """
        statement = select(
            func.count(), func.max(OutboxMessage.created_at), func.min(OutboxMessage.created_at)
        ).where(OutboxMessage.state == "pending")
        count, newest, oldest = (await self.session.execute(statement)).one()
        return _state_count("pending", count, newest, oldest)

    async def outbox_since(self, since: datetime) -> list[StateCount]:
        """Notifications created since `since`, per state, from the (created_at, state) index."""
        statement = (
            select(
                OutboxMessage.state,
                func.count(),
                func.max(OutboxMessage.created_at),
                func.min(OutboxMessage.created_at),
            )
            .where(OutboxMessage.created_at >= since)
            .group_by(OutboxMessage.state)
            .order_by(OutboxMessage.state)
        )
        rows = (await self.session.execute(statement)).all()
        return [_state_count(*row) for row in rows]

    async def bookings_by_status(self) -> dict[str, int]:
        """One grouped query over the whole table: the number of bookings in each status."""
        statement = select(Booking.status, func.count()).group_by(Booking.status)
        rows = (await self.session.execute(statement)).all()
        return {str(status): int(count) for status, count in rows}

    async def webhooks_by_state(self, *, since: datetime | None = None) -> list[StateCount]:
        """Stored webhook deliveries per state, with the newest and oldest receipt of each."""
        statement = select(
            WebhookEvent.state,
            func.count(),
            func.max(WebhookEvent.received_at),
            func.min(WebhookEvent.received_at),
        ).group_by(WebhookEvent.state)
        if since is not None:
            statement = statement.where(WebhookEvent.received_at >= since)
        rows = (await self.session.execute(statement)).all()
        return [_state_count(*row) for row in rows]

    async def webhook_types_since(self, since: datetime) -> list[tuple[str, str, int]]:
        """(event type, state, count) of the deliveries received since `since`."""
        statement = (
            select(WebhookEvent.event_type, WebhookEvent.state, func.count())
            .where(WebhookEvent.received_at >= since)
            .group_by(WebhookEvent.event_type, WebhookEvent.state)
            .order_by(WebhookEvent.event_type, WebhookEvent.state)
        )
        rows = (await self.session.execute(statement)).all()
        return [(str(kind), str(state), int(count)) for kind, state, count in rows]

    async def webhooks_stuck(self, *, received_before: datetime) -> int:
        """Deliveries stored before `received_before` that are still only "received"."""
        statement = select(func.count()).where(
            where_rows(WEBHOOK_OPEN),
            WebhookEvent.state == "received",
            WebhookEvent.received_at < received_before,
        )
        return int((await self.session.execute(statement)).scalar_one())

    async def outbox_by_state(self) -> list[StateCount]:
        """Notifications per state, with the oldest creation time (the backlog's age)."""
        statement = select(
            OutboxMessage.state,
            func.count(),
            func.max(OutboxMessage.created_at),
            func.min(OutboxMessage.created_at),
        ).group_by(OutboxMessage.state)
        rows = (await self.session.execute(statement)).all()
        return [_state_count(*row) for row in rows]


def _like_prefix(text: str) -> str:
    """A LIKE pattern matching strings that start with `text` (escape character "/")."""
    escaped = text.replace("/", "//").replace("%", "/%").replace("_", "/_")
    return f"{escaped}%"


def _state_count(state: object, count: object, newest: object, oldest: object) -> StateCount:
    return StateCount(
        state=str(state),
        count=int(str(count)),
        newest=_aware(newest),
        oldest=_aware(oldest),
    )


def _aware(value: object) -> datetime | None:
    """Aggregates may come back naive (SQLite keeps no zone); make them aware UTC."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
