"""Refunds: recorded with a fixed request_id before Airwallex hears of them, then followed.

Our choice of when a refund counts: when Airwallex reports it SETTLED (the money went back).
RECEIVED and ACCEPTED only move the refund's own row on; FAILED marks it failed, raises an
alert and frees its amount for another try. A settled refund adds to `refunded_cents`; when
that reaches the amount paid the booking becomes `paymentStatus=refunded`, `status=cancelled`;
a partial one leaves the status alone and is visible in the audit trail.

At most one refund per booking waits unsent (status `requested`); a call while one waits sends
that one again instead of asking for more, so a retry after a crash never refunds twice, and
Airwallex's own request_id check backs that up (`duplicate_request`).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog

from sessionbook.bookings.errors import BookingNotFound
from sessionbook.bookings.models import Booking, BookingStatus, PaymentStatus
from sessionbook.bookings.repository import BookingRepository
from sessionbook.bookings.transitions import record_change
from sessionbook.core.db import SERVICE, Database
from sessionbook.core.errors import ProviderUnavailable, ValidationFailed
from sessionbook.payments.airwallex.errors import (
    PaymentNotFound,
    PaymentProviderError,
    PaymentProviderUnavailable,
)
from sessionbook.payments.airwallex.gateway import PaymentGateway, Refund
from sessionbook.payments.errors import RefundNotAllowed
from sessionbook.payments.models import PaymentRefund
from sessionbook.payments.repository import PaymentRepository

log = structlog.get_logger(__name__)

REFUND_REQUESTED = "refund_requested"
REFUND_SETTLED = "refund_settled"
REFUND_FAILED = "refund_failed"
_PROGRESS = {"requested": 0, "received": 1, "accepted": 2, "settled": 3, "failed": 3}
_MAX_REASON = 255  # payment_refunds.reason
_MAX_SOURCE = 32  # booking_events.source


@dataclass(frozen=True)
class RefundResult:
    """Where a refund stands; `created` is False when an earlier request was reused."""

    booking_id: uuid.UUID
    request_id: str
    provider_refund_id: str | None
    amount_cents: int
    currency: str
    status: str
    created: bool

    @classmethod
    def of(cls, row: PaymentRefund, *, created: bool) -> RefundResult:
        return cls(
            booking_id=row.booking_id,
            request_id=row.request_id,
            provider_refund_id=row.provider_refund_id,
            amount_cents=row.amount_cents,
            currency=row.currency,
            status=row.status,
            created=created,
        )


class Refunds:
    """Asks Airwallex for refunds and applies what it reports about them."""

    def __init__(
        self, *, database: Database, gateway: PaymentGateway, clock: Callable[[], datetime]
    ) -> None:
        self.database = database
        self.gateway = gateway
        self.clock = clock

    async def refund(
        self, booking_id: uuid.UUID | str, *, amount_cents: int | None, reason: str, source: str
    ) -> RefundResult:
        """Refund `amount_cents` (None: everything still refundable) of a paid booking."""
        booking_uuid = _booking_uuid(booking_id)
        reason = reason.strip()
        if not reason or len(reason) > _MAX_REASON:
            raise ValidationFailed(fields={"reason": f"must be 1-{_MAX_REASON} characters"})
        if not source or len(source) > _MAX_SOURCE:
            raise ValidationFailed(fields={"source": f"must be 1-{_MAX_SOURCE} characters"})
        if amount_cents is not None and (isinstance(amount_cents, bool) or amount_cents <= 0):
            raise ValidationFailed(fields={"amountCents": "must be a positive number of cents"})
        async with self.database.transaction(SERVICE) as session:
            bookings = BookingRepository(session)
            payments = PaymentRepository(session)
            booking = await bookings.by_id(booking_uuid, for_update=True)
            if booking is None:
                raise BookingNotFound("No booking has this id.")
            earlier = await payments.refunds_of(booking.id)
            waiting = next((row for row in earlier if row.status == "requested"), None)
            if waiting is not None:
                row_id, created = waiting.id, False
            else:
                outcome = await self._new_request(
                    bookings, payments, booking, earlier, amount_cents, reason, source
                )
                if isinstance(outcome, RefundResult):
                    return outcome
                row_id, created = outcome, True
        return RefundResult.of(await self.submit(row_id, source=source), created=created)

    async def _new_request(
        self,
        bookings: BookingRepository,
        payments: PaymentRepository,
        booking: Booking,
        earlier: Sequence[PaymentRefund],
        amount_cents: int | None,
        reason: str,
        source: str,
    ) -> uuid.UUID | RefundResult:
        counted = [row for row in earlier if row.status != "failed"]
        remaining = booking.amount_cents - sum(row.amount_cents for row in counted)
        paid = booking.payment_status == PaymentStatus.PAID and booking.payment_intent_id
        if not paid or remaining <= 0:
            if amount_cents is None and counted:
                # "Refund everything" again: already done or under way, so report that one.
                return RefundResult.of(counted[-1], created=False)
            raise RefundNotAllowed(
                "This booking has no payment left to refund."
                if paid or counted
                else "This booking has no payment to refund."
            )
        chosen = remaining if amount_cents is None else amount_cents
        if chosen > remaining:
            raise RefundNotAllowed(f"At most {remaining} cents of this booking can be refunded.")
        now = self.clock()
        assert booking.payment_intent_id is not None
        row = PaymentRefund(
            id=uuid.uuid4(),
            booking_id=booking.id,
            # Deterministic: the n-th refund of a booking always carries the same request_id.
            request_id=f"refund-{booking.id}-{len(earlier) + 1}",
            payment_intent_id=booking.payment_intent_id,
            amount_cents=chosen,
            currency=booking.currency,
            reason=reason,
            status="requested",
            created_at=now,
            updated_at=now,
        )
        await payments.add_refund(row)
        await record_change(
            bookings,
            booking,
            event_type=REFUND_REQUESTED,
            source=source,
            now=now,
            data={"requestId": row.request_id, "amountCents": chosen, "reason": reason},
        )
        log.info("refund_requested", booking_id=str(booking.id), amount_cents=chosen)
        return row.id

    async def submit(self, refund_id: uuid.UUID, *, source: str) -> PaymentRefund:
        """Send a recorded refund to Airwallex (again); safe to repeat, same request_id."""
        async with self.database.transaction(SERVICE) as session:
            row = await PaymentRepository(session).refund_by_id(refund_id)
            assert row is not None
        if row.status != "requested":
            return row  # someone else's attempt got through already
        try:
            answer = await self.gateway.create_refund(
                payment_intent_id=row.payment_intent_id,
                amount_cents=row.amount_cents,
                currency=row.currency,
                request_id=row.request_id,
                reason=row.reason,
            )
        except PaymentProviderUnavailable as exc:
            log.warning("refund_not_sent", booking_id=str(row.booking_id), provider_code=exc.code)
            raise ProviderUnavailable(
                "Airwallex is not answering. The refund is recorded and will be sent again."
            ) from exc
        except PaymentProviderError as exc:
            await self._refused(row.booking_id, row.id, exc, source)
            raise RefundNotAllowed(f"Airwallex refused the refund: {exc.message}") from exc
        applied = await self.record(answer, booking_id=row.booking_id, source=source)
        return applied or row

    async def follow(self, provider_refund_id: str, *, source: str) -> uuid.UUID | None:
        """Fetch a refund's true state and apply it; None when it is no booking of ours."""
        answer = await self.gateway.get_refund(provider_refund_id)
        async with self.database.transaction(SERVICE) as session:
            payments = PaymentRepository(session)
            row = await payments.refund_for_provider(answer.id, answer.request_id)
            booking_id = (
                row.booking_id
                if row is not None
                else await payments.booking_id_of_intent(answer.payment_intent_id)
            )
        if booking_id is None:
            return None
        await self.record(answer, booking_id=booking_id, source=source)
        return booking_id

    async def record(
        self, answer: Refund, *, booking_id: uuid.UUID, source: str
    ) -> PaymentRefund | None:
        """Apply Airwallex's view of one refund to its row and its (locked) booking."""
        now = self.clock()
        async with self.database.transaction(SERVICE) as session:
            bookings = BookingRepository(session)
            payments = PaymentRepository(session)
            booking = await bookings.by_id(booking_id, for_update=True)
            if booking is None:
                return None
            row = await payments.refund_for_provider(answer.id, answer.request_id)
            if row is None:
                # Made outside this service (e.g. in Airwallex's dashboard): adopt it.
                row = PaymentRefund(
                    id=uuid.uuid4(),
                    booking_id=booking.id,
                    request_id=answer.request_id or f"airwallex-{answer.id}",
                    provider_refund_id=answer.id,
                    payment_intent_id=answer.payment_intent_id,
                    amount_cents=answer.amount_cents,
                    currency=answer.currency,
                    reason="made outside sessionbook",
                    status="requested",
                    created_at=now,
                    updated_at=now,
                )
                await payments.add_refund(row)
                await record_change(
                    bookings,
                    booking,
                    event_type=REFUND_REQUESTED,
                    source="airwallex",
                    now=now,
                    data={"refundId": answer.id, "amountCents": answer.amount_cents},
                )
            await _apply(bookings, booking, row, answer, source=source, now=now)
            return row

    async def _refused(
        self, booking_id: uuid.UUID, refund_id: uuid.UUID, exc: PaymentProviderError, source: str
    ) -> None:
        now = self.clock()
        async with self.database.transaction(SERVICE) as session:
            bookings = BookingRepository(session)
            booking = await bookings.by_id(booking_id, for_update=True)
            row = await PaymentRepository(session).refund_by_id(refund_id)
            assert booking is not None
            assert row is not None
            if row.status != "requested":
                return
            row.status = "failed"
            row.updated_at = now
            await record_change(
                bookings,
                booking,
                event_type=REFUND_FAILED,
                source=source,
                now=now,
                data={"requestId": row.request_id, "providerCode": exc.code},
            )
        log.error("refund_refused", booking_id=str(booking_id), provider_code=exc.code)

    async def follow_unsettled(self, *, recheck_after: timedelta, batch_size: int) -> int:
        """Send refunds that never reached Airwallex, and poll those not settled yet."""
        now = self.clock()
        async with self.database.transaction(SERVICE) as session:
            ids = await PaymentRepository(session).claim_unsettled_refunds(
                now=now, stale_before=now - recheck_after, limit=batch_size
            )
        followed = 0
        for refund_id in ids:
            async with self.database.transaction(SERVICE) as session:
                row = await PaymentRepository(session).refund_by_id(refund_id)
            if row is None:
                continue
            try:
                if row.status == "requested":
                    await self.submit(row.id, source="sweep")
                elif row.provider_refund_id is not None:
                    await self.follow(row.provider_refund_id, source="sweep")
            except RefundNotAllowed:
                pass  # recorded as failed, with its alert
            except PaymentNotFound:
                # Airwallex does not know it (wrong account or environment): say so, go on.
                log.error("refund_unknown_to_provider", refund_row=str(refund_id))
                continue
            followed += 1
        return followed


async def _apply(
    bookings: BookingRepository,
    booking: Booking,
    row: PaymentRefund,
    answer: Refund,
    *,
    source: str,
    now: datetime,
) -> None:
    status = answer.status.lower()
    if row.provider_refund_id is None:
        row.provider_refund_id = answer.id
        row.updated_at = now
    if status not in _PROGRESS:
        log.warning("refund_status_unknown", refund_id=answer.id, status=answer.status)
        return
    # Terminal states stay put and nothing moves backwards, whatever order events come in.
    if row.status in ("settled", "failed") or _PROGRESS[status] <= _PROGRESS[row.status]:
        return
    row.status = status
    row.updated_at = now
    data = {"requestId": row.request_id, "refundId": answer.id, "amountCents": row.amount_cents}
    if status == "settled":
        booking.refunded_cents = min(
            booking.amount_cents, booking.refunded_cents + row.amount_cents
        )
        full = booking.refunded_cents >= booking.amount_cents
        await record_change(
            bookings,
            booking,
            event_type=REFUND_SETTLED,
            source=source,
            now=now,
            status=BookingStatus.CANCELLED if full else None,
            payment_status=PaymentStatus.REFUNDED if full else None,
            data={**data, "refundedCents": booking.refunded_cents, "full": full},
        )
        log.info("refund_settled", booking_id=str(booking.id), full=full)
    elif status == "failed":
        await record_change(
            bookings, booking, event_type=REFUND_FAILED, source=source, now=now, data=data
        )
        log.error("refund_failed", booking_id=str(booking.id), refund_id=answer.id)


def _booking_uuid(booking_id: uuid.UUID | str) -> uuid.UUID:
    if isinstance(booking_id, uuid.UUID):
        return booking_id
    try:
        return uuid.UUID(str(booking_id).strip())
    except ValueError:
        raise BookingNotFound("No booking has this id.") from None
