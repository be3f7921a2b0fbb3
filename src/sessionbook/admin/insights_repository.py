"""The insights page's SQL: counts and sums per week of the coach, each on an indexed range.

Weeks are cut in Python (their UTC bounds move with daylight saving) and handed to the
database as a CASE over the bounds, so the grouping is exact on SQLite and PostgreSQL alike
and every query reads one indexed time column's range: nothing grows with the whole table.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Float, and_, case, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from sessionbook.admin.insights import UpcomingSession, median
from sessionbook.bookings.models import Booking, BookingSession, SessionState
from sessionbook.catalog.models import Package
from sessionbook.payments.models import PaymentRefund

REFUND_SETTLED = "settled"
# A refund row is final once settled, so its last update is when it settled.
REFUND_SETTLED_AT = PaymentRefund.updated_at


def week_of(
    column: InstrumentedAttribute[datetime | None], bounds: Sequence[datetime]
) -> ColumnElement[Any]:
    """The index of the week `column` falls in, 0..n-1 (rows outside are filtered apart)."""
    return case(*((column < bound, index) for index, bound in enumerate(bounds[1:])))


def _in(
    column: InstrumentedAttribute[datetime | None], bounds: Sequence[datetime]
) -> ColumnElement[bool]:
    return and_(column >= bounds[0], column < bounds[-1])


class InsightsRepository:
    """Read-only aggregates for the insights page; runs in the caller's ADMIN transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @property
    def _postgresql(self) -> bool:
        return self.session.get_bind().dialect.name == "postgresql"

    async def created(self, bounds: Sequence[datetime]) -> dict[int, tuple[int, int, int]]:
        """Per week of creation: (created, since paid, since scheduled) for the funnel."""
        week = week_of(Booking.created_at, bounds)
        statement = (
            select(
                week, func.count(), func.count(Booking.paid_at), func.count(Booking.scheduled_at)
            )
            .where(_in(Booking.created_at, bounds))
            .group_by(week)
        )
        rows = (await self.session.execute(statement)).all()
        return {int(index): (int(made), int(paid), int(done)) for index, made, paid, done in rows}

    async def per_week(
        self, column: InstrumentedAttribute[datetime | None], bounds: Sequence[datetime]
    ) -> dict[int, int]:
        """How many bookings have `column` (scheduled_at, cancelled_at...) in each week."""
        week = week_of(column, bounds)
        statement = select(week, func.count()).where(_in(column, bounds)).group_by(week)
        rows = (await self.session.execute(statement)).all()
        return {int(index): int(count) for index, count in rows}

    async def paid(self, bounds: Sequence[datetime]) -> list[tuple[int, str, str, int, int]]:
        """(week, currency, package, bookings paid, cents) by the week of payment; free ones
        count too. Read from the covering index on paid_at alone.
        """
        week = week_of(Booking.paid_at, bounds)
        statement = (
            select(
                week,
                Booking.currency,
                Booking.package_id,
                func.count(),
                func.sum(Booking.amount_cents),
            )
            .where(_in(Booking.paid_at, bounds))
            .group_by(week, Booking.currency, Booking.package_id)
        )
        rows = (await self.session.execute(statement)).all()
        return [
            (int(index), str(code), str(package), int(count), int(cents or 0))
            for index, code, package, count, cents in rows
        ]

    async def package_titles(self) -> dict[str, str]:
        """The catalog's titles (a handful of rows), to name the packages in the figures."""
        rows = (await self.session.execute(select(Package.id, Package.title))).all()
        return {str(package): str(title) for package, title in rows}

    async def refunded(self, bounds: Sequence[datetime]) -> list[tuple[int, str, int]]:
        """(week, currency, cents) of the refunds that settled in each week."""
        week = week_of(REFUND_SETTLED_AT, bounds)
        statement = (
            select(week, PaymentRefund.currency, func.sum(PaymentRefund.amount_cents))
            .where(PaymentRefund.status == REFUND_SETTLED, _in(REFUND_SETTLED_AT, bounds))
            .group_by(week, PaymentRefund.currency)
        )
        rows = (await self.session.execute(statement)).all()
        return [(int(index), str(code), int(cents or 0)) for index, code, cents in rows]

    async def refunded_by_package(self, bounds: Sequence[datetime]) -> list[tuple[str, str, int]]:
        """(package, currency, cents) of the refunds settled in the period."""
        statement = (
            select(
                Booking.package_id,
                PaymentRefund.currency,
                func.sum(PaymentRefund.amount_cents),
            )
            .join(Booking, Booking.id == PaymentRefund.booking_id)
            .where(PaymentRefund.status == REFUND_SETTLED, _in(REFUND_SETTLED_AT, bounds))
            .group_by(Booking.package_id, PaymentRefund.currency)
        )
        rows = (await self.session.execute(statement)).all()
        return [(str(package), str(code), int(cents or 0)) for package, code, cents in rows]

    async def median_seconds_to_first_session(self, bounds: Sequence[datetime]) -> float | None:
        """Over bookings paid in the period with a live session: paid -> first session start."""
        # A booking paid in the period has every session after its payment, so after the
        # period began: the sessions read are those from then on (an indexed range), not all.
        first_starts = (
            select(
                BookingSession.booking_id.label("booking_id"),
                func.min(BookingSession.start_time).label("first_start"),
            )
            .where(
                BookingSession.state == SessionState.BOOKED,
                BookingSession.start_time >= bounds[0],
            )
            .group_by(BookingSession.booking_id)
            .subquery()
        )
        first = (
            select(Booking.paid_at.label("paid_at"), first_starts.c.first_start)
            .join(first_starts, first_starts.c.booking_id == Booking.id)
            .where(_in(Booking.paid_at, bounds))
            .subquery()
        )
        if self._postgresql:
            seconds = func.extract("epoch", first.c.first_start - first.c.paid_at)
            statement = select(func.percentile_cont(0.5).within_group(cast(seconds, Float)))
            value = (await self.session.execute(statement)).scalar_one_or_none()
            return None if value is None else float(value)
        rows = (await self.session.execute(select(first.c.paid_at, first.c.first_start))).all()
        return median((_aware(start) - _aware(paid)).total_seconds() for paid, start in rows)

    async def sessions_per_hour(self, bounds: Sequence[datetime]) -> list[tuple[datetime, int]]:
        """Live sessions per UTC hour of their start (at most 24 x 7 rows a week)."""
        hour: ColumnElement[object]
        if self._postgresql:
            hour = func.date_trunc("hour", func.timezone("UTC", BookingSession.start_time))
        else:
            hour = func.strftime("%Y-%m-%d %H:00:00", BookingSession.start_time)
        statement = (
            select(hour, func.count())
            .where(
                BookingSession.state == SessionState.BOOKED,
                _in(BookingSession.start_time, bounds),
            )
            .group_by(hour)
        )
        rows = (await self.session.execute(statement)).all()
        return [(_aware(start), int(count)) for start, count in rows]

    async def upcoming(
        self, start: datetime, end: datetime, *, limit: int
    ) -> tuple[list[UpcomingSession], int]:
        """Live sessions starting in [start, end), earliest first, at most `limit`; the count."""
        window = and_(
            BookingSession.state == SessionState.BOOKED,
            BookingSession.start_time >= start,
            BookingSession.start_time < end,
        )
        statement = (
            select(
                Booking.id,
                BookingSession.start_time,
                BookingSession.end_time,
                Booking.customer_name,
                Booking.package_title,
            )
            .join(Booking, Booking.id == BookingSession.booking_id)
            .where(window)
            .order_by(BookingSession.start_time, BookingSession.id)
            .limit(limit)
        )
        rows = (await self.session.execute(statement)).all()
        total = (
            await self.session.execute(
                select(func.count()).select_from(BookingSession).where(window)
            )
        ).scalar_one()
        sessions = [
            UpcomingSession(uuid.UUID(str(booking_id)), begins, ends, str(name), str(title))
            for booking_id, begins, ends, name, title in rows
        ]
        return sessions, int(total)

    async def package_usage(
        self, bounds: Sequence[datetime], now: datetime
    ) -> list[tuple[str, int, int, int, int, int]]:
        """Packages of several sessions paid in the period: (package, bookings, sold,
        used, booked, lapsed) where used sessions have started and booked ones have not.
        """
        several = and_(_in(Booking.paid_at, bounds), Booking.sessions_total > 1)
        sold = (
            select(
                Booking.package_id,
                func.count(),
                func.sum(Booking.sessions_total),
                func.sum(Booking.sessions_lapsed),
            )
            .where(several)
            .group_by(Booking.package_id)
        )
        started = BookingSession.start_time <= now
        taken = (
            select(
                Booking.package_id,
                func.count(case((started, 1))),
                func.count(case((~started, 1))),
            )
            .join(BookingSession, BookingSession.booking_id == Booking.id)
            .where(
                several,
                BookingSession.state == SessionState.BOOKED,
                # Sessions follow the payment: none of these starts before the period does.
                BookingSession.start_time >= bounds[0],
            )
            .group_by(Booking.package_id)
        )
        sessions = {
            str(package): (int(used), int(booked))
            for package, used, booked in (await self.session.execute(taken)).all()
        }
        rows = (await self.session.execute(sold)).all()
        return [
            (
                str(package),
                int(count),
                int(total or 0),
                *sessions.get(str(package), (0, 0)),
                int(lapsed or 0),
            )
            for package, count, total, lapsed in rows
        ]


def _aware(value: object) -> datetime:
    """Aggregates may come back as text or naive (SQLite keeps no zone): aware UTC."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
