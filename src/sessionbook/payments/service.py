"""Payment use cases: take webhooks, confirm payments with Airwallex, reconcile, refund.

Provider calls are made outside transactions that hold row locks; a change is then applied in a
short transaction that locks the booking and re-reads it, so the rules see the latest state.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog

from sessionbook.bookings.models import Booking
from sessionbook.bookings.ports import BookingNews
from sessionbook.core.db import SERVICE, Database, utcnow
from sessionbook.core.errors import ProviderUnavailable, ValidationFailed
from sessionbook.payments import webhook
from sessionbook.payments.airwallex.errors import PaymentNotFound, PaymentProviderUnavailable
from sessionbook.payments.airwallex.gateway import PaymentGateway, PaymentIntent
from sessionbook.payments.confirmation import paid_intent_of
from sessionbook.payments.confirmer import PaymentConfirmer
from sessionbook.payments.reconcile import Reconciler
from sessionbook.payments.refunds import RefundResult, Refunds
from sessionbook.payments.repository import PaymentRepository
from sessionbook.payments.webhook import EventKind, IncomingEvent, PaymentReferences

log = structlog.get_logger(__name__)

# How many unpaid bookings' links an unmatched payment is compared with; past that, the sweep
# finds the payment from each booking's own link.
LINKS_ASKED_PER_UNMATCHED_PAYMENT = 10


@dataclass(frozen=True)
class WebhookReceipt:
    """What became of one delivery: processed, ignored, or a repeat (already handled)."""

    event_id: str
    state: str


@dataclass(frozen=True)
class _Outcome:
    state: str
    booking_id: uuid.UUID | None = None
    note: str | None = None


class PaymentService:
    """Everything payments; rules of what a payment does to a booking live in `settlement`."""

    def __init__(
        self,
        *,
        database: Database,
        gateway: PaymentGateway,
        news: BookingNews,
        webhook_secret: str,
        scheduling_window: timedelta,
        clock: Callable[[], datetime] = utcnow,
        recheck_after: timedelta = timedelta(minutes=1),
        read_check_timeout: float = 2.0,
        webhook_lease: timedelta = timedelta(minutes=2),
        max_webhook_attempts: int = 10,
    ) -> None:
        self.database = database
        self.gateway = gateway
        self.webhook_secret = webhook_secret
        self.scheduling_window = scheduling_window
        self.clock = clock
        self.recheck_after = recheck_after
        self.webhook_lease = webhook_lease
        self.max_webhook_attempts = max_webhook_attempts
        self.refunds = Refunds(database=database, gateway=gateway, clock=clock)
        self.confirmer = PaymentConfirmer(
            database=database,
            gateway=gateway,
            refunds=self.refunds,
            news=news,
            scheduling_window=scheduling_window,
            clock=clock,
        )
        self.reconciler = Reconciler(
            database=database,
            gateway=gateway,
            confirmer=self.confirmer,
            process_stored_event=self.process_stored_event,
            clock=clock,
            recheck_after=recheck_after,
            read_check_timeout=read_check_timeout,
            webhook_lease=webhook_lease,
            max_webhook_attempts=max_webhook_attempts,
        )

    # -- webhooks ------------------------------------------------------------------------

    async def receive_webhook(
        self, raw_body: bytes, *, timestamp: str | None, signature: str | None
    ) -> WebhookReceipt:
        """Verify, store (once per event id), then process the delivery.

        Raises InvalidSignature, ValidationFailed, or ProviderUnavailable when Airwallex could
        not be asked; the event is then kept as failed for the redelivery or the sweep.
        """
        now = self.clock()
        try:
            webhook.verify_delivery(
                self.webhook_secret,
                timestamp,
                signature,
                raw_body,
                now_ms=int(now.timestamp() * 1000),
            )
        except webhook.StaleDelivery:
            await self._recheck_soon(raw_body)
            raise
        event = webhook.parse_event(raw_body)
        async with self.database.transaction(SERVICE) as session:
            repository = PaymentRepository(session)
            await repository.insert_event_if_new(
                provider=webhook.PROVIDER,
                event_id=event.id,
                event_type=event.name,
                payload=event.payload,
                at=now,
            )
            claimed = await repository.claim_delivered_event(
                provider=webhook.PROVIDER,
                event_id=event.id,
                now=now,
                lease_until=now + self.webhook_lease,
            )
        if claimed is None:
            # Processed already, or in another worker's hands right now: either way it is
            # stored, and the sweep finishes it should that worker fail.
            log.info("webhook_repeat", event_id=event.id, event_name=event.name)
            return WebhookReceipt(event.id, "repeat")
        row_id, attempts = claimed
        # The event in hand is the one just stored: no transaction to read it back.
        return WebhookReceipt(event.id, await self._process_claimed(row_id, event, attempts))

    async def _recheck_soon(self, raw_body: bytes) -> None:
        """After an authentic but stale delivery: its booking goes first in the next sweep.

        The delivery itself stays refused and unstored (a replay and a retry signed with its
        first timestamp look alike); the sweep then asks Airwallex, which is the truth anyway.
        Only our database is read here: the booking from the ids we gave Airwallex, or, for
        a payment that names none, every pending booking at its price.
        """
        try:
            event = webhook.parse_event(raw_body)
        except ValidationFailed:
            return
        references = webhook.references(event.name, event.object)
        booking_id = await self._find_booking(references, ask_provider=False)
        async with self.database.transaction(SERVICE) as session:
            repository = PaymentRepository(session)
            if booking_id is not None:
                due = await repository.make_checks_due(booking_ids=[booking_id])
            else:
                due = await repository.make_checks_due(price=webhook.price_of(event.object))
        log.warning(
            "webhook_stale_signature",
            event_id=event.id,
            event_name=event.name,
            bookings_made_due=due,
        )

    async def process_stored_event(self, row_id: int) -> str:
        """Handle a claimed event; its row ends processed, ignored, or failed with a retry time."""
        async with self.database.transaction(SERVICE) as session:
            row = await PaymentRepository(session).event_by_id(row_id)
            assert row is not None
            event = IncomingEvent(row.event_id, row.event_type, dict(row.payload))
            attempts = row.attempts
        return await self._process_claimed(row_id, event, attempts)

    async def _process_claimed(self, row_id: int, event: IncomingEvent, attempts: int) -> str:
        try:
            outcome = await self._handle(event)
        except PaymentProviderUnavailable as exc:
            await self._failed(row_id, event, attempts, f"provider_unavailable: {exc.code}")
            raise ProviderUnavailable() from exc
        except Exception as exc:
            await self._failed(row_id, event, attempts, type(exc).__name__)
            raise
        async with self.database.transaction(SERVICE) as session:
            await PaymentRepository(session).finish_event(
                row_id,
                state=outcome.state,
                booking_id=outcome.booking_id,
                note=outcome.note,
                next_attempt_at=None,
                at=self.clock(),
            )
        log.info(
            "webhook_handled",
            event_id=event.id,
            event_name=event.name,
            state=outcome.state,
            note=outcome.note,
            booking_id=str(outcome.booking_id) if outcome.booking_id else None,
        )
        return outcome.state

    async def _failed(self, row_id: int, event: IncomingEvent, attempts: int, error: str) -> None:
        now = self.clock()
        retry_at: datetime | None = None
        if attempts < self.max_webhook_attempts:
            retry_at = now + min(timedelta(hours=1), timedelta(seconds=30) * 2 ** (attempts - 1))
        else:
            log.error("webhook_given_up", event_id=event.id, event_name=event.name)
        async with self.database.transaction(SERVICE) as session:
            await PaymentRepository(session).finish_event(
                row_id,
                state="failed",
                booking_id=None,
                note=error,
                next_attempt_at=retry_at,
                at=now,
            )
        log.warning("webhook_failed", event_id=event.id, event_name=event.name, error=error)

    async def _handle(self, event: IncomingEvent) -> _Outcome:
        kind = event.kind
        if kind is None:
            return _Outcome("ignored", note="unhandled event type")
        if kind is EventKind.REFUND:
            refund_id = event.object.get("id")
            booking_id = None
            if isinstance(refund_id, str) and refund_id:
                try:
                    booking_id = await self.refunds.follow(refund_id, source="webhook")
                except PaymentNotFound:
                    booking_id = None
            if booking_id is None:
                return _Outcome("ignored", note="unknown refund")
            return _Outcome("processed", booking_id)
        references = webhook.references(event.name, event.object)
        booking_id = await self._find_booking(references)
        if booking_id is None:
            return _Outcome("ignored", note="unknown payment")
        succeeded = kind is EventKind.PAYMENT_SUCCEEDED
        await self.confirm_payment(
            booking_id,
            source="webhook",
            hinted_intent_id=references.intent_id if succeeded else None,
            failure=None if succeeded else event.name,
        )
        return _Outcome("processed", booking_id)

    async def _find_booking(
        self, references: PaymentReferences, *, ask_provider: bool = True
    ) -> uuid.UUID | None:
        """The booking an event is about, from ids we gave Airwallex; never from a token."""
        async with self.database.transaction(SERVICE) as session:
            repository = PaymentRepository(session)
            if references.link_id is not None:
                found = await repository.booking_id_of_link(references.link_id)
                if found is not None:
                    return found
            known = await repository.existing_booking_ids(references.booking_ids)
            if known:
                return known[0]
            if references.intent_id is not None:
                found = await repository.booking_id_of_intent(references.intent_id)
                if found is not None:
                    return found
        if not ask_provider or references.intent_id is None:
            return None
        # A payment attempt names only its intent; the intent names the link and our ids.
        try:
            intent = await self.gateway.get_payment_intent(references.intent_id)
        except PaymentNotFound:
            return None
        from_intent = webhook.references(
            "payment_intent.lookup",
            {
                "id": intent.id,
                "payment_link_id": intent.payment_link_id,
                "merchant_order_id": intent.merchant_order_id,
                "metadata": intent.metadata,
            },
        )
        found = await self._find_booking(from_intent, ask_provider=False)
        if found is None and intent.succeeded:
            found = await self._booking_whose_link_names(intent)
        return found

    async def _booking_whose_link_names(self, intent: PaymentIntent) -> uuid.UUID | None:
        """The booking whose own link reports this intent as its successful payment.

        For an intent that names no link or id of ours: Airwallex documents neither on the
        intents its payment pages make, while the link's record names its payment.
        """
        async with self.database.transaction(SERVICE) as session:
            candidates = await PaymentRepository(session).unpaid_links(
                amount_cents=intent.amount_cents,
                currency=intent.currency,
                limit=LINKS_ASKED_PER_UNMATCHED_PAYMENT,
            )
        for booking_id, link_id in candidates:
            try:
                link = await self.gateway.get_payment_link(link_id)
            except PaymentNotFound:
                continue
            if paid_intent_of(link) == intent.id:
                log.info("payment_matched_by_link", booking_id=str(booking_id), link_id=link_id)
                return booking_id
        return None

    # -- confirming payments -------------------------------------------------------------

    async def confirm_payment(
        self,
        booking_id: uuid.UUID,
        *,
        source: str,
        hinted_intent_id: str | None = None,
        failure: str | None = None,
    ) -> Booking | None:
        """Ask Airwallex whether this booking is paid and apply the answer; None if unknown."""
        return await self.confirmer.confirm_payment(
            booking_id, source=source, hinted_intent_id=hinted_intent_id, failure=failure
        )

    # -- refunds -------------------------------------------------------------------------

    async def refund(
        self, booking_id: uuid.UUID | str, *, amount_cents: int | None, reason: str, source: str
    ) -> RefundResult:
        """Refund a paid booking (all that is left when `amount_cents` is None); idempotent.

        Raises BookingNotFound, ValidationFailed, RefundNotAllowed (nothing or not that much
        left to refund, or Airwallex refused), ProviderUnavailable (recorded; the sweep sends
        it again). The booking then follows Airwallex's refund events.
        """
        return await self.refunds.refund(
            booking_id, amount_cents=amount_cents, reason=reason, source=source
        )

    # -- reconciliation (sweep duties and status reads) ----------------------------------

    async def refresh_if_stale(self, booking: Booking) -> Booking:
        """On a status read: re-check a pending booking not checked for a minute (≤ 2 s)."""
        return await self.reconciler.refresh_if_stale(booking)

    async def reconcile_pending(self, *, batch_size: int = 100) -> int:
        return await self.reconciler.reconcile_pending(batch_size=batch_size)

    async def deactivate_expired_links(self, *, batch_size: int = 100) -> int:
        return await self.reconciler.deactivate_expired_links(batch_size=batch_size)

    async def retry_webhook_events(self, *, batch_size: int = 100) -> int:
        return await self.reconciler.retry_webhook_events(batch_size=batch_size)

    async def follow_refunds(self, *, batch_size: int = 100) -> int:
        return await self.refunds.follow_unsettled(
            recheck_after=self.recheck_after, batch_size=batch_size
        )
