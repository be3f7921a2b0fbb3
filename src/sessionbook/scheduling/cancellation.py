"""A customer's cancellation: Cal.com first, then the refund, then the booking row.

The order is chosen so that no failure loses anything. Cal.com failing leaves everything as it
was (502, retry). The refund is recorded by the payment service before Airwallex hears of it, so
once asked for it is sent again by the sweep if need be; and should we die before marking the
booking cancelled, the refund's settlement cancels it and the sweep tidies Cal.com.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

import structlog

from sessionbook.bookings.models import Booking, BookingStatus, PaymentStatus
from sessionbook.bookings.transitions import record_change
from sessionbook.core.db import ADMIN, Actor
from sessionbook.core.errors import (
    BookingNotFound,
    BookingNotSchedulable,
    ProviderUnavailable,
    RefundNotAllowed,
)
from sessionbook.scheduling.calcom.calendar import Calendar
from sessionbook.scheduling.calcom.errors import CalendarError, CalendarNotFound
from sessionbook.scheduling.changes import (
    CALENDAR_CANCELLED,
    CANCELLED,
    Repos,
    check_cutoff,
    locked_by_token,
)
from sessionbook.scheduling.lease import LeaseKeeper

log = structlog.get_logger(__name__)

STARTED = "cancellation_started"
FAILED = "cancellation_failed"
REFUND_REASON = "Cancelled by the customer"
OPERATOR_REFUND_REASON = "Cancelled by the coach"


class Refunder(Protocol):
    """What a cancellation needs from payments (PaymentService.refund)."""

    async def refund(
        self, booking_id: uuid.UUID, *, amount_cents: int | None, reason: str, source: str
    ) -> object: ...


@dataclass(frozen=True, slots=True)
class Cancelled:
    booking: Booking
    refund_cents: int


@dataclass(frozen=True, slots=True)
class _Plan:
    booking_id: uuid.UUID
    actor: Actor
    source: str
    lease: datetime
    cal_uid: str | None
    refund_cents: int
    reason: str | None


@dataclass(frozen=True, slots=True)
class _Canceller:
    """Who cancels: the customer by token (before the cutoff) or an operator by id (any time)."""

    actor: Actor
    source: str
    locate: Callable[[Repos], Awaitable[Booking]]
    enforce_cutoff: bool
    refund_reason: str


class Cancellations:
    """Cancels a booking: by its token up to the cutoff before its start, or by an operator."""

    def __init__(
        self,
        *,
        calendar: Calendar,
        lease_keeper: LeaseKeeper,
        refunds: Refunder | None,
        cancellation_cutoff: timedelta,
        on_change: Callable[[], None],
    ) -> None:
        self.calendar = calendar
        self.lease_keeper = lease_keeper
        self.refunds = refunds
        self.cancellation_cutoff = cancellation_cutoff
        self.on_change = on_change

    async def cancel(self, token: str, token_hash: str, reason: str | None) -> Cancelled:
        customer = _Canceller(
            actor=Actor.customer(token_hash),
            source="customer",
            locate=lambda repos: locked_by_token(repos, token_hash, token),
            enforce_cutoff=True,
            refund_reason=REFUND_REASON,
        )
        return await self._cancel(customer, reason)

    async def cancel_as_operator(self, booking_id: uuid.UUID, reason: str) -> Cancelled:
        """The admin's cancel: the same steps and refund, as the admin role, with no cutoff."""

        async def locate(repos: Repos) -> Booking:
            booking = await repos.bookings.by_id(booking_id, for_update=True)
            if booking is None:
                raise BookingNotFound("No booking has this id.")
            return booking

        operator = _Canceller(
            actor=ADMIN,
            source="admin",
            locate=locate,
            enforce_cutoff=False,
            refund_reason=OPERATOR_REFUND_REASON,
        )
        return await self._cancel(operator, reason)

    async def _cancel(self, who: _Canceller, reason: str | None) -> Cancelled:
        began = await self._begin(who, reason)
        assert isinstance(began, _Plan)  # the rules never answer early: there is always work
        if began.cal_uid is not None:
            try:
                await self.calendar.cancel_booking(began.cal_uid, reason or who.refund_reason)
            except CalendarNotFound:
                pass  # nothing left to cancel there
            except CalendarError as exc:
                await self._abandon(began)
                raise ProviderUnavailable(
                    "The calendar is not answering, so nothing was cancelled. Please retry."
                ) from exc
        if began.refund_cents:
            await self._refund(began, who.refund_reason)
        booking = await self._finish(began)
        self.on_change()
        log.info("booking_cancelled", booking_id=str(booking.id), refund_cents=began.refund_cents)
        return Cancelled(booking=booking, refund_cents=began.refund_cents)

    async def _begin(self, who: _Canceller, reason: str | None) -> _Plan | Booking:
        async def check(repos: Repos, booking: Booking, now: datetime) -> Booking | None:
            if booking.status == BookingStatus.CANCELLED:
                raise BookingNotSchedulable("This booking is already cancelled.")
            if booking.status == BookingStatus.PENDING:
                raise BookingNotSchedulable(
                    "This booking is not paid, so there is nothing to cancel: it lapses by "
                    "itself when its payment window ends."
                )
            if who.enforce_cutoff:
                check_cutoff(booking, now, self.cancellation_cutoff, "cancelled")
            return None

        async def take(repos: Repos, booking: Booking, now: datetime, lease: datetime) -> _Plan:
            refund_cents = 0
            if booking.payment_status == PaymentStatus.PAID and booking.amount_cents > 0:
                refund_cents = booking.amount_cents - booking.refunded_cents
            if refund_cents and self.refunds is None:
                raise ProviderUnavailable(
                    "Refunds cannot be made right now, so nothing was cancelled. Please retry."
                )
            booking.schedule_lease_until = lease
            await record_change(
                repos.bookings,
                booking,
                event_type=STARTED,
                source=who.source,
                now=now,
                data={"reason": reason, "refundCents": refund_cents},
            )
            return _Plan(
                booking_id=booking.id,
                actor=who.actor,
                source=who.source,
                lease=lease,
                cal_uid=booking.cal_uid,
                refund_cents=refund_cents,
                reason=reason,
            )

        return await self.lease_keeper.begin(
            actor=who.actor, source=who.source, locate=who.locate, check=check, take=take
        )

    async def _refund(self, plan: _Plan, reason: str) -> None:
        assert self.refunds is not None  # checked before anything changed
        try:
            await self.refunds.refund(
                plan.booking_id, amount_cents=None, reason=reason, source=plan.source
            )
        except ProviderUnavailable:
            # Recorded by the payment service before Airwallex was called; the sweep resends it.
            log.warning("cancellation_refund_deferred", booking_id=str(plan.booking_id))
        except RefundNotAllowed as exc:
            # The session is cancelled at Cal.com already; an operator must settle the money.
            log.error(
                "cancellation_refund_refused", booking_id=str(plan.booking_id), reason=exc.message
            )

    async def _abandon(self, plan: _Plan) -> None:
        async def hand_back(repos: Repos, booking: Booking, now: datetime) -> None:
            booking.schedule_lease_until = None
            await record_change(
                repos.bookings,
                booking,
                event_type=FAILED,
                source=plan.source,
                now=now,
                data={"reason": "calendar_unavailable"},
            )

        await self.lease_keeper.finish_if_held(plan.actor, plan.booking_id, plan.lease, hand_back)

    async def _finish(self, plan: _Plan) -> Booking:
        async with self.lease_keeper.locked(plan.actor, plan.booking_id) as locked:
            repos, booking, now = locked
            await repos.claims.remove(await repos.claims.of_booking(booking.id))
            if (
                plan.cal_uid is not None
                and booking.cal_uid == plan.cal_uid
                and not await repos.claims.has_event(booking.id, CALENDAR_CANCELLED)
            ):
                await record_change(
                    repos.bookings,
                    booking,
                    event_type=CALENDAR_CANCELLED,
                    source=plan.source,
                    now=now,
                    data={"calUid": plan.cal_uid},
                )
            if booking.schedule_lease_until == plan.lease:
                booking.schedule_lease_until = None
            # A refund that settled at once may have cancelled the booking already; the
            # customer's own cancellation is still recorded.
            await record_change(
                repos.bookings,
                booking,
                event_type=CANCELLED,
                source=plan.source,
                now=now,
                status=BookingStatus.CANCELLED,
                data={"reason": plan.reason, "refundCents": plan.refund_cents},
            )
        return booking
