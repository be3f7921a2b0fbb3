"""Every SQL statement of coach changes: stored Cal.com deliveries, sweep marks, sessions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from sessionbook.bookings.models import BookingSession, where_rows
from sessionbook.bookings.repository import sessions_ahead
from sessionbook.scheduling.models import CALENDAR_EVENT_OPEN, CalendarWebhookEvent, SweepMark


class CoachChangeRepository:
    """Reads and writes inside the caller's transaction; decides nothing."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def _insert(self) -> Any:
        dialect = self.session.get_bind().dialect.name
        return postgresql.insert if dialect == "postgresql" else sqlite.insert

    async def insert_event_if_new(
        self, *, event_key: str, trigger: str, payload: dict[str, Any], at: datetime
    ) -> None:
        """Store a delivery unless its key is stored already (two at once leave one row)."""
        statement = (
            self._insert()(CalendarWebhookEvent)
            .values(
                event_key=event_key,
                trigger=trigger,
                payload=payload,
                state="received",
                attempts=0,
                received_at=at,
            )
            .on_conflict_do_nothing(index_elements=["event_key"])
        )
        await self.session.execute(statement)

    async def claim_event(
        self, event_key: str, *, now: datetime, lease_until: datetime
    ) -> int | None:
        """Take a delivered event unless it is done or leased by another processor."""
        statement = (
            update(CalendarWebhookEvent)
            .where(
                CalendarWebhookEvent.event_key == event_key,
                CalendarWebhookEvent.state.in_(("received", "failed")),
                or_(
                    CalendarWebhookEvent.next_attempt_at.is_(None),
                    CalendarWebhookEvent.next_attempt_at <= now,
                    CalendarWebhookEvent.state == "failed",
                ),
            )
            .values(
                state="received",
                next_attempt_at=lease_until,
                attempts=CalendarWebhookEvent.attempts + 1,
            )
            .returning(CalendarWebhookEvent.id)
        )
        claimed: int | None = (await self.session.execute(statement)).scalar_one_or_none()
        return claimed

    async def claim_due_events(
        self, *, now: datetime, lease_until: datetime, max_attempts: int, limit: int
    ) -> list[int]:
        """Events whose retry time has come or whose processor vanished (its lease ended)."""
        due = (
            select(CalendarWebhookEvent.id)
            .where(
                where_rows(CALENDAR_EVENT_OPEN),
                CalendarWebhookEvent.attempts < max_attempts,
                CalendarWebhookEvent.next_attempt_at <= now,
            )
            .order_by(CalendarWebhookEvent.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        ids = list((await self.session.execute(due)).scalars().all())
        if ids:
            await self.session.execute(
                update(CalendarWebhookEvent)
                .where(CalendarWebhookEvent.id.in_(ids))
                .values(
                    state="received",
                    next_attempt_at=lease_until,
                    attempts=CalendarWebhookEvent.attempts + 1,
                )
            )
        return ids

    async def event_by_id(self, row_id: int) -> CalendarWebhookEvent | None:
        return await self.session.get(CalendarWebhookEvent, row_id, populate_existing=True)

    async def event_by_key(self, event_key: str) -> CalendarWebhookEvent | None:
        statement = select(CalendarWebhookEvent).where(CalendarWebhookEvent.event_key == event_key)
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def finish_event(
        self, row_id: int, *, state: str, note: str | None, retry_at: datetime | None, at: datetime
    ) -> None:
        await self.session.execute(
            update(CalendarWebhookEvent)
            .where(CalendarWebhookEvent.id == row_id)
            .values(
                state=state,
                last_error=note,
                next_attempt_at=retry_at,
                processed_at=at if state in ("processed", "ignored") else None,
            )
        )

    async def claim_mark(self, name: str, *, now: datetime, every: timedelta) -> bool:
        """True for the one caller that may run duty `name` now: last run at least `every` ago.

        The conditional UPDATE is the claim: hosts racing for it are serialised on the row,
        and the second sees the first's stamp and matches nothing.
        """
        await self.session.execute(
            self._insert()(SweepMark)
            .values(name=name, last_run_at=None)
            .on_conflict_do_nothing(index_elements=["name"])
        )
        statement = (
            update(SweepMark)
            .where(
                SweepMark.name == name,
                or_(SweepMark.last_run_at.is_(None), SweepMark.last_run_at <= now - every),
            )
            .values(last_run_at=now)
            .returning(SweepMark.name)
        )
        return (await self.session.execute(statement)).scalar_one_or_none() is not None

    async def upcoming_sessions(self, *, now: datetime, limit: int) -> Sequence[BookingSession]:
        """Booked sessions that have not ended, soonest first (from the sessions ahead only)."""
        ahead = aliased(BookingSession, sessions_ahead(now))
        statement = select(ahead).order_by(ahead.start_time).limit(limit)
        return (await self.session.execute(statement)).scalars().all()
