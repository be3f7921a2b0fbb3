"""The insights page's figures for one period, from two read-only ADMIN transactions at once."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sessionbook.admin.insights import (
    UPCOMING_DAYS,
    Insights,
    PackageUsage,
    Period,
    UpcomingSession,
    WeekFigures,
    boundaries,
    funnel,
    heat_map,
    package_money,
    split_money,
    weeks_of,
)
from sessionbook.admin.insights_repository import InsightsRepository
from sessionbook.bookings.models import Booking
from sessionbook.core.db import ADMIN, Database

UPCOMING_LIMIT = 100


@dataclass(frozen=True, slots=True)
class _BookingRows:
    created: dict[int, tuple[int, int, int]]
    paid: list[tuple[int, str, str, int, int]]
    scheduled: dict[int, int]
    cancelled: dict[int, int]
    expired: dict[int, int]
    refunded: list[tuple[int, str, int]]
    refunded_by_package: list[tuple[str, str, int]]
    titles: dict[str, str]


@dataclass(frozen=True, slots=True)
class _SessionRows:
    median_seconds: float | None
    hours: list[tuple[datetime, int]]
    upcoming: tuple[list[UpcomingSession], int]
    usage: list[tuple[str, int, int, int, int, int]]


async def _bookings_side(database: Database, bounds: list[datetime]) -> _BookingRows:
    async with database.transaction(ADMIN) as session:
        repository = InsightsRepository(session)
        return _BookingRows(
            created=await repository.created(bounds),
            paid=await repository.paid(bounds),
            scheduled=await repository.per_week(Booking.scheduled_at, bounds),
            cancelled=await repository.per_week(Booking.cancelled_at, bounds),
            expired=await repository.per_week(Booking.expired_at, bounds),
            refunded=await repository.refunded(bounds),
            refunded_by_package=await repository.refunded_by_package(bounds),
            titles=await repository.package_titles(),
        )


async def _sessions_side(database: Database, bounds: list[datetime], now: datetime) -> _SessionRows:
    async with database.transaction(ADMIN) as session:
        repository = InsightsRepository(session)
        return _SessionRows(
            median_seconds=await repository.median_seconds_to_first_session(bounds),
            hours=await repository.sessions_per_hour(bounds),
            upcoming=await repository.upcoming(
                now, now + timedelta(days=UPCOMING_DAYS), limit=UPCOMING_LIMIT
            ),
            usage=await repository.package_usage(bounds, now),
        )


async def load_insights(
    database: Database, period: Period, *, zone: ZoneInfo, currency: str, now: datetime
) -> Insights:
    """Every figure of the page; money in `currency`, other currencies kept apart."""
    weeks = weeks_of(period, zone)
    bounds = boundaries(weeks)
    figures = [WeekFigures(week) for week in weeks]
    # Two read-only transactions side by side, one over bookings and refunds, one over
    # sessions: PostgreSQL answers them on two cores (SQLite simply takes them in turn).
    booking_rows, session_rows = await asyncio.gather(
        _bookings_side(database, bounds), _sessions_side(database, bounds, now)
    )
    created, paid, titles = booking_rows.created, booking_rows.paid, booking_rows.titles
    scheduled, cancelled = booking_rows.scheduled, booking_rows.cancelled
    expired, refunded = booking_rows.expired, booking_rows.refunded
    refunded_by_package = booking_rows.refunded_by_package
    median_seconds, hours = session_rows.median_seconds, session_rows.hours
    (upcoming, upcoming_total), usage = session_rows.upcoming, session_rows.usage
    for index, (made, _paid, _scheduled) in created.items():
        figures[index].created = made
    for index, _code, _package, count, _cents in paid:
        figures[index].paid += count
    for counts, name in ((scheduled, "scheduled"), (cancelled, "cancelled"), (expired, "expired")):
        for index, count in counts.items():
            setattr(figures[index], name, count)
    others = split_money(
        figures, [(index, code, cents) for index, code, _p, _n, cents in paid], refunded, currency
    )
    packages = package_money(
        [(package, code, cents) for _index, code, package, _n, cents in paid],
        refunded_by_package,
        titles,
    )
    return Insights(
        period=period,
        currency=currency,
        weeks=figures,
        funnel=funnel(
            sum(made for made, _, _ in created.values()),
            sum(paid_since for _, paid_since, _ in created.values()),
            sum(done for _, _, done in created.values()),
        ),
        packages=[money for money in packages if money.currency == currency],
        other_currencies=others,
        median_to_first_session=(
            None if median_seconds is None else timedelta(seconds=round(median_seconds))
        ),
        heat_map=heat_map(hours, zone),
        upcoming=upcoming,
        upcoming_total=upcoming_total,
        usage=[
            PackageUsage(package, titles.get(package, package), *counts)
            for package, *counts in usage
        ],
    )
