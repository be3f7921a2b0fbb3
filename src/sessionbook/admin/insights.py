"""The coach's insights as pure figures: weeks in the coach's zone, the funnel, money, medians."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

DEFAULT_WEEKS = 12
MAX_WEEKS = 53
UPCOMING_DAYS = 28
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


class PeriodError(ValueError):
    """A period the page cannot show; the message says why, in words for the coach."""


@dataclass(frozen=True, slots=True)
class Week:
    """One Monday-to-Sunday week in the coach's zone, with its bounds as UTC instants."""

    monday: date
    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class Period:
    """Whole weeks, Monday of the first to Sunday of the last, in the coach's zone."""

    first_day: date
    last_day: date

    @property
    def week_count(self) -> int:
        return (self.last_day - self.first_day).days // 7 + 1


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    """The instant `day` begins in `zone`, in UTC: a DST week is 167 or 169 hours long."""
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def period_between(first: date, last: date) -> Period:
    """The whole weeks that hold `first` through `last`."""
    if last < first:
        raise PeriodError("The period ends before it starts.")
    period = Period(monday_of(first), monday_of(last) + timedelta(days=6))
    if period.week_count > MAX_WEEKS:
        raise PeriodError(f"Choose a period of at most {MAX_WEEKS} weeks.")
    return period


def default_period(now: datetime, zone: ZoneInfo, weeks: int = DEFAULT_WEEKS) -> Period:
    """The last `weeks` weeks, this one included."""
    today = now.astimezone(zone).date()
    return period_between(monday_of(today) - timedelta(weeks=weeks - 1), today)


def parse_period(raw_from: str | None, raw_to: str | None, now: datetime, zone: ZoneInfo) -> Period:
    """`?from=YYYY-MM-DD&to=YYYY-MM-DD`; either missing falls back to the default's bound."""
    fallback = default_period(now, zone)
    first = _day(raw_from, "from") if raw_from else fallback.first_day
    last = _day(raw_to, "to") if raw_to else fallback.last_day
    return period_between(first, last)


def _day(raw: str, name: str) -> date:
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        raise PeriodError(f"“{name}” must be a date written YYYY-MM-DD.") from None


def weeks_of(period: Period, zone: ZoneInfo) -> list[Week]:
    mondays = [period.first_day + timedelta(weeks=index) for index in range(period.week_count)]
    return [
        Week(monday, local_midnight(monday, zone), local_midnight(monday + timedelta(7), zone))
        for monday in mondays
    ]


def boundaries(weeks: Sequence[Week]) -> list[datetime]:
    """The n + 1 instants that cut the period into its n weeks (for bucketing in SQL)."""
    return [week.start for week in weeks] + [weeks[-1].end]


def median(values: Iterable[float]) -> float | None:
    ordered = sorted(values)
    if not ordered:
        return None
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def heat_map(starts_by_hour: Iterable[tuple[datetime, int]], zone: ZoneInfo) -> list[list[int]]:
    """Sessions per weekday (Monday first) and hour of the day, in the coach's zone.

    The database counts per UTC hour; each hour is placed where it begins locally, which is
    exact for every zone whose offset is a whole number of hours.
    """
    grid = [[0] * 24 for _ in WEEKDAYS]
    for hour_start, count in starts_by_hour:
        local = hour_start.astimezone(zone)
        grid[local.weekday()][local.hour] += count
    return grid


@dataclass(slots=True)
class WeekFigures:
    """One week's counts, and its money in the catalog currency (cents)."""

    week: Week
    created: int = 0
    paid: int = 0
    scheduled: int = 0
    cancelled: int = 0
    expired: int = 0
    gross_cents: int = 0
    refunded_cents: int = 0

    @property
    def net_cents(self) -> int:
        return self.gross_cents - self.refunded_cents


@dataclass(frozen=True, slots=True)
class FunnelStep:
    name: str
    count: int
    share_of_created: float | None  # 0..1; None when nothing was created
    drop_off: int  # how many of the step before did not reach this one


def funnel(created: int, paid: int, scheduled: int) -> list[FunnelStep]:
    """Created -> paid -> scheduled over the bookings created in the period."""
    steps: list[FunnelStep] = []
    before = created
    for name, count in (("Created", created), ("Paid", paid), ("Scheduled", scheduled)):
        share = count / created if created else None
        steps.append(FunnelStep(name, count, share, before - count))
        before = count
    return steps


@dataclass(slots=True)
class Money:
    """Gross, refunded and net cents of one currency (and package, where it applies)."""

    currency: str
    label: str = ""
    gross_cents: int = 0
    refunded_cents: int = 0

    @property
    def net_cents(self) -> int:
        return self.gross_cents - self.refunded_cents


@dataclass(frozen=True, slots=True)
class PackageUsage:
    """A package of several sessions, over the bookings paid in the period."""

    package_id: str
    title: str
    bookings: int
    sold: int
    used: int  # started
    booked: int  # still to come
    lapsed: int

    @property
    def unbooked(self) -> int:
        return max(0, self.sold - self.used - self.booked - self.lapsed)


@dataclass(frozen=True, slots=True)
class UpcomingSession:
    booking_id: uuid.UUID
    start: datetime
    end: datetime
    customer_name: str
    package_title: str


@dataclass(slots=True)
class Insights:
    """Everything the insights page shows for one period."""

    period: Period
    currency: str
    weeks: list[WeekFigures]
    funnel: list[FunnelStep]
    packages: list[Money]
    other_currencies: list[Money]
    median_to_first_session: timedelta | None
    heat_map: list[list[int]]
    upcoming: list[UpcomingSession]
    upcoming_total: int
    usage: list[PackageUsage] = field(default_factory=list)

    @property
    def totals(self) -> WeekFigures:
        total = WeekFigures(self.weeks[0].week)
        for figures in self.weeks:
            for name in ("created", "paid", "scheduled", "cancelled", "expired"):
                setattr(total, name, getattr(total, name) + getattr(figures, name))
            total.gross_cents += figures.gross_cents
            total.refunded_cents += figures.refunded_cents
        return total

    @property
    def heat_map_total(self) -> int:
        return sum(sum(row) for row in self.heat_map)


def split_money(
    weeks: list[WeekFigures],
    gross: Iterable[tuple[int, str, int]],
    refunded: Iterable[tuple[int, str, int]],
    currency: str,
) -> list[Money]:
    """Put (week, currency, cents) into the weeks when in `currency`; total the others apart."""
    others: dict[str, Money] = {}
    for week_index, code, cents in gross:
        if code == currency:
            weeks[week_index].gross_cents += cents
        else:
            others.setdefault(code, Money(code)).gross_cents += cents
    for week_index, code, cents in refunded:
        if code == currency:
            weeks[week_index].refunded_cents += cents
        else:
            others.setdefault(code, Money(code)).refunded_cents += cents
    return [others[code] for code in sorted(others)]


def package_money(
    gross: Iterable[tuple[str, str, int]],
    refunded: Iterable[tuple[str, str, int]],
    titles: dict[str, str],
) -> list[Money]:
    """(package, currency, cents) of payments and of refunds as rows, largest net first."""
    rows: dict[tuple[str, str], Money] = {}
    for cents_of, amounts in ((0, gross), (1, refunded)):
        for package_id, code, cents in amounts:
            row = rows.setdefault(
                (package_id, code), Money(code, titles.get(package_id, package_id))
            )
            if cents_of == 0:
                row.gross_cents += cents
            else:
                row.refunded_cents += cents
    return sorted(rows.values(), key=lambda money: (money.currency, -money.net_cents, money.label))
