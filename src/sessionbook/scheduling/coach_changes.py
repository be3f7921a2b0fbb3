"""Changes the coach makes in Cal.com itself: take its webhooks, and compare with it hourly.

A delivery is verified, stored first and deduplicated, then processed: the event only says
which session to look at. Cal.com's API is the truth (a cancelled booking, or one moved away
to a new uid), and the session follows it under the booking's row lock, with the coach named
in the audit row and the customer emailed. The hourly comparison applies the same change to
any upcoming session whose webhook never came.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from sessionbook.bookings.models import Booking, BookingSession, CancelledBy, SessionState
from sessionbook.bookings.ports import BookingNews
from sessionbook.core.db import SERVICE, Database
from sessionbook.core.errors import NotFound
from sessionbook.scheduling.calcom import webhook
from sessionbook.scheduling.calcom.calendar import CalBooking, Calendar
from sessionbook.scheduling.calcom.errors import CalendarError, CalendarNotFound
from sessionbook.scheduling.changes import Repos, adopt, cancel_session, lease_active
from sessionbook.scheduling.coach_repository import CoachChangeRepository
from sessionbook.scheduling.lease import LeaseKeeper

log = structlog.get_logger(__name__)

COACH_SOURCE = "coach"
CANCELLED_BY_COACH = "session_cancelled_by_coach"
COMPARE_MARK = "calendar_compared"


class CoachNews(BookingNews, Protocol):
    """The outbox's word to the customer when the coach cancels a session."""

    async def session_cancelled_by_coach(
        self, session: AsyncSession, booking: Booking, booking_session: BookingSession
    ) -> bool: ...


class _Retry(Exception):
    """Processing could not finish now (Cal.com down, a change in flight); try again later."""


@dataclass(frozen=True, slots=True)
class Receipt:
    """What became of a delivery: processed, ignored, failed (retried), or a repeat."""

    state: str


class CoachChanges:
    """Applies the coach's cancellations and moves from Cal.com to our sessions."""

    def __init__(
        self,
        *,
        database: Database,
        calendar: Calendar,
        news: CoachNews,
        lease_keeper: LeaseKeeper,
        webhook_secret: str | None,
        clock: Callable[[], datetime],
        on_change: Callable[[], None],
        event_lease: timedelta = timedelta(minutes=2),
        retry_after: timedelta = timedelta(minutes=1),
        max_attempts: int = 10,
        compare_every: timedelta = timedelta(hours=1),
        compare_batch: int = 500,
    ) -> None:
        self.database = database
        self.calendar = calendar
        self.news = news
        self.lease_keeper = lease_keeper
        self.webhook_secret = webhook_secret
        self.clock = clock
        self.on_change = on_change
        self.event_lease = event_lease
        self.retry_after = retry_after
        self.max_attempts = max_attempts
        self.compare_every = compare_every
        self.compare_batch = compare_batch

    # -- webhook -------------------------------------------------------------------------

    async def receive_webhook(self, body: bytes, signature: str | None) -> Receipt:
        """Verify, store, then process once; NotFound when no secret is configured."""
        if self.webhook_secret is None:
            raise NotFound()
        webhook.verify_signature(self.webhook_secret, body, signature)
        event = webhook.parse_event(body)
        now = self.clock()
        async with self.database.transaction(SERVICE) as session:
            repository = CoachChangeRepository(session)
            await repository.insert_event_if_new(
                event_key=event.key, trigger=event.trigger, payload=event.payload, at=now
            )
            row_id = await repository.claim_event(
                event.key, now=now, lease_until=now + self.event_lease
            )
        if row_id is None:
            log.info("calendar_webhook_repeat", trigger=event.trigger)
            return Receipt("repeat")
        return Receipt(await self.process_stored_event(row_id))

    async def process_stored_event(self, row_id: int) -> str:
        """Handle a claimed row and record how it ended; the new state."""
        async with self.database.transaction(SERVICE) as session:
            row = await CoachChangeRepository(session).event_by_id(row_id)
            assert row is not None  # rows are never deleted
            payload, attempts = row.payload, row.attempts
        event = webhook.parse_event_document(payload)
        state, note, retry_at = "ignored", None, None
        try:
            if event.trigger in webhook.HANDLED_TRIGGERS and event.our_uid is not None:
                changed = await self.follow_calendar(event.our_uid)
                state, note = ("processed", None) if changed else ("ignored", "nothing changed")
            else:
                note = "not handled" if event.our_uid else "no booking uid"
        except _Retry as exc:
            state, note = "failed", str(exc)
            if attempts < self.max_attempts:
                retry_at = self.clock() + self.retry_after
        async with self.database.transaction(SERVICE) as session:
            await CoachChangeRepository(session).finish_event(
                row_id, state=state, note=note, retry_at=retry_at, at=self.clock()
            )
        log.info("calendar_webhook_handled", trigger=event.trigger, state=state, note=note)
        return state

    async def retry_events(self, *, batch_size: int = 100) -> int:
        """Sweep duty: process deliveries that failed or whose processor vanished."""
        now = self.clock()
        async with self.database.transaction(SERVICE) as session:
            ids = await CoachChangeRepository(session).claim_due_events(
                now=now,
                lease_until=now + self.event_lease,
                max_attempts=self.max_attempts,
                limit=batch_size,
            )
        for row_id in ids:
            await self.process_stored_event(row_id)
        return len(ids)

    # -- comparison ----------------------------------------------------------------------

    async def compare_upcoming(self) -> int:
        """Sweep duty, at most once per `compare_every` across hosts: ask Cal.com about every
        upcoming session and follow it; the number of sessions changed."""
        now = self.clock()
        async with self.database.transaction(SERVICE) as session:
            repository = CoachChangeRepository(session)
            if not await repository.claim_mark(COMPARE_MARK, now=now, every=self.compare_every):
                return 0
            uids = [
                s.cal_uid
                for s in await repository.upcoming_sessions(now=now, limit=self.compare_batch)
            ]
        changed = 0
        for uid in uids:
            try:
                changed += await self.follow_calendar(uid)
            except _Retry as exc:
                log.warning("calendar_compare_deferred", cal_uid=uid, error=str(exc))
        return changed

    # -- the change itself ---------------------------------------------------------------

    async def follow_calendar(self, cal_uid: str) -> bool:
        """Make the session holding `cal_uid` what Cal.com says it is; True when it changed.

        Nothing happens for a uid of no session of ours, a session already cancelled or
        moved, or a Cal.com booking still active (a stale or forged event).
        """
        target = await self._session_holding(cal_uid)
        if target is None:
            return False
        booking_id, session_id = target
        try:
            held = await self.calendar.get_booking(cal_uid)
            moved_to = (
                await self.calendar.get_booking(held.rescheduled_to_uid)
                if not held.is_active and held.rescheduled_to_uid
                else None
            )
        except CalendarNotFound:
            return False  # Cal.com knows no such booking: nothing to confirm
        except CalendarError as exc:
            raise _Retry("calendar_unavailable") from exc
        if held.is_active:
            return False
        if moved_to is not None and moved_to.is_active:
            changed = await self._apply(booking_id, session_id, cal_uid, moved_to)
        else:
            changed = await self._apply(booking_id, session_id, cal_uid, None)
        if changed:
            self.on_change()
        return changed

    async def _session_holding(self, cal_uid: str) -> tuple[uuid.UUID, uuid.UUID] | None:
        async with self.database.transaction(SERVICE) as session:
            found = await Repos.of(session).bookings.session_by_cal_uid(cal_uid)
            if found is None or found.state != SessionState.BOOKED:
                return None
            return found.booking_id, found.id

    async def _apply(
        self,
        booking_id: uuid.UUID,
        session_id: uuid.UUID,
        cal_uid: str,
        moved_to: CalBooking | None,
    ) -> bool:
        async with self.lease_keeper.locked(SERVICE, booking_id) as (repos, booking, now):
            current = await repos.bookings.session_by_id(booking_id, session_id)
            if (
                current is None
                or current.state != SessionState.BOOKED
                or current.cal_uid != cal_uid
            ):
                return False  # changed meanwhile by someone else: theirs is the word
            if lease_active(booking, now):
                raise _Retry("booking_being_changed")
            if moved_to is None:
                await cancel_session(
                    repos,
                    booking,
                    current,
                    now=now,
                    source=COACH_SOURCE,
                    cancelled_by=CancelledBy.COACH,
                    event_type=CANCELLED_BY_COACH,
                )
                await self.news.session_cancelled_by_coach(repos.bookings.session, booking, current)
                log.info("session_cancelled_by_coach", booking_id=str(booking_id))
            else:
                await adopt(
                    repos,
                    booking,
                    moved_to,
                    session_id=current.id,
                    moving=current,
                    news=self.news,
                    now=now,
                    source=COACH_SOURCE,
                    data={"movedBy": COACH_SOURCE},
                )
                log.info("session_moved_by_coach", booking_id=str(booking_id))
            return True
