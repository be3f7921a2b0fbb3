"""Scheduling use cases: free slots, book after payment, move, cancel; the rules around Cal.com.

One booking gets exactly one Cal.com booking, however many requests race: each change runs
under the booking's lease (`lease`), the slot is claimed before Cal.com is called (unique per
event type and start, so two bookings cannot both hold it), and our booking id travels in the
Cal.com booking's metadata, so a booking made behind a lost answer is adopted, never made twice.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

import structlog

from sessionbook.bookings.errors import BookingExpired, BookingNotSchedulable, PaymentRequired
from sessionbook.bookings.models import Booking, BookingSession, BookingStatus
from sessionbook.bookings.ports import BookingNews
from sessionbook.bookings.service import BookingService
from sessionbook.bookings.sessions import overlaps, sessions_remaining
from sessionbook.core.api_models import format_utc
from sessionbook.core.db import SERVICE, Actor, Database, utcnow
from sessionbook.core.errors import ProviderUnavailable, ValidationFailed
from sessionbook.scheduling.attempts import Attempt, Attempts, Attendee, ScheduledSession
from sessionbook.scheduling.calcom.calendar import Calendar, Slot
from sessionbook.scheduling.calcom.errors import CalendarError, CalendarRejected
from sessionbook.scheduling.cancellation import Cancellations, Cancelled, Refunder
from sessionbook.scheduling.changes import (
    UNCONFIRMED,
    Repos,
    check_cutoff,
    locked_by_token,
    resolve_session,
    take_slot,
    token_hash_of,
)
from sessionbook.scheduling.coach_changes import CoachChanges, CoachNews
from sessionbook.scheduling.errors import SlotUnavailable
from sessionbook.scheduling.lease import LeaseKeeper
from sessionbook.scheduling.recovery import Recovery
from sessionbook.scheduling.repository import ClaimRepository
from sessionbook.scheduling.schemas import SlotsQuery
from sessionbook.scheduling.slots import SlotCache, day_window, without_overlaps

log = structlog.get_logger(__name__)

# Longer than the slowest Cal.com exchange of one attempt (a 10 s booking call, then a lookup
# with its retries), so a live request never loses its lease to a recovery.
DEFAULT_LEASE = timedelta(seconds=60)
DEFAULT_SLOT_CACHE_SECONDS = 5.0


class SchedulingService:
    """Slots, scheduling and rescheduling of a booking by its token; no HTTP in here."""

    def __init__(
        self,
        *,
        database: Database,
        bookings: BookingService,
        calendar: Calendar,
        news: BookingNews,
        cancellation_cutoff: timedelta,
        refunds: Refunder | None = None,
        coach_news: CoachNews | None = None,
        calendar_webhook_secret: str | None = None,
        lease: timedelta = DEFAULT_LEASE,
        slot_cache_seconds: float = DEFAULT_SLOT_CACHE_SECONDS,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.database = database
        self.bookings = bookings
        self.calendar = calendar
        self.cancellation_cutoff = cancellation_cutoff
        self.lease = lease
        self.clock = clock
        self.slot_cache = SlotCache(slot_cache_seconds)

        # Tests move `self.clock`; the collaborators read it through this.
        def now() -> datetime:
            return self.clock()

        self.recovery = Recovery(
            database=database,
            calendar=calendar,
            news=news,
            lease=lease,
            clock=now,
            on_change=self.slot_cache.clear,
        )
        self.lease_keeper = LeaseKeeper(
            database=database, bookings=bookings, recovery=self.recovery, duration=lease, clock=now
        )
        self.attempts = Attempts(
            calendar=calendar,
            lease_keeper=self.lease_keeper,
            recovery=self.recovery,
            slots_of=self.slots_of,
            on_change=self.slot_cache.clear,
            news=news,
            clock=now,
        )
        self.cancellations = Cancellations(
            calendar=calendar,
            lease_keeper=self.lease_keeper,
            refunds=refunds,
            cancellation_cutoff=cancellation_cutoff,
            on_change=self.slot_cache.clear,
        )
        # The coach's own changes in Cal.com; None where no outbox is wired (some tests).
        self.coach_changes = (
            CoachChanges(
                database=database,
                calendar=calendar,
                news=coach_news,
                lease_keeper=self.lease_keeper,
                webhook_secret=calendar_webhook_secret,
                clock=now,
                on_change=self.slot_cache.clear,
            )
            if coach_news is not None
            else None
        )

    async def cancel(
        self, token: str, reason: str | None, session_id: uuid.UUID | None = None
    ) -> Cancelled:
        """Cancel one session (its credit back), or the whole booking with a full refund."""
        return await self.cancellations.cancel(token, token_hash_of(token), reason, session_id)

    async def cancel_as_operator(self, booking_id: uuid.UUID, reason: str) -> Cancelled:
        """The admin's cancel of any booking by id: the customer's steps, without the cutoff."""
        return await self.cancellations.cancel_as_operator(booking_id, reason)

    # -- slots ---------------------------------------------------------------------------

    async def list_slots(self, token: str, query: SlotsQuery) -> list[Slot]:
        """Free times of the booking's package on the customer's days; pending may browse too."""
        view = await self.bookings.status_of(token)
        booking = view.booking
        if booking.status == BookingStatus.EXPIRED:
            raise BookingExpired()
        if booking.status == BookingStatus.CANCELLED:
            raise BookingNotSchedulable("This booking was cancelled, so it has no times to pick.")
        event_type_id = booking.cal_event_type_id
        window_start, window_end = day_window(query.first, query.last, query.zone)
        now = self.clock()
        if window_end <= now:
            return []
        try:
            offered = await self.slots_of(
                event_type_id, window_start, window_end, query.time_zone, booking.duration_minutes
            )
        except CalendarError as exc:
            raise ProviderUnavailable(
                "The calendar is not answering. Please try again in a moment."
            ) from exc
        async with self.database.transaction(SERVICE) as session:
            held = await ClaimRepository(session).held_by_others(
                event_type_id=event_type_id,
                start=window_start,
                end=window_end,
                booking_id=booking.id,
            )
        # The booking's own sessions are times it cannot take twice.
        held = [*held, *((s.start_time, s.end_time) for s in view.sessions)]
        until = booking.sessions_valid_until
        return [
            slot
            for slot in without_overlaps(offered, held)
            if slot.start > now and (until is None or slot.start < until)
        ]

    async def slots_of(
        self, event_type_id: int, start: datetime, end: datetime, time_zone: str, minutes: int
    ) -> list[Slot]:
        key = (event_type_id, start, end, time_zone)
        cached = self.slot_cache.get(key)
        if cached is None:
            try:
                cached = await self.calendar.get_slots(
                    event_type_id=event_type_id,
                    start=start,
                    end=end,
                    time_zone=time_zone,
                    duration_minutes=minutes,
                )
            except CalendarRejected as exc:
                if exc.status_code != 400:
                    raise
                # Cal.com refuses ranges it will never offer (far in the future, say) with a
                # 400: for the customer that is a range without free times, not an outage.
                log.warning("cal_slots_refused", code=exc.code, start=start, end=end)
                return []
            self.slot_cache.put(key, cached)
        return cached

    # -- schedule and reschedule ---------------------------------------------------------

    async def schedule(
        self,
        token: str,
        *,
        start: datetime,
        end: datetime,
        time_zone: str | None,
        notes: str | None,
    ) -> ScheduledSession:
        """Book one more session of the paid booking at `start`."""
        return await self._book(token, start, end, time_zone, notes, moving=None)

    async def reschedule(
        self,
        token: str,
        *,
        start: datetime,
        end: datetime,
        time_zone: str | None,
        session_id: uuid.UUID | None = None,
    ) -> ScheduledSession:
        """Move a session to `start`, up to the cancellation cutoff before it.

        `session_id` may be left out while the booking holds one session.
        """
        return await self._book(token, start, end, time_zone, None, moving=(session_id,))

    async def _book(
        self,
        token: str,
        start: datetime,
        end: datetime,
        time_zone: str | None,
        notes: str | None,
        *,
        moving: tuple[uuid.UUID | None] | None,
    ) -> ScheduledSession:
        token_hash = token_hash_of(token)
        actor = Actor.customer(token_hash)
        # The session a reschedule moves, found by `check` under the row lock.
        moved: list[BookingSession] = []

        async def check(repos: Repos, booking: Booking, now: datetime) -> Booking | None:
            live = await repos.bookings.sessions_of(booking.id)
            if moving is None:
                self._check_new_session(booking, live)
            else:
                moved.append(await self._session_to_move(repos, booking, live, moving[0], now))
            minutes = booking.duration_minutes
            if end - start != timedelta(minutes=minutes):
                raise ValidationFailed(
                    f"This package's session lasts {minutes} minutes.",
                    fields={"endTime": f"must be {minutes} minutes after startTime"},
                )
            if moved and start == moved[0].start_time:
                return booking  # already there: nothing to move
            if start <= now:
                raise SlotUnavailable("That time has passed. Please pick a later time.")
            if booking.sessions_valid_until is not None and start >= booking.sessions_valid_until:
                raise SlotUnavailable(
                    "This package's sessions must start before "
                    f"{format_utc(booking.sessions_valid_until)}. Please pick an earlier time."
                )
            others = [s for s in live if not moved or s.id != moved[0].id]
            if any(overlaps(other, start, end) for other in others):
                raise SlotUnavailable(
                    "That time overlaps another session of this booking. Please pick another."
                )
            return None

        async def take(repos: Repos, booking: Booking, now: datetime, lease: datetime) -> Attempt:
            event_type_id = booking.cal_event_type_id
            session_id = moved[0].id if moved else uuid.uuid4()
            await take_slot(
                repos,
                booking,
                event_type_id=event_type_id,
                start=start,
                end=end,
                lease=lease,
                now=now,
                data={
                    "start": format_utc(start),
                    "reschedule": moving is not None,
                    "sessionId": str(session_id),
                },
            )
            if time_zone:
                booking.customer_timezone = time_zone
            return Attempt(
                booking_id=booking.id,
                session_id=session_id,
                actor=actor,
                lease=lease,
                event_type_id=event_type_id,
                start=start,
                end=end,
                duration_minutes=booking.duration_minutes,
                attendee=_attendee(booking, time_zone, notes),
                moving_uid=moved[0].cal_uid if moved else None,
                look_first=moving is None and await repos.claims.has_event(booking.id, UNCONFIRMED),
            )

        began = await self.lease_keeper.begin(
            actor=actor,
            source="customer",
            locate=lambda repos: locked_by_token(repos, token_hash, token),
            check=check,
            take=take,
        )
        if isinstance(began, Booking):
            view = await self.bookings.status_of(token)
            return ScheduledSession(
                booking=view.booking, session=moved[0], sessions_remaining=view.sessions_remaining
            )
        return await self.attempts.carry_out(began)

    def _check_new_session(self, booking: Booking, live: list[BookingSession]) -> None:
        if booking.status == BookingStatus.CANCELLED:
            raise BookingNotSchedulable("This booking was cancelled, so it cannot be scheduled.")
        if booking.status == BookingStatus.PENDING:
            raise PaymentRequired()
        if sessions_remaining(booking, len(live)) == 0:
            if booking.sessions_total == 1 and live:
                raise BookingNotSchedulable(
                    "This booking is already scheduled. Use booking-reschedule to move it."
                )
            raise BookingNotSchedulable(
                "This booking has no session left to book. Use booking-reschedule to move one."
            )

    async def _session_to_move(
        self,
        repos: Repos,
        booking: Booking,
        live: list[BookingSession],
        session_id: uuid.UUID | None,
        now: datetime,
    ) -> BookingSession:
        if booking.status == BookingStatus.CANCELLED:
            raise BookingNotSchedulable("This booking was cancelled, so it cannot be scheduled.")
        if booking.status == BookingStatus.PENDING:
            raise PaymentRequired()
        session = await resolve_session(repos, booking, live, session_id)
        if session is None:
            raise BookingNotSchedulable(
                "This booking is not scheduled yet. Use booking-schedule to pick a time."
            )
        check_cutoff(session.start_time, now, self.cancellation_cutoff, "moved")
        return session


def _attendee(booking: Booking, time_zone: str | None, notes: str | None) -> Attendee:
    combined = "\n\n".join(text for text in (booking.notes, notes) if text) or None
    return Attendee(
        name=booking.customer_name,
        email=booking.customer_email,
        phone=booking.customer_phone,
        time_zone=time_zone or booking.customer_timezone or "UTC",
        notes=combined,
    )
