"""Settling scheduling attempts that never finished, and the sweep duties built on that.

An attempt that dies after taking its lease and claim (a crash, a lost answer we could not check)
leaves a lapsed lease and a claim behind. Whether Cal.com made the booking is then asked by the
booking id we put in its metadata: found, it is adopted as the session whose id its metadata
carries; not found, the claim is released. The
same lease that guards a customer's request guards the recovery, so the two never act at once.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

import structlog

from sessionbook.bookings.models import BookingSession, BookingStatus, CancelledBy
from sessionbook.bookings.ports import BookingNews
from sessionbook.bookings.transitions import record_change
from sessionbook.core.api_models import format_utc
from sessionbook.core.db import SERVICE, Database
from sessionbook.scheduling.calcom.calendar import CalBooking, Calendar
from sessionbook.scheduling.calcom.errors import CalendarError, CalendarNotFound
from sessionbook.scheduling.changes import (
    CALENDAR_CANCELLED,
    RELEASED,
    Repos,
    adopt,
    adoptable_as,
    cancel_session,
    lease_active,
    pending_claims,
    release,
)

log = structlog.get_logger(__name__)

METADATA_KEY = "booking_id"
SESSION_METADATA_KEY = "session_id"
ClaimedTime = tuple[int, datetime, datetime]


class RecoveryIncomplete(Exception):
    """Some bookings could not be settled because Cal.com did not answer; the next pass retries."""


class Recovery:
    """Asks Cal.com what became of unfinished attempts, and cancels what we no longer want."""

    def __init__(
        self,
        *,
        database: Database,
        calendar: Calendar,
        news: BookingNews,
        lease: timedelta,
        clock: Callable[[], datetime],
        on_change: Callable[[], None],
    ) -> None:
        self.database = database
        self.calendar = calendar
        self.news = news
        self.lease = lease
        self.clock = clock
        self.on_change = on_change

    async def recover(self, booking_id: uuid.UUID, *, source: str) -> str:
        """Settle one booking's unfinished attempt: "adopted", "released", "idle" or "busy".

        Raises CalendarError when Cal.com cannot be asked; the lease then lapses again and the
        next request or sweep tries once more.
        """
        now = self.clock()
        lease = now + self.lease
        async with self.database.transaction(SERVICE) as session:
            repos = Repos.of(session)
            booking = await repos.bookings.by_id(booking_id, for_update=True)
            if booking is None or lease_active(booking, now):
                return "busy"
            pending = pending_claims(list(await repos.claims.of_booking(booking.id)))
            if not pending:
                if booking.schedule_lease_until is None:
                    return "idle"
                # A lapsed lease with no claim behind it: a cancellation died before Cal.com
                # answered, or after; either way the booking row still says what is true for us.
                booking.schedule_lease_until = None
                await record_change(
                    repos.bookings,
                    booking,
                    event_type=RELEASED,
                    source=source,
                    now=now,
                    data={"claims": []},
                )
                return "released"
            booking.schedule_lease_until = lease
            email = booking.customer_email
            known_uids = {
                known.cal_uid
                for known in await repos.bookings.sessions_of(booking.id, live_only=False)
            }
            claimed: list[ClaimedTime] = [
                (claim.event_type_id, claim.start_time, claim.end_time) for claim in pending
            ]
        try:
            found = await self.made_for(booking_id, email, claimed, ignoring_uids=known_uids)
        except CalendarError:
            await self._lapse(booking_id, lease)
            raise
        unwanted: list[CalBooking] = []
        async with self.database.transaction(SERVICE) as session:
            repos = Repos.of(session)
            booking = await repos.bookings.by_id(booking_id, for_update=True)
            if booking is None or booking.schedule_lease_until != lease:
                return "busy"
            now = self.clock()
            fit: BookingSession | bool | None = False
            if found:
                session_id = self.session_id_of(found[0]) or uuid.uuid4()
                fit = await adoptable_as(repos, booking, found[0], session_id)
            if fit is not False:
                await adopt(
                    repos,
                    booking,
                    found[0],
                    session_id=session_id,
                    moving=fit if isinstance(fit, BookingSession) else None,
                    news=self.news,
                    now=now,
                    source=source,
                    data={"recovered": True},
                )
                unwanted = found[1:]
                outcome = "adopted"
            else:
                unwanted = found
                await release(
                    repos,
                    booking,
                    now=now,
                    source=source,
                    event_type=RELEASED,
                    data={"claims": [format_utc(start) for _, start, _ in claimed]},
                )
                outcome = "released"
        for extra in unwanted:
            # Never expected (one attempt makes one booking), but "one Cal.com booking per
            # booking" is a promise, so any second one found is cancelled.
            await self.cancel_quietly(extra.uid, "Duplicate booking")
        self.on_change()
        log.info("scheduling_recovered", booking_id=str(booking_id), outcome=outcome)
        return outcome

    async def _lapse(self, booking_id: uuid.UUID, lease: datetime) -> None:
        # Hand the booking straight back: the next request or sweep may ask Cal.com again.
        async with self.database.transaction(SERVICE) as session:
            booking = await Repos.of(session).bookings.by_id(booking_id, for_update=True)
            if booking is not None and booking.schedule_lease_until == lease:
                booking.schedule_lease_until = self.clock()

    async def made_for(
        self,
        booking_id: uuid.UUID,
        email: str,
        claimed: list[ClaimedTime],
        *,
        ignoring_uids: set[str],
    ) -> list[CalBooking]:
        """Active Cal.com bookings carrying our booking id at one of these times, oldest first.

        `ignoring_uids`: Cal.com bookings already known as sessions (or being moved away).
        """
        found: dict[str, CalBooking] = {}
        for event_type_id, start, end in claimed:
            for made in await self.calendar.find_bookings_by_metadata(
                attendee_email=email,
                start_from=start,
                end_until=end,
                metadata={METADATA_KEY: str(booking_id)},
                event_type_id=event_type_id,
            ):
                if made.is_active and made.uid not in ignoring_uids:
                    found[made.uid] = made
        return sorted(found.values(), key=lambda made: made.id)

    @staticmethod
    def session_id_of(made: CalBooking) -> uuid.UUID | None:
        """The session id our metadata gave this Cal.com booking (None if absent or mangled)."""
        try:
            return uuid.UUID(made.metadata[SESSION_METADATA_KEY])
        except (KeyError, ValueError):
            return None

    async def is_unknown(self, booking_id: uuid.UUID, made: CalBooking) -> bool:
        """True when no session of ours is this Cal.com booking yet."""
        async with self.database.transaction(SERVICE) as session:
            known = await Repos.of(session).bookings.session_by_cal_uid(made.uid)
        return known is None

    async def cancel_quietly(self, uid: str, reason: str) -> bool:
        """Cancel at Cal.com; on failure log loudly (an operator must look) and go on."""
        try:
            await self.calendar.cancel_booking(uid, reason)
        except CalendarNotFound:
            return True
        except CalendarError as exc:
            log.error("calendar_booking_left_active", cal_uid=uid, code=exc.code)
            return False
        return True

    async def recover_lapsed(self, *, batch_size: int = 100) -> int:
        """Sweep duty: settle every booking whose scheduling lease lapsed."""
        async with self.database.transaction(SERVICE) as session:
            ids = await Repos.of(session).claims.ids_with_lapsed_lease(
                self.clock(), limit=batch_size
            )
        settled = 0
        failures = 0
        for booking_id in ids:
            try:
                outcome = await self.recover(booking_id, source="sweep")
            except CalendarError as exc:
                log.warning("scheduling_recovery_failed", booking_id=str(booking_id), code=exc.code)
                failures += 1
                continue
            settled += outcome in ("adopted", "released")
        if failures:
            raise RecoveryIncomplete(f"{failures} booking(s) could not be checked with Cal.com")
        return settled

    async def cancel_for_cancelled(self, *, batch_size: int = 100) -> int:
        """Sweep duty: cancel at Cal.com, once, each upcoming session of a cancelled booking.

        A refund (webhook or operator) cancels a booking without touching Cal.com; the coach's
        calendar would still show its sessions. Marking each session cancelled (with an audit
        row) makes this happen once.
        """
        now = self.clock()
        async with self.database.transaction(SERVICE) as session:
            found = await Repos.of(session).claims.sessions_of_cancelled_bookings(
                now, limit=batch_size
            )
            targets = [(s.booking_id, s.id, s.cal_uid) for s in found]
        done = 0
        failures = 0
        for booking_id, session_id, uid in targets:
            # Safe to repeat if two sweepers race: cancelling a cancelled booking succeeds.
            if not await self.cancel_quietly(uid, "Booking cancelled"):
                failures += 1
                continue
            async with self.database.transaction(SERVICE) as session:
                repos = Repos.of(session)
                booking = await repos.bookings.by_id(booking_id, for_update=True)
                held = await repos.bookings.session_by_id(booking_id, session_id)
                if booking is None or booking.status != BookingStatus.CANCELLED:
                    continue
                if held is None or held.state != "booked":
                    continue
                await cancel_session(
                    repos,
                    booking,
                    held,
                    now=self.clock(),
                    source="sweep",
                    cancelled_by=CancelledBy.OPERATOR,
                    event_type=CALENDAR_CANCELLED,
                )
                done += 1
        self.on_change()
        if failures:
            raise RecoveryIncomplete(f"{failures} Cal.com booking(s) could not be cancelled")
        return done
