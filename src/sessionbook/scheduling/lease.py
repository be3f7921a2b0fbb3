"""The one protocol for changing a booking under a lease: schedule, reschedule and cancel use it.

1. In one short transaction the booking row is locked, the lease checked (a live one answers
   409 at once; it does not wait), the caller's rules run and it takes the lease (and, to book,
   claims the slot); then the transaction commits.
2. The caller talks to Cal.com with no transaction open.
3. It finishes under the row lock if the lease is still its own, or leaves the booking to
   `Recovery`, which settles a lapsed lease by asking Cal.com what happened.

An earlier attempt that never finished (a claim not matching the booking's session) is
recovered first, then the change starts over, at most once.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from sessionbook.bookings.errors import BookingExpired, BookingNotSchedulable
from sessionbook.bookings.models import Booking, BookingStatus
from sessionbook.bookings.service import BookingService
from sessionbook.core.db import Actor, Database
from sessionbook.core.errors import ProviderUnavailable
from sessionbook.scheduling.calcom.errors import CalendarError
from sessionbook.scheduling.changes import (
    BEING_SCHEDULED,
    CALENDAR_IN_DOUBT,
    Repos,
    lease_active,
    pending_claims,
)
from sessionbook.scheduling.recovery import Recovery

PlanT = TypeVar("PlanT")
ResultT = TypeVar("ResultT")

# Locks and returns the booking to change, or raises BookingNotFound.
Locate = Callable[[Repos], Awaitable[Booking]]
# The change's own rules on the locked booking: raise to refuse, or return a booking to answer
# with at once (nothing to do), or None to go on and take the lease.
CheckRules = Callable[[Repos, Booking, datetime], Awaitable[Booking | None]]
# Takes the lease (the given instant) and whatever else the change holds, returns its plan.
TakeLease = Callable[[Repos, Booking, datetime, datetime], Awaitable[PlanT]]


@dataclass(frozen=True, slots=True)
class NeedsRecovery:
    """An earlier attempt on this booking never finished: recover it before starting anew."""

    booking_id: uuid.UUID


class LeaseKeeper:
    """Begins changes under the booking's lease and finishes them only while it is theirs."""

    def __init__(
        self,
        *,
        database: Database,
        bookings: BookingService,
        recovery: Recovery,
        duration: timedelta,
        clock: Callable[[], datetime],
    ) -> None:
        self.database = database
        self.bookings = bookings
        self.recovery = recovery
        self.duration = duration
        self.clock = clock

    async def begin(
        self,
        *,
        actor: Actor,
        source: str,
        locate: Locate,
        check: CheckRules,
        take: TakeLease[PlanT],
    ) -> PlanT | Booking:
        """Step 1, recovering an unfinished earlier attempt first; the plan or an answer.

        Raises BookingExpired, BookingNotSchedulable (another request holds the lease),
        ProviderUnavailable (an earlier attempt could not be checked with Cal.com) and
        whatever `check` raises.
        """
        for _ in range(2):
            began = await self._begin_once(actor, source, locate, check, take)
            if not isinstance(began, NeedsRecovery):
                return began
            # An earlier attempt never finished: ask Cal.com what it did before going on.
            try:
                await self.recovery.recover(began.booking_id, source=source)
            except CalendarError as exc:
                raise ProviderUnavailable(CALENDAR_IN_DOUBT) from exc
        raise BookingNotSchedulable(BEING_SCHEDULED)

    async def _begin_once(
        self,
        actor: Actor,
        source: str,
        locate: Locate,
        check: CheckRules,
        take: TakeLease[PlanT],
    ) -> PlanT | Booking | NeedsRecovery:
        async with self.database.transaction(actor) as session:
            repos = Repos.of(session)
            booking = await locate(repos)
            now = self.clock()
            # The expiry is committed before the customer hears of it, hence the flag.
            expired = booking.status == BookingStatus.EXPIRED or await self.bookings.expire_if_due(
                repos.bookings, booking, now, source=source
            )
            if not expired:
                answer = await check(repos, booking, now)
                if answer is not None:
                    return answer
                if lease_active(booking, now):
                    raise BookingNotSchedulable(BEING_SCHEDULED)
                if pending_claims(list(await repos.claims.of_booking(booking.id))):
                    return NeedsRecovery(booking.id)
                return await take(repos, booking, now, now + self.duration)
        raise BookingExpired()

    @asynccontextmanager
    async def locked(
        self, actor: Actor, booking_id: uuid.UUID
    ) -> AsyncIterator[tuple[Repos, Booking, datetime]]:
        """Step 3's transaction: the booking locked again, with the time of the finish."""
        async with self.database.transaction(actor) as session:
            repos = Repos.of(session)
            booking = await repos.bookings.by_id(booking_id, for_update=True)
            assert booking is not None  # bookings are never deleted
            yield repos, booking, self.clock()

    async def finish_if_held(
        self,
        actor: Actor,
        booking_id: uuid.UUID,
        lease_until: datetime,
        change: Callable[[Repos, Booking, datetime], Awaitable[ResultT]],
    ) -> ResultT | None:
        """Apply `change` only if the lease taken at `lease_until` is still the booking's.

        None when it is not: someone else (a recovery) settled the booking meanwhile, and
        theirs is the word.
        """
        async with self.locked(actor, booking_id) as (repos, booking, now):
            if booking.schedule_lease_until != lease_until:
                return None
            return await change(repos, booking, now)
