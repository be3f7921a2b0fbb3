"""Confirming a booking's payment with Airwallex and applying the answer under the row lock.

Shared by the webhook handling, the reconciliation and the status read: Airwallex is asked
with no transaction open, then `settlement`'s rules run in a short transaction that locks the
booking, so they see its latest state.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

import structlog

from sessionbook.bookings.models import Booking, BookingStatus, PaymentStatus
from sessionbook.bookings.ports import BookingNews
from sessionbook.bookings.repository import BookingRepository
from sessionbook.core.db import SERVICE, Database
from sessionbook.core.errors import ProviderUnavailable
from sessionbook.payments.airwallex.gateway import PaymentGateway
from sessionbook.payments.confirmation import PaymentCheck, check_payment, expected_payment
from sessionbook.payments.errors import RefundNotAllowed
from sessionbook.payments.refunds import Refunds
from sessionbook.payments.repository import PaymentRepository
from sessionbook.payments.settlement import Settled, record_link_deactivated, settle

log = structlog.get_logger(__name__)


class PaymentConfirmer:
    """Asks Airwallex whether a booking is paid and records what that means for it."""

    def __init__(
        self,
        *,
        database: Database,
        gateway: PaymentGateway,
        refunds: Refunds,
        news: BookingNews,
        scheduling_window: timedelta,
        clock: Callable[[], datetime],
    ) -> None:
        self.database = database
        self.gateway = gateway
        self.refunds = refunds
        self.news = news
        self.scheduling_window = scheduling_window
        self.clock = clock

    async def confirm_payment(
        self,
        booking_id: uuid.UUID,
        *,
        source: str,
        hinted_intent_id: str | None = None,
        failure: str | None = None,
    ) -> Booking | None:
        """Ask Airwallex whether this booking is paid and apply the answer; None if unknown.

        Raises PaymentProviderUnavailable when Airwallex cannot be asked.
        """
        async with self.database.transaction(SERVICE) as session:
            booking = await BookingRepository(session).by_id(booking_id)
        if booking is None or booking.amount_cents == 0:
            return booking
        settled = booking.payment_status in (PaymentStatus.PAID, PaymentStatus.REFUNDED)
        if failure is not None and (settled or booking.status != BookingStatus.PENDING):
            return booking  # a failure can change only a booking still waiting for payment
        if settled and hinted_intent_id == booking.payment_intent_id:
            return booking  # this very payment is already recorded
        check = await check_payment(
            self.gateway, expected_payment(booking), hinted_intent_id=hinted_intent_id
        )
        return await self.apply_check(booking_id, check, failure=failure, source=source)

    async def apply_check(
        self,
        booking_id: uuid.UUID,
        check: PaymentCheck,
        *,
        failure: str | None,
        source: str,
        deactivated_outcome: str | None = None,
    ) -> Booking | None:
        """Apply Airwallex's answer to the booking under its row lock; None if it is gone.

        With `deactivated_outcome`, also note (once) that the booking's link was stopped.
        """
        now = self.clock()
        async with self.database.transaction(SERVICE) as session:
            bookings = BookingRepository(session)
            payments = PaymentRepository(session)
            booking = await bookings.by_id(booking_id, for_update=True)
            if booking is None:
                return None
            result = await settle(
                bookings,
                payments,
                booking,
                check,
                failure=failure,
                source=source,
                now=now,
                scheduling_window=self.scheduling_window,
            )
            if result is Settled.PAID:
                # In the same transaction as the change: the email exists exactly when the
                # payment does.
                await self.news.payment_received(session, booking)
            if deactivated_outcome is not None:
                await record_link_deactivated(
                    bookings, booking, outcome=deactivated_outcome, now=now
                )
        if result is Settled.NEEDS_REFUND:
            await self._refund_unwanted_payment(booking_id)
        return booking

    async def _refund_unwanted_payment(self, booking_id: uuid.UUID) -> None:
        """Give back money paid for a booking already cancelled (it cannot be scheduled)."""
        try:
            await self.refunds.refund(
                booking_id,
                amount_cents=None,
                reason="payment for a cancelled booking",
                source="system",
            )
        except ProviderUnavailable:
            log.warning("automatic_refund_deferred", booking_id=str(booking_id))
        except RefundNotAllowed as exc:
            log.error("automatic_refund_refused", booking_id=str(booking_id), reason=exc.message)
