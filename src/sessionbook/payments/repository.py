"""Every SQL statement of the payment domain: stored webhooks, refunds, payment checks.

Work that several hosts share (sweeps) is claimed with `FOR UPDATE SKIP LOCKED` and a stamp
written in the same transaction, so a second host neither waits nor takes the same rows; on
SQLite, where every transaction holds the write lock, the stamp alone does the same job.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from sessionbook.bookings.models import (
    LINKS_TO_DEACTIVATE,
    Booking,
    BookingEvent,
    BookingStatus,
    PaymentStatus,
    where_rows,
)
from sessionbook.core.db import insert_unless_present
from sessionbook.payments.models import WEBHOOK_OPEN, PaymentRefund, WebhookEvent

UNSETTLED_REFUND_STATES = ("requested", "received", "accepted")
OPEN_PAYMENT_STATES = (PaymentStatus.PENDING.value, PaymentStatus.FAILED.value)


_INSERT_EVENT = insert_unless_present(
    WebhookEvent.__table__,
    ("provider", "event_id", "event_type", "payload", "state", "attempts", "received_at"),
    key=("provider", "event_id"),
)


class PaymentRepository:
    """Reads and writes payment rows inside the caller's transaction; decides nothing."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # -- webhook events ------------------------------------------------------------------

    async def insert_event_if_new(
        self,
        *,
        provider: str,
        event_id: str,
        event_type: str,
        payload: dict[str, Any],
        at: datetime,
    ) -> None:
        """Store a delivery unless its (provider, event id) is already stored.

        ON CONFLICT DO NOTHING on both databases (SQLite spells INSERT OR IGNORE this way too,
        but only for the unique key, so a broken row still fails loudly): two deliveries of
        one event at the same moment leave one row, and neither fails.
        """
        values = {
            "provider": provider,
            "event_id": event_id,
            "event_type": event_type,
            "payload": payload,
            "state": "received",
            "attempts": 0,
            "received_at": at,
        }
        await self.session.execute(_INSERT_EVENT, values)

    async def claim_delivered_event(
        self, *, provider: str, event_id: str, now: datetime, lease_until: datetime
    ) -> tuple[int, int] | None:
        """Take a delivered event for processing, unless it is done or in someone's hands.

        A failed event is taken whatever its retry time: a redelivery is a fresh trigger.
        Returns the row's id and its attempts counted so far (this one included).
        """
        statement = (
            update(WebhookEvent)
            .where(
                WebhookEvent.provider == provider,
                WebhookEvent.event_id == event_id,
                or_(
                    WebhookEvent.state == "failed",
                    and_(
                        WebhookEvent.state == "received",
                        or_(
                            WebhookEvent.next_attempt_at.is_(None),
                            WebhookEvent.next_attempt_at <= now,
                        ),
                    ),
                ),
            )
            .values(
                state="received",
                next_attempt_at=lease_until,
                attempts=WebhookEvent.attempts + 1,
            )
            .returning(WebhookEvent.id, WebhookEvent.attempts)
            .execution_options(synchronize_session=False)
        )
        row = (await self.session.execute(statement)).one_or_none()
        return None if row is None else (row[0], row[1])

    async def claim_due_events(
        self,
        *,
        now: datetime,
        abandoned_before: datetime,
        lease_until: datetime,
        max_attempts: int,
        limit: int,
    ) -> list[int]:
        """Failed events whose retry time has come, and events whose processor vanished."""
        due = (
            select(WebhookEvent.id)
            .where(
                where_rows(WEBHOOK_OPEN),
                WebhookEvent.attempts < max_attempts,
                or_(
                    and_(
                        WebhookEvent.state.in_(("failed", "received")),
                        WebhookEvent.next_attempt_at <= now,
                    ),
                    and_(
                        WebhookEvent.state == "received",
                        WebhookEvent.next_attempt_at.is_(None),
                        WebhookEvent.received_at <= abandoned_before,
                    ),
                ),
            )
            .order_by(WebhookEvent.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        ids = list((await self.session.execute(due)).scalars().all())
        if ids:
            await self.session.execute(
                update(WebhookEvent)
                .where(WebhookEvent.id.in_(ids))
                .values(
                    state="received",
                    next_attempt_at=lease_until,
                    attempts=WebhookEvent.attempts + 1,
                )
            )
        return ids

    async def event_by_id(self, row_id: int) -> WebhookEvent | None:
        return await self.session.get(WebhookEvent, row_id, populate_existing=True)

    async def event_by_key(self, provider: str, event_id: str) -> WebhookEvent | None:
        statement = select(WebhookEvent).where(
            WebhookEvent.provider == provider, WebhookEvent.event_id == event_id
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def finish_event(
        self,
        row_id: int,
        *,
        state: str,
        booking_id: uuid.UUID | None,
        note: str | None,
        next_attempt_at: datetime | None,
        at: datetime,
    ) -> None:
        await self.session.execute(
            update(WebhookEvent)
            .where(WebhookEvent.id == row_id)
            .values(
                state=state,
                booking_id=booking_id,
                last_error=note,
                next_attempt_at=next_attempt_at,
                processed_at=at if state in ("processed", "ignored") else None,
            )
            # No event row is loaded in these sessions: nothing to bring in line, so no
            # evaluator compiled from the WHERE clause on every call.
            .execution_options(synchronize_session=False)
        )

    # -- payment checks on bookings ------------------------------------------------------

    async def claim_payment_check(
        self, booking_id: uuid.UUID, *, now: datetime, stale_before: datetime
    ) -> bool:
        """Stamp a pending booking as being checked, unless it was checked recently.

        A booking never checked counts from its creation, so a fresh one is not checked on
        its first status read. Concurrent readers race on the stamp; one wins.
        """
        last_checked = Booking.payment_checked_at.is_(None) & (Booking.created_at < stale_before)
        statement = (
            update(Booking)
            .where(
                Booking.id == booking_id,
                Booking.status == BookingStatus.PENDING.value,
                Booking.payment_link_id.is_not(None),
                or_(last_checked, Booking.payment_checked_at < stale_before),
            )
            .values(payment_checked_at=now)
            .returning(Booking.id)
        )
        return (await self.session.execute(statement)).scalar_one_or_none() is not None

    async def claim_pending_checks(
        self, *, now: datetime, stale_before: datetime, limit: int
    ) -> list[uuid.UUID]:
        """Pending bookings with a link, unchecked or not checked for a while; stamped now."""
        due = (
            select(Booking.id)
            .where(
                Booking.status == BookingStatus.PENDING.value,
                Booking.payment_link_id.is_not(None),
                or_(
                    Booking.payment_checked_at.is_(None),
                    Booking.payment_checked_at < stale_before,
                ),
            )
            # Never-checked first, newest first: that customer is probably still on the page.
            .order_by(Booking.payment_checked_at.asc().nulls_first(), Booking.created_at.desc())
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return await self._stamp_checked(due, now)

    async def claim_links_to_deactivate(
        self, *, now: datetime, stale_before: datetime, limit: int
    ) -> list[uuid.UUID]:
        """Expired or cancelled unpaid bookings whose link is not deactivated yet; stamped now.

        Read from the partial index of exactly those rows (`payment_link_deactivated_at` is
        set with the deactivation), so a pass costs the same after years of expired bookings.
        """
        due = (
            select(Booking.id)
            .where(
                where_rows(LINKS_TO_DEACTIVATE),
                or_(
                    Booking.payment_checked_at.is_(None),
                    Booking.payment_checked_at < stale_before,
                ),
            )
            .order_by(Booking.expires_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return await self._stamp_checked(due, now)

    async def make_checks_due(
        self,
        *,
        booking_ids: Sequence[uuid.UUID] = (),
        price: tuple[int, str] | None = None,
    ) -> int:
        """Put pending bookings first in line for the next reconciliation; how many.

        Those named, or else (with `price`) every pending one at that amount and currency.
        """
        chosen: ColumnElement[bool]
        if booking_ids:
            chosen = Booking.id.in_(list(booking_ids))
        elif price is not None:
            chosen = and_(Booking.amount_cents == price[0], Booking.currency == price[1])
        else:
            return 0
        statement = (
            update(Booking)
            .where(
                chosen,
                Booking.status == BookingStatus.PENDING.value,
                Booking.payment_link_id.is_not(None),
            )
            .values(payment_checked_at=None)
            .returning(Booking.id)
        )
        return len((await self.session.execute(statement)).scalars().all())

    async def _stamp_checked(self, due: Any, now: datetime) -> list[uuid.UUID]:
        ids = list((await self.session.execute(due)).scalars().all())
        if ids:
            await self.session.execute(
                update(Booking).where(Booking.id.in_(ids)).values(payment_checked_at=now)
            )
        return ids

    async def audit_rows(self, booking_id: uuid.UUID, event_type: str) -> Sequence[BookingEvent]:
        statement = (
            select(BookingEvent)
            .where(BookingEvent.booking_id == booking_id, BookingEvent.event_type == event_type)
            .order_by(BookingEvent.id)
        )
        return (await self.session.execute(statement)).scalars().all()

    # -- refunds -------------------------------------------------------------------------

    async def add_refund(self, refund: PaymentRefund) -> None:
        self.session.add(refund)
        await self.session.flush()

    async def refunds_of(self, booking_id: uuid.UUID) -> Sequence[PaymentRefund]:
        statement = (
            select(PaymentRefund)
            .where(PaymentRefund.booking_id == booking_id)
            .order_by(PaymentRefund.created_at, PaymentRefund.request_id)
            .execution_options(populate_existing=True)
        )
        return (await self.session.execute(statement)).scalars().all()

    async def refund_by_id(self, refund_id: uuid.UUID) -> PaymentRefund | None:
        return await self.session.get(PaymentRefund, refund_id, populate_existing=True)

    async def refund_for_provider(
        self, provider_refund_id: str, request_id: str | None
    ) -> PaymentRefund | None:
        """Our row for an Airwallex refund: by its id, else by the request_id we sent."""
        for condition in (
            PaymentRefund.provider_refund_id == provider_refund_id,
            PaymentRefund.request_id == request_id if request_id else None,
        ):
            if condition is None:
                continue
            statement = (
                select(PaymentRefund).where(condition).execution_options(populate_existing=True)
            )
            found = (await self.session.execute(statement)).scalar_one_or_none()
            if found is not None:
                return found
        return None

    async def claim_unsettled_refunds(
        self, *, now: datetime, stale_before: datetime, limit: int
    ) -> list[uuid.UUID]:
        """Refunds not settled or failed and untouched for a while; stamped now."""
        due = (
            select(PaymentRefund.id)
            .where(
                PaymentRefund.status.in_(UNSETTLED_REFUND_STATES),
                PaymentRefund.updated_at < stale_before,
            )
            .order_by(PaymentRefund.updated_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        ids = list((await self.session.execute(due)).scalars().all())
        if ids:
            await self.session.execute(
                update(PaymentRefund).where(PaymentRefund.id.in_(ids)).values(updated_at=now)
            )
        return ids

    async def booking_id_of_intent(self, payment_intent_id: str) -> uuid.UUID | None:
        statement = select(Booking.id).where(Booking.payment_intent_id == payment_intent_id)
        return (await self.session.execute(statement.limit(1))).scalar_one_or_none()

    async def booking_id_of_link(self, link_id: str) -> uuid.UUID | None:
        statement = select(Booking.id).where(Booking.payment_link_id == link_id)
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def existing_booking_ids(self, candidates: Sequence[uuid.UUID]) -> list[uuid.UUID]:
        if not candidates:
            return []
        statement = select(Booking.id).where(Booking.id.in_(list(candidates)))
        found = set((await self.session.execute(statement)).scalars().all())
        return [candidate for candidate in candidates if candidate in found]

    async def unpaid_links(
        self, *, amount_cents: int, currency: str, limit: int
    ) -> list[tuple[uuid.UUID, str]]:
        """(booking id, link id) of bookings still waiting for money, likeliest first.

        Likeliest means the same price as the payment in question, then the newest.
        """
        different_price = case(
            (and_(Booking.amount_cents == amount_cents, Booking.currency == currency), 0),
            else_=1,
        )
        statement = (
            select(Booking.id, Booking.payment_link_id)
            .where(
                Booking.payment_status.in_(OPEN_PAYMENT_STATES),
                Booking.payment_link_id.is_not(None),
            )
            .order_by(different_price, Booking.created_at.desc())
            .limit(limit)
        )
        rows = (await self.session.execute(statement)).all()
        return [(booking_id, link_id) for booking_id, link_id in rows if link_id is not None]
