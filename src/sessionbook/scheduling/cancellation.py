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
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

import structlog

from sessionbook.bookings.models import Booking, BookingStatus, PaymentStatus
from sessionbook.bookings.transitions import record_change
from sessionbook.core.db import ADMIN, Actor
from sessionbook.core.errors import (
    BookingExpired,
    BookingNotFound,
    BookingNotSchedulable,
    ProviderUnavailable,
    RefundNotAllowed,
)
from sessionbook.scheduling.calcom.errors import CalendarError, CalendarNotFound
from sessionbook.scheduling.steps import (
    BEING_SCHEDULED,
    CALENDAR_CANCELLED,
    CALENDAR_IN_DOUBT,
    CANCELLED,
    Repos,
    lease_active,
    locked_by_token,
    pending_claims,
)

if TYPE_CHECKING:
    from sessionbook.scheduling.service import SchedulingService

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
class _NeedsRecovery:
    booking_id: uuid.UUID


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

    def __init__(self, scheduling: SchedulingService, refunds: Refunder | None) -> None:
        self.scheduling = scheduling
        self.refunds = refunds

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
        for _ in range(2):
            began = await self._begin(who, reason)
            if isinstance(began, _Plan):
                break
            try:
                await self.scheduling.recovery.recover(began.booking_id, source=who.source)
            except CalendarError as exc:
                raise ProviderUnavailable(CALENDAR_IN_DOUBT) from exc
        else:
            raise BookingNotSchedulable(BEING_SCHEDULED)
        if began.cal_uid is not None:
            try:
                await self.scheduling.calendar.cancel_booking(
                    began.cal_uid, reason or who.refund_reason
                )
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
        self.scheduling.slot_cache.clear()
        log.info("booking_cancelled", booking_id=str(booking.id), refund_cents=began.refund_cents)
        return Cancelled(booking=booking, refund_cents=began.refund_cents)

    async def _begin(self, who: _Canceller, reason: str | None) -> _Plan | _NeedsRecovery:
        scheduling = self.scheduling
        actor = who.actor
        expired = False
        async with scheduling.database.transaction(actor) as session:
            repos = Repos.of(session)
            booking = await who.locate(repos)
            now = scheduling.clock()
            if booking.status == BookingStatus.EXPIRED or await scheduling.bookings.expire_if_due(
                repos.bookings, booking, now, source=who.source
            ):
                expired = True
            else:
                if booking.status == BookingStatus.CANCELLED:
                    raise BookingNotSchedulable("This booking is already cancelled.")
                if booking.status == BookingStatus.PENDING:
                    raise BookingNotSchedulable(
                        "This booking is not paid, so there is nothing to cancel: it lapses by "
                        "itself when its payment window ends."
                    )
                if who.enforce_cutoff:
                    scheduling.check_cutoff(booking, now, "cancelled")
                if lease_active(booking, now):
                    raise BookingNotSchedulable(BEING_SCHEDULED)
                if pending_claims(booking, list(await repos.claims.of_booking(booking.id))):
                    return _NeedsRecovery(booking.id)
                refund_cents = 0
                if booking.payment_status == PaymentStatus.PAID and booking.amount_cents > 0:
                    refund_cents = booking.amount_cents - booking.refunded_cents
                if refund_cents and self.refunds is None:
                    raise ProviderUnavailable(
                        "Refunds cannot be made right now, so nothing was cancelled. Please retry."
                    )
                lease = now + scheduling.lease
                booking.schedule_lease_until = lease
                await record_change(
                    repos.bookings,
                    booking,
                    event_type=STARTED,
                    source=who.source,
                    now=now,
                    data={"reason": reason, "refundCents": refund_cents},
                )
                plan = _Plan(
                    booking_id=booking.id,
                    actor=actor,
                    source=who.source,
                    lease=lease,
                    cal_uid=booking.cal_uid,
                    refund_cents=refund_cents,
                    reason=reason,
                )
        if expired:
            raise BookingExpired()
        return plan

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
        scheduling = self.scheduling
        async with scheduling.database.transaction(plan.actor) as session:
            repos = Repos.of(session)
            booking = await repos.bookings.by_id(plan.booking_id, for_update=True)
            if booking is None or booking.schedule_lease_until != plan.lease:
                return
            booking.schedule_lease_until = None
            await record_change(
                repos.bookings,
                booking,
                event_type=FAILED,
                source=plan.source,
                now=scheduling.clock(),
                data={"reason": "calendar_unavailable"},
            )

    async def _finish(self, plan: _Plan) -> Booking:
        scheduling = self.scheduling
        async with scheduling.database.transaction(plan.actor) as session:
            repos = Repos.of(session)
            booking = await repos.bookings.by_id(plan.booking_id, for_update=True)
            assert booking is not None  # bookings are never deleted
            now = scheduling.clock()
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
