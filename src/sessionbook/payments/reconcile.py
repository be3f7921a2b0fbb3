"""Reconciliation: what catches up when a webhook is lost, late or failed.

The sweep re-checks pending bookings, stops the links of lapsed ones and retries stored
events; a status read re-checks one stale booking. Rows are claimed with a stamp (and SKIP
LOCKED on PostgreSQL) before any provider call, so several hosts never do the same work.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

import structlog

from sessionbook.bookings.models import Booking, BookingStatus, PaymentStatus
from sessionbook.bookings.repository import BookingRepository
from sessionbook.core.db import SERVICE, Database
from sessionbook.core.errors import ProviderUnavailable
from sessionbook.payments.airwallex.errors import (
    PaymentNotFound,
    PaymentProviderError,
    PaymentRejected,
)
from sessionbook.payments.airwallex.gateway import PaymentGateway
from sessionbook.payments.confirmation import check_payment, expected_payment
from sessionbook.payments.confirmer import PaymentConfirmer
from sessionbook.payments.repository import PaymentRepository

log = structlog.get_logger(__name__)


class Reconciler:
    """Catches up on payments: applies what it finds through the confirmer, retries events."""

    def __init__(
        self,
        *,
        database: Database,
        gateway: PaymentGateway,
        confirmer: PaymentConfirmer,
        process_stored_event: Callable[[int], Awaitable[str]],
        clock: Callable[[], datetime],
        recheck_after: timedelta,
        read_check_timeout: float,
        webhook_lease: timedelta,
        max_webhook_attempts: int,
    ) -> None:
        self.database = database
        self.gateway = gateway
        self.confirmer = confirmer
        self.process_stored_event = process_stored_event
        self.clock = clock
        self.recheck_after = recheck_after
        self.read_check_timeout = read_check_timeout
        self.webhook_lease = webhook_lease
        self.max_webhook_attempts = max_webhook_attempts

    async def refresh_if_stale(self, booking: Booking) -> Booking:
        """Re-check a pending booking not checked for a while, within a short time limit.

        Never fails the read: on any provider trouble the booking is returned as it was, and
        the sweep keeps trying.
        """
        if booking.status != BookingStatus.PENDING or booking.payment_link_id is None:
            return booking
        now = self.clock()
        stale_before = now - self.recheck_after
        if (booking.payment_checked_at or booking.created_at) >= stale_before:
            return booking
        async with self.database.transaction(SERVICE) as session:
            claimed = await PaymentRepository(session).claim_payment_check(
                booking.id, now=now, stale_before=stale_before
            )
        if not claimed:
            return booking  # another reader is checking it right now
        try:
            async with asyncio.timeout(self.read_check_timeout):
                check = await check_payment(self.gateway, expected_payment(booking))
        except (TimeoutError, PaymentProviderError) as exc:
            log.warning("payment_check_on_read_failed", booking_id=str(booking.id), error=repr(exc))
            return booking
        refreshed = await self.confirmer.apply_check(
            booking.id, check, failure=None, source="status_check"
        )
        return refreshed or booking

    async def reconcile_pending(self, *, batch_size: int) -> int:
        """Confirm pending bookings not checked for a while; how many turned out paid."""
        now = self.clock()
        async with self.database.transaction(SERVICE) as session:
            ids = await PaymentRepository(session).claim_pending_checks(
                now=now, stale_before=now - self.recheck_after, limit=batch_size
            )
        paid = 0
        for booking_id in ids:
            booking = await self.confirmer.confirm_payment(booking_id, source="sweep")
            if booking is not None and booking.payment_status == PaymentStatus.PAID:
                paid += 1
        return paid

    async def deactivate_expired_links(self, *, batch_size: int) -> int:
        """Stop links of unpaid expired or cancelled bookings, once; keep a payment that won.

        A payment found on the last look is applied as usual: honoured on an expired booking,
        refunded automatically on a cancelled one.
        """
        now = self.clock()
        async with self.database.transaction(SERVICE) as session:
            ids = await PaymentRepository(session).claim_links_to_deactivate(
                now=now,
                stale_before=now - self.recheck_after,
                limit=batch_size,
            )
        done = 0
        for booking_id in ids:
            async with self.database.transaction(SERVICE) as session:
                booking = await BookingRepository(session).by_id(booking_id)
            if booking is None or booking.payment_link_id is None:
                continue
            try:
                await self.gateway.deactivate_payment_link(booking.payment_link_id)
                outcome = "deactivated"
            except PaymentNotFound:
                outcome = "unknown_to_provider"
            except PaymentRejected as exc:
                log.warning("payment_link_deactivation_refused", booking_id=str(booking_id))
                outcome = f"refused: {exc.code}"
            # Deactivated first, then looked at: a payment made before that moment is kept.
            check = await check_payment(self.gateway, expected_payment(booking))
            await self.confirmer.apply_check(
                booking_id, check, failure=None, source="sweep", deactivated_outcome=outcome
            )
            done += 1
        return done

    async def retry_webhook_events(self, *, batch_size: int) -> int:
        """Process stored events whose retry time has come, or whose worker vanished."""
        now = self.clock()
        lease = self.webhook_lease
        async with self.database.transaction(SERVICE) as session:
            ids = await PaymentRepository(session).claim_due_events(
                now=now,
                abandoned_before=now - lease,
                lease_until=now + lease,
                max_attempts=self.max_webhook_attempts,
                limit=batch_size,
            )
        handled = 0
        for row_id in ids:
            try:
                await self.process_stored_event(row_id)
            except ProviderUnavailable:
                raise  # Airwallex is down: stop this pass; the rows wait for their next turn
            except Exception:
                log.exception("webhook_retry_failed", webhook_event_row=row_id)
                continue
            handled += 1
        return handled
