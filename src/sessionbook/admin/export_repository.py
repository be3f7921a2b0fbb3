"""The exports' SQL: rows of one kind in a time range, read in keyset-paginated batches.

Each batch is its own short read as the ADMIN role, ordered by (range column, id) and
continuing after the last key seen: memory stays one batch whatever the range holds, no
transaction stays open while the download crawls to the browser, and on SQLite no write
lock is ever taken. Every range column is indexed (bookings.created_at, sessions.start_time,
bookings.paid_at, payment_refunds.created_at). The columns read are listed one by one:
`token_hash` is never selected.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, or_, select
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from sessionbook.admin.exports import ExportKind
from sessionbook.bookings.models import Booking, BookingSession
from sessionbook.core.db import ADMIN, Database
from sessionbook.payments.models import PaymentRefund

BATCH_SIZE = 1000

_BOOKING_FIELDS = (
    Booking.id,
    Booking.created_at,
    Booking.status,
    Booking.payment_status,
    Booking.package_id,
    Booking.package_title,
    Booking.customer_name,
    Booking.customer_email,
    Booking.customer_phone,
    Booking.customer_timezone,
    Booking.amount_cents,
    Booking.refunded_cents,
    Booking.currency,
    Booking.sessions_total,
    Booking.sessions_lapsed,
    Booking.sessions_valid_until,
    Booking.paid_at,
    Booking.cancelled_at,
    Booking.expired_at,
    Booking.notes,
)
_SESSION_FIELDS = (
    BookingSession.id,
    BookingSession.booking_id,
    BookingSession.state,
    BookingSession.start_time,
    BookingSession.end_time,
    Booking.customer_name,
    Booking.customer_email,
    Booking.package_title,
    BookingSession.cal_booking_id,
    BookingSession.cal_uid,
    BookingSession.meeting_url,
    BookingSession.created_at,
    BookingSession.cancelled_at,
    BookingSession.cancelled_by,
)
_PAYMENT_FIELDS = (
    Booking.id,
    Booking.paid_at,
    Booking.payment_status,
    Booking.payment_intent_id,
    Booking.payment_link_id,
    Booking.amount_cents,
    Booking.refunded_cents,
    Booking.currency,
    Booking.package_id,
    Booking.customer_name,
    Booking.customer_email,
)
_REFUND_FIELDS = (
    PaymentRefund.id,
    PaymentRefund.booking_id,
    PaymentRefund.created_at,
    PaymentRefund.updated_at,
    PaymentRefund.status,
    PaymentRefund.amount_cents,
    PaymentRefund.currency,
    PaymentRefund.reason,
    PaymentRefund.provider_refund_id,
    PaymentRefund.payment_intent_id,
    Booking.customer_email,
)


def _source(kind: ExportKind) -> tuple[Select[Any], Any, Any]:
    """The kind's query without its range, with the column it is ranged by and its id."""
    if kind is ExportKind.BOOKINGS:
        return select(*_BOOKING_FIELDS), Booking.created_at, Booking.id
    if kind is ExportKind.SESSIONS:
        statement = select(*_SESSION_FIELDS).join(Booking, Booking.id == BookingSession.booking_id)
        return statement, BookingSession.start_time, BookingSession.id
    if kind is ExportKind.PAYMENTS:
        # A free package is "paid" too, but no money moved: not a payment.
        statement = select(*_PAYMENT_FIELDS).where(Booking.amount_cents > 0)
        return statement, Booking.paid_at, Booking.id
    statement = select(*_REFUND_FIELDS).join(Booking, Booking.id == PaymentRefund.booking_id)
    return statement, PaymentRefund.created_at, PaymentRefund.id


def page_query(
    kind: ExportKind,
    start: datetime,
    end: datetime,
    after: tuple[datetime, Any] | None,
    limit: int,
) -> Select[Any]:
    """Rows with the range column in [start, end), after the key `after`, in key order."""
    statement, moment, row_id = _source(kind)
    conditions: list[ColumnElement[bool]] = [moment >= start, moment < end]
    if after is not None:
        last_moment, last_id = after
        conditions.append(or_(moment > last_moment, and_(moment == last_moment, row_id > last_id)))
    return statement.where(*conditions).order_by(moment, row_id).limit(limit)


class ExportReader:
    """Reads an export's rows batch by batch; each batch in a transaction of its own."""

    def __init__(self, database: Database, *, batch_size: int = BATCH_SIZE) -> None:
        self.database = database
        self.batch_size = batch_size

    def _read(self) -> AbstractAsyncContextManager[AsyncSession]:
        if self.database.is_sqlite:
            return self.database.sqlite_read_transaction()
        return self.database.transaction(ADMIN)

    async def batches(
        self, kind: ExportKind, start: datetime, end: datetime
    ) -> AsyncIterator[Sequence[RowMapping]]:
        _statement, moment, row_id = _source(kind)
        after: tuple[datetime, Any] | None = None
        while True:
            query = page_query(kind, start, end, after, self.batch_size)
            async with self._read() as session:
                rows = (await session.execute(query)).mappings().all()
            if not rows:
                return
            yield rows
            if len(rows) < self.batch_size:
                return
            last = rows[-1]
            after = (last[moment.key], last[row_id.key])
