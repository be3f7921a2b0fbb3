"""What a confirmed answer from Airwallex does to a booking: the payment rules, under the row lock.

Callers lock the booking (`BookingRepository.by_id(..., for_update=True)`) in the transaction
they pass in; every change goes through `record_change`, so it comes with its audit row.
"""

from __future__ import annotations

import enum
from datetime import datetime, timedelta

import structlog

from sessionbook.bookings.models import Booking, BookingStatus, PaymentStatus
from sessionbook.bookings.repository import BookingRepository
from sessionbook.bookings.transitions import record_change
from sessionbook.payments.airwallex.gateway import PaymentIntent
from sessionbook.payments.confirmation import CheckOutcome, PaymentCheck
from sessionbook.payments.repository import PaymentRepository

log = structlog.get_logger(__name__)

PAYMENT_CONFIRMED = "payment_confirmed"
PAYMENT_FAILED = "payment_failed"
PAYMENT_MISMATCH = "payment_mismatch"
PAYMENT_DUPLICATE = "payment_duplicate"
PAYMENT_ON_CANCELLED = "payment_on_cancelled_booking"
LINK_DEACTIVATED = "payment_link_deactivated"


class Settled(enum.Enum):
    """What applying a check did."""

    UNCHANGED = "unchanged"
    PAID = "paid"
    FAILED = "failed"
    MISMATCH = "mismatch"
    NEEDS_REFUND = "needs_refund"  # money arrived for a booking that was already cancelled


async def settle(
    bookings: BookingRepository,
    payments: PaymentRepository,
    booking: Booking,
    check: PaymentCheck,
    *,
    failure: str | None,
    source: str,
    now: datetime,
    scheduling_window: timedelta,
) -> Settled:
    """Apply Airwallex's answer to a locked booking.

    `failure` names the failure event that triggered the check, if one did: it turns a still
    pending booking's payment status to failed, but only when Airwallex does not report the
    booking paid, so a late or out-of-order failure never undoes a payment.
    """
    booking.payment_checked_at = now
    if check.outcome is CheckOutcome.PAID:
        assert check.intent is not None
        return await _record_payment(
            bookings, payments, booking, check.intent, source, now, scheduling_window
        )
    if check.outcome is CheckOutcome.MISMATCH:
        assert check.intent is not None
        await _record_mismatch(bookings, payments, booking, check, source, now)
        return Settled.MISMATCH
    if (
        failure is not None
        and booking.status == BookingStatus.PENDING
        and booking.payment_status == PaymentStatus.PENDING
    ):
        await record_change(
            bookings,
            booking,
            event_type=PAYMENT_FAILED,
            source=source,
            now=now,
            payment_status=PaymentStatus.FAILED,
            data={"event": failure},
        )
        log.info("payment_failed", booking_id=str(booking.id), trigger=failure)
        return Settled.FAILED
    return Settled.UNCHANGED


async def _record_payment(
    bookings: BookingRepository,
    payments: PaymentRepository,
    booking: Booking,
    intent: PaymentIntent,
    source: str,
    now: datetime,
    scheduling_window: timedelta,
) -> Settled:
    data = {
        "paymentIntentId": intent.id,
        "amountCents": intent.amount_cents,
        "currency": intent.currency,
    }
    if booking.payment_status in (PaymentStatus.PAID, PaymentStatus.REFUNDED):
        if booking.payment_intent_id == intent.id or booking.amount_cents == 0:
            return Settled.UNCHANGED
        # A second successful payment for one booking: money to give back by hand, once noted.
        seen = await _audited_intents(payments, booking, PAYMENT_DUPLICATE)
        if intent.id not in seen:
            await record_change(
                bookings, booking, event_type=PAYMENT_DUPLICATE, source=source, now=now, data=data
            )
            log.error("payment_duplicate", booking_id=str(booking.id), **data)
        return Settled.UNCHANGED
    booking.payment_intent_id = intent.id
    if booking.status == BookingStatus.CANCELLED:
        booking.paid_at = now
        await record_change(
            bookings,
            booking,
            event_type=PAYMENT_ON_CANCELLED,
            source=source,
            now=now,
            payment_status=PaymentStatus.PAID,
            data=data,
        )
        log.error("payment_on_cancelled_booking", booking_id=str(booking.id), **data)
        return Settled.NEEDS_REFUND
    # An expired booking is honoured: the customer paid, so they may now schedule.
    after_expiry = booking.status == BookingStatus.EXPIRED
    booking.expires_at = now + scheduling_window
    await record_change(
        bookings,
        booking,
        event_type=PAYMENT_CONFIRMED,
        source=source,
        now=now,
        status=BookingStatus.PAID,
        payment_status=PaymentStatus.PAID,
        data={**data, "afterExpiry": after_expiry},
    )
    log.info("payment_confirmed", booking_id=str(booking.id), source=source)
    return Settled.PAID


async def _record_mismatch(
    bookings: BookingRepository,
    payments: PaymentRepository,
    booking: Booking,
    check: PaymentCheck,
    source: str,
    now: datetime,
) -> None:
    assert check.intent is not None
    seen = await _audited_intents(payments, booking, PAYMENT_MISMATCH)
    if check.intent.id in seen:
        return  # already recorded and alerted; the sweep's re-checks must not repeat it
    data = {
        "paymentIntentId": check.intent.id,
        "paidCents": check.intent.amount_cents,
        "paidCurrency": check.intent.currency,
        "expectedCents": booking.amount_cents,
        "expectedCurrency": booking.currency,
    }
    await record_change(
        bookings, booking, event_type=PAYMENT_MISMATCH, source=source, now=now, data=data
    )
    log.error("payment_mismatch", booking_id=str(booking.id), reason=check.reason, **data)


async def _audited_intents(
    payments: PaymentRepository, booking: Booking, event_type: str
) -> set[str]:
    rows = await payments.audit_rows(booking.id, event_type)
    return {str(row.data.get("paymentIntentId")) for row in rows}


async def record_link_deactivated(
    bookings: BookingRepository,
    booking: Booking,
    *,
    outcome: str,
    now: datetime,
) -> bool:
    """Note, once, that the booking's link no longer takes payments; False if noted before.

    `payment_link_deactivated_at` takes the booking out of the sweep's partial index, and its
    audit row says what Airwallex answered.
    """
    if booking.payment_link_deactivated_at is not None:
        return False
    booking.payment_link_deactivated_at = now
    await record_change(
        bookings,
        booking,
        event_type=LINK_DEACTIVATED,
        source="sweep",
        now=now,
        data={"paymentLinkId": booking.payment_link_id, "outcome": outcome},
    )
    return True
