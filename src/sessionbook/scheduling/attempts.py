"""One scheduling attempt after its slot is claimed: the Cal.com call and what follows it.

Steps 2 and 3 of the protocol in `lease`: Cal.com is asked with no transaction open, then the
outcome is recorded under the row lock if the lease is still ours. Every way out either records
the Cal.com booking, lets the claim go (nothing was made), or keeps the claim for recovery
(unknown whether anything was made).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import structlog

from sessionbook.bookings.errors import BookingNotSchedulable
from sessionbook.bookings.models import Booking, BookingSession
from sessionbook.bookings.ports import BookingNews
from sessionbook.bookings.sessions import sessions_remaining
from sessionbook.core.api_models import format_utc
from sessionbook.core.db import Actor
from sessionbook.core.errors import ProviderUnavailable
from sessionbook.scheduling.calcom.calendar import CalBooking, Calendar, Slot
from sessionbook.scheduling.calcom.errors import (
    CalendarError,
    CalendarSlotTaken,
    CalendarUnavailable,
)
from sessionbook.scheduling.changes import (
    CALENDAR_IN_DOUBT,
    FAILED,
    IN_DOUBT,
    SLOT_TAKEN_MESSAGE,
    UNCONFIRMED,
    Repos,
    adopt,
    adoptable_as,
    lease_active,
    release,
)
from sessionbook.scheduling.errors import SlotUnavailable
from sessionbook.scheduling.lease import LeaseKeeper
from sessionbook.scheduling.recovery import METADATA_KEY, SESSION_METADATA_KEY, Recovery

log = structlog.get_logger(__name__)

NOT_OFFERED = "That time is not offered. Please pick one of the available times."
CALENDAR_DOWN = (
    "The calendar is not answering, so nothing was booked. Your booking is kept; please retry."
)


@dataclass(frozen=True, slots=True)
class Attendee:
    """Who Cal.com books: the customer's own details, never the token."""

    name: str
    email: str
    phone: str | None
    time_zone: str
    notes: str | None


@dataclass(frozen=True, slots=True)
class ScheduledSession:
    """What a schedule or reschedule answers: the booking, its session, what remains."""

    booking: Booking
    session: BookingSession
    sessions_remaining: int


@dataclass(frozen=True, slots=True)
class Attempt:
    """A claimed slot under a lease: what the Cal.com call needs, and the lease to prove it.

    `session_id` is the session the Cal.com booking becomes: a new id made before Cal.com is
    asked (it travels in the metadata), or the id of the session being moved.
    """

    booking_id: uuid.UUID
    session_id: uuid.UUID
    actor: Actor
    lease: datetime
    event_type_id: int
    start: datetime
    end: datetime
    duration_minutes: int
    attendee: Attendee
    moving_uid: str | None
    look_first: bool


# (event type id, start, end, time zone, minutes) -> the slots Cal.com offers (maybe cached).
SlotsOf = Callable[[int, datetime, datetime, str, int], Awaitable[list[Slot]]]


class Attempts:
    """Runs claimed attempts against Cal.com and records what came of them."""

    def __init__(
        self,
        *,
        calendar: Calendar,
        lease_keeper: LeaseKeeper,
        recovery: Recovery,
        slots_of: SlotsOf,
        on_change: Callable[[], None],
        news: BookingNews,
        clock: Callable[[], datetime],
    ) -> None:
        self.calendar = calendar
        self.lease_keeper = lease_keeper
        self.recovery = recovery
        self.slots_of = slots_of
        self.on_change = on_change
        self.news = news
        self.clock = clock

    async def carry_out(self, attempt: Attempt) -> ScheduledSession:
        """Steps 2 and 3: ask Cal.com, then record what it did (or let the claim go)."""
        try:
            if attempt.look_first:
                earlier = await self._earlier_booking(attempt)
                if earlier is not None:
                    return await self._adopt_earlier(attempt, earlier)
            if not await self._is_offered(attempt):
                await self._give_up(attempt, FAILED, "not_offered")
                raise SlotUnavailable(NOT_OFFERED)
        except CalendarError as exc:
            await self._give_up(attempt, FAILED, "calendar_unavailable")
            raise ProviderUnavailable(CALENDAR_DOWN) from exc
        try:
            made = await self._write(attempt)
        except CalendarSlotTaken:
            await self._give_up(attempt, FAILED, "slot_taken")
            raise SlotUnavailable(SLOT_TAKEN_MESSAGE) from None
        except CalendarUnavailable as exc:
            made = await self._found_after_failure(attempt, exc)
        except CalendarError as exc:
            # A refusal (4xx) means nothing was made; it is ours to fix, not the customer's.
            log.error("calendar_refused", code=exc.code, status=exc.status_code)
            await self._give_up(attempt, FAILED, "calendar_refused")
            raise ProviderUnavailable(CALENDAR_DOWN) from exc
        return await self._complete(attempt, made)

    async def _write(self, attempt: Attempt) -> CalBooking:
        if attempt.moving_uid is not None:
            return await self.calendar.reschedule_booking(
                attempt.moving_uid, attempt.start, "Rescheduled by the customer"
            )
        attendee = attempt.attendee
        return await self.calendar.create_booking(
            event_type_id=attempt.event_type_id,
            start=attempt.start,
            duration_minutes=attempt.duration_minutes,
            attendee_name=attendee.name,
            attendee_email=attendee.email,
            attendee_time_zone=attendee.time_zone,
            attendee_phone=attendee.phone,
            notes=attendee.notes,
            metadata={
                METADATA_KEY: str(attempt.booking_id),
                SESSION_METADATA_KEY: str(attempt.session_id),
            },
        )

    async def _is_offered(self, attempt: Attempt) -> bool:
        slots = await self.slots_of(
            attempt.event_type_id, attempt.start, attempt.end, "UTC", attempt.duration_minutes
        )
        return any(slot.start == attempt.start for slot in slots)

    async def _found_after_failure(self, attempt: Attempt, failure: CalendarError) -> CalBooking:
        """After a failed write: the booking Cal.com made anyway, or ProviderUnavailable."""
        try:
            found = await self.recovery.made_for(
                attempt.booking_id,
                attempt.attendee.email,
                [(attempt.event_type_id, attempt.start, attempt.end)],
                ignoring_uids={attempt.moving_uid} if attempt.moving_uid else set(),
            )
        except CalendarError:
            # Unknown whether it booked: keep the claim; the next request or sweep asks again.
            await self._give_up(attempt, IN_DOUBT, "calendar_unavailable", keep_claims=True)
            raise ProviderUnavailable(CALENDAR_IN_DOUBT) from failure
        if not found:
            await self._give_up(attempt, UNCONFIRMED, "calendar_unavailable")
            raise ProviderUnavailable(CALENDAR_DOWN) from failure
        log.info("calendar_booking_found_after_failure", booking_id=str(attempt.booking_id))
        return found[0]

    async def _earlier_booking(self, attempt: Attempt) -> CalBooking | None:
        """A booking an earlier, unconfirmed attempt made after all (Cal.com answered late)."""
        now = self.clock()
        for made in await self.calendar.find_bookings_by_metadata(
            attendee_email=attempt.attendee.email,
            start_from=now,
            end_until=now + timedelta(days=400),
            metadata={METADATA_KEY: str(attempt.booking_id)},
            event_type_id=attempt.event_type_id,
        ):
            if made.is_active and await self.recovery.is_unknown(attempt.booking_id, made):
                return made
        return None

    async def _adopt_earlier(self, attempt: Attempt, earlier: CalBooking) -> ScheduledSession:
        # The earlier attempt's session id is the one in its metadata.
        earlier_id = self.recovery.session_id_of(earlier) or attempt.session_id
        done = await self._complete(replace(attempt, session_id=earlier_id), earlier)
        if earlier.start != attempt.start:
            raise BookingNotSchedulable(
                "An earlier request for this booking went through after all: it is scheduled "
                f"for {format_utc(earlier.start)}."
            )
        return done

    async def _give_up(
        self, attempt: Attempt, event_type: str, reason: str, *, keep_claims: bool = False
    ) -> None:

        async def release_claim(repos: Repos, booking: Booking, now: datetime) -> bool:
            await release(
                repos,
                booking,
                now=now,
                source="customer",
                event_type=event_type,
                data={"reason": reason, "start": format_utc(attempt.start)},
                keep_claims=keep_claims,
            )
            return True

        released = await self.lease_keeper.finish_if_held(
            attempt.actor, attempt.booking_id, attempt.lease, release_claim
        )
        if released is None:
            return  # someone else settled it meanwhile; theirs is the word
        log.info("scheduling_failed", booking_id=str(attempt.booking_id), reason=reason)

    async def _complete(self, attempt: Attempt, made: CalBooking) -> ScheduledSession:
        compensate = False
        async with self.lease_keeper.locked(attempt.actor, attempt.booking_id) as locked:
            repos, booking, now = locked
            ours = booking.schedule_lease_until == attempt.lease or not lease_active(booking, now)
            session = await repos.bookings.session_by_cal_uid(made.uid)
            if session is None and ours:
                fit = await adoptable_as(repos, booking, made, attempt.session_id)
                moving = fit if isinstance(fit, BookingSession) else None
                if fit is not False and (moving is None) == (attempt.moving_uid is None):
                    session = await adopt(
                        repos,
                        booking,
                        made,
                        session_id=attempt.session_id,
                        moving=moving,
                        news=self.news,
                        now=now,
                        source="customer",
                    )
            # else: a recovery adopted it while we were away, or it belongs to nothing.
            compensate = session is None or session.booking_id != booking.id
            remaining = 0
            if not compensate:
                remaining = sessions_remaining(
                    booking, len(await repos.bookings.sessions_of(booking.id))
                )
        self.on_change()
        if compensate or session is None:
            # The booking changed under us (cancelled, or taken over after our lease lapsed):
            # the Cal.com booking we just made belongs to nothing, so it goes.
            await self.recovery.cancel_quietly(made.uid, "Superseded")
            raise BookingNotSchedulable(
                "This booking changed while it was being scheduled. Please check its status."
            )
        log.info(
            "booking_scheduled",
            booking_id=str(booking.id),
            session_id=str(session.id),
            moved=attempt.moving_uid is not None,
        )
        return ScheduledSession(booking=booking, session=session, sessions_remaining=remaining)
