"""A customer's cancellation: Cal.com first, then the refund, then the booking row.

With a session id only that session is cancelled: its credit comes back, nothing is refunded.
Without, the whole booking is cancelled (every live session at Cal.com) with a full refund.

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

from sessionbook.bookings.errors import BookingNotFound, BookingNotSchedulable
from sessionbook.bookings.models import (
    Booking,
    BookingSession,
    BookingStatus,
    CancelledBy,
    PaymentStatus,
)
from sessionbook.bookings.sessions import sessions_remaining
from sessionbook.bookings.transitions import record_change
from sessionbook.core.db import ADMIN, Actor
from sessionbook.core.errors import ProviderUnavailable
from sessionbook.payments.errors import RefundNotAllowed
from sessionbook.scheduling.calcom.calendar import Calendar
from sessionbook.scheduling.calcom.errors import CalendarError, CalendarNotFound
from sessionbook.scheduling.changes import (
    CALENDAR_CANCELLED,
    CANCELLED,
    SESSION_CANCELLED,
    Repos,
    cancel_session,
    check_cutoff,
    locked_by_token,
    resolve_session,
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
    """The outcome: `session` is set when one session was cancelled, not the whole booking."""

    booking: Booking
    refund_cents: int
    session: BookingSession | None = None
    sessions_remaining: int = 0


@dataclass(frozen=True, slots=True)
class _Plan:
    booking_id: uuid.UUID
    actor: Actor
    source: str
    lease: datetime
    # (session id, Cal.com uid) of every session to cancel at Cal.com.
    sessions: tuple[tuple[uuid.UUID, str], ...]
    one_session: bool
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
    cancelled_by: CancelledBy


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

    async def cancel(
        self,
        token: str,
        token_hash: str,
        reason: str | None,
        session_id: uuid.UUID | None = None,
    ) -> Cancelled:
        customer = _Canceller(
            actor=Actor.customer(token_hash),
            source="customer",
            locate=lambda repos: locked_by_token(repos, token_hash, token),
            enforce_cutoff=True,
            refund_reason=REFUND_REASON,
            cancelled_by=CancelledBy.CUSTOMER,
        )
        return await self._cancel(customer, reason, session_id)

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
            cancelled_by=CancelledBy.OPERATOR,
        )
        return await self._cancel(operator, reason, None)

    async def _cancel(
        self, who: _Canceller, reason: str | None, session_id: uuid.UUID | None
    ) -> Cancelled:
        began = await self._begin(who, reason, session_id)
        assert isinstance(began, _Plan)  # the rules never answer early: there is always work
        for _, cal_uid in began.sessions:
            try:
                await self.calendar.cancel_booking(cal_uid, reason or who.refund_reason)
            except CalendarNotFound:
                pass  # nothing left to cancel there
            except CalendarError as exc:
                await self._abandon(began)
                raise ProviderUnavailable(
                    "The calendar is not answering, so nothing was cancelled. Please retry."
                ) from exc
        if began.refund_cents:
            await self._refund(began, who.refund_reason)
        cancelled = await self._finish(began, who)
        self.on_change()
        log.info(
            "booking_cancelled" if cancelled.session is None else "session_cancelled",
            booking_id=str(began.booking_id),
            refund_cents=began.refund_cents,
        )
        return cancelled

    async def _begin(
        self, who: _Canceller, reason: str | None, session_id: uuid.UUID | None
    ) -> _Plan | Booking:
        # The sessions the change cancels, chosen by `check` under the row lock.
        chosen: list[BookingSession] = []

        async def check(repos: Repos, booking: Booking, now: datetime) -> Booking | None:
            if booking.status == BookingStatus.CANCELLED:
                raise BookingNotSchedulable("This booking is already cancelled.")
            if booking.status == BookingStatus.PENDING:
                raise BookingNotSchedulable(
                    "This booking is not paid, so there is nothing to cancel: it lapses by "
                    "itself when its payment window ends."
                )
            live = await repos.bookings.sessions_of(booking.id)
            if session_id is not None:
                session = await resolve_session(repos, booking, live, session_id)
                assert session is not None  # an id names a session or raises
                chosen.append(session)
            else:
                chosen.extend(live)
                if who.enforce_cutoff and any(s.start_time <= now for s in live):
                    raise BookingNotSchedulable(
                        "A session of this booking has already started, so the whole booking "
                        "can no longer be cancelled. Cancel a single session with sessionId, "
                        "or ask us about a partial refund."
                    )
            if who.enforce_cutoff:
                for session in chosen:
                    check_cutoff(session.start_time, now, self.cancellation_cutoff, "cancelled")
            return None

        async def take(repos: Repos, booking: Booking, now: datetime, lease: datetime) -> _Plan:
            refund_cents = 0
            whole = session_id is None
            if whole and booking.payment_status == PaymentStatus.PAID and booking.amount_cents > 0:
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
                data={
                    "reason": reason,
                    "refundCents": refund_cents,
                    **({"sessionId": str(session_id)} if session_id else {}),
                },
            )
            return _Plan(
                booking_id=booking.id,
                actor=who.actor,
                source=who.source,
                lease=lease,
                sessions=tuple((s.id, s.cal_uid) for s in chosen),
                one_session=not whole,
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

    async def _finish(self, plan: _Plan, who: _Canceller) -> Cancelled:
        async with self.lease_keeper.locked(plan.actor, plan.booking_id) as locked:
            repos, booking, now = locked
            if booking.schedule_lease_until == plan.lease:
                booking.schedule_lease_until = None
            cancelled: list[BookingSession] = []
            for session_id, _ in plan.sessions:
                session = await repos.bookings.session_by_id(booking.id, session_id)
                if session is None or session.state != "booked":
                    continue
                await cancel_session(
                    repos,
                    booking,
                    session,
                    now=now,
                    source=plan.source,
                    cancelled_by=who.cancelled_by,
                    event_type=SESSION_CANCELLED if plan.one_session else CALENDAR_CANCELLED,
                    data={"reason": plan.reason} if plan.one_session else None,
                    status_follows=plan.one_session,
                )
                cancelled.append(session)
            if plan.one_session:
                live = await repos.bookings.sessions_of(booking.id)
                return Cancelled(
                    booking=booking,
                    refund_cents=0,
                    session=cancelled[0] if cancelled else None,
                    sessions_remaining=sessions_remaining(booking, len(live)),
                )
            await repos.claims.remove(await repos.claims.of_booking(booking.id))
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
        return Cancelled(booking=booking, refund_cents=plan.refund_cents)
