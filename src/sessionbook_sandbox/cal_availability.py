"""The Cal.com stand-in's availability: weekly hours in the host's zone turned into UTC slots.

How Cal.com does it, and so how this does it: the host's schedule is wall-clock hours in the
host's time zone; slots start at the beginning of each available window and step by the slot
interval (the event length unless an interval is set) while the whole slot fits; a slot that
overlaps an active booking of the host is not offered; nothing earlier than now + the minimum
booking notice (Cal.com's default is 120 minutes) and nothing beyond the rolling booking window
is offered. Wall-clock hours are converted with zoneinfo per date, so 09:00 in London is 08:00Z
in summer and 09:00Z in winter.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import Enum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WeeklyHours = Mapping[int, Sequence[tuple[time, time]]]
"""Weekday (0 = Monday) to the host's available windows as local wall-clock (start, end)."""

DEFAULT_WEEKLY_HOURS: WeeklyHours = {weekday: ((time(9), time(17)),) for weekday in range(5)}

Interval = tuple[datetime, datetime]


class Refusal(Enum):
    """Why Cal.com would refuse to book a start; each maps to its own Cal.com error message."""

    IN_PAST = "in_past"
    OUT_OF_BOUNDS = "out_of_bounds"
    UNAVAILABLE = "unavailable"


@dataclass(frozen=True, slots=True)
class AvailabilityPolicy:
    """The host's bookable time: schedule, zone, notice, horizon and slot interval."""

    host_zone: ZoneInfo
    weekly_hours: WeeklyHours
    min_notice: timedelta
    horizon: timedelta
    slot_interval_minutes: int | None = None

    def offered_starts(
        self,
        *,
        length_minutes: int,
        window_start: datetime,
        window_end: datetime,
        now: datetime,
        busy: Iterable[Interval],
    ) -> list[datetime]:
        """UTC starts offered for this length with window_start <= start <= window_end."""
        length = timedelta(minutes=length_minutes)
        earliest = max(window_start, now + self.min_notice)
        latest = min(window_end, now + self.horizon)
        if latest < earliest:
            return []
        taken = list(busy)
        return [
            start
            for start in self._schedule_starts(length, earliest, latest)
            if not any(start < end and begin < start + length for begin, end in taken)
        ]

    def refusal(
        self, *, start: datetime, length_minutes: int, now: datetime, busy: Iterable[Interval]
    ) -> Refusal | None:
        """None when `start` can be booked now, else the reason Cal.com would give."""
        if start < now:
            return Refusal.IN_PAST
        if start < now + self.min_notice or start > now + self.horizon:
            return Refusal.OUT_OF_BOUNDS
        offered = self.offered_starts(
            length_minutes=length_minutes, window_start=start, window_end=start, now=now, busy=busy
        )
        return None if offered == [start] else Refusal.UNAVAILABLE

    def _schedule_starts(
        self, length: timedelta, earliest: datetime, latest: datetime
    ) -> list[datetime]:
        step = timedelta(minutes=self.slot_interval_minutes or length // timedelta(minutes=1))
        first_day = earliest.astimezone(self.host_zone).date() - timedelta(days=1)
        last_day = latest.astimezone(self.host_zone).date() + timedelta(days=1)
        starts: list[datetime] = []
        day = first_day
        while day <= last_day:
            for window_open, window_close in self.weekly_hours.get(day.weekday(), ()):
                starts.extend(
                    start
                    for start in self._window_starts(day, window_open, window_close, length, step)
                    if earliest <= start <= latest
                )
            day += timedelta(days=1)
        return sorted(set(starts))

    def _window_starts(
        self, day: date, window_open: time, window_close: time, length: timedelta, step: timedelta
    ) -> Iterable[datetime]:
        local = datetime.combine(day, window_open)
        # A window closing at 00:00 runs to the end of its day.
        close_day = day if window_close > window_open else day + timedelta(days=1)
        close_local = datetime.combine(close_day, window_close)
        close_utc = _local_to_utc(close_local, self.host_zone)
        while local < close_local:
            start = _local_to_utc(local, self.host_zone)
            # A wall-clock time skipped by a spring-forward does not exist: offer nothing there.
            if start is not None and close_utc is not None and start + length <= close_utc:
                yield start
            local += step


def _local_to_utc(local: datetime, zone: ZoneInfo) -> datetime | None:
    aware = local.replace(tzinfo=zone)
    utc = aware.astimezone(UTC)
    if utc.astimezone(zone).replace(tzinfo=None) != local:
        return None
    return utc


def is_valid_time_zone(name: str) -> bool:
    """True for an IANA zone name (what class-validator's IsTimeZone accepts)."""
    if not name or name != name.strip():
        return False
    if name.upper() == "UTC":
        return True
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def zone_of(name: str) -> ZoneInfo:
    return ZoneInfo("UTC" if name.upper() == "UTC" else name)


def format_in_zone(instant: datetime, time_zone: str | None) -> str:
    """An instant as Cal.com's luxon `setZone(tz).toISO()` writes it.

    "2050-09-05T09:00:00.000+02:00"; luxon writes "Z" only for its fixed UTC zone (the names
    "UTC" and "GMT"), so Europe/London in winter is "+00:00". Without a zone: UTC with "Z".
    """
    if time_zone is None or time_zone.upper() in {"UTC", "GMT"}:
        return format_utc(instant)
    local = instant.astimezone(zone_of(time_zone))
    return local.isoformat(timespec="milliseconds")


def format_utc(instant: datetime) -> str:
    """JavaScript's Date.toISOString(): what Cal.com's booking start/end look like."""
    return instant.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def day_key(instant: datetime, time_zone: str | None) -> str:
    """The "YYYY-MM-DD" a slot is grouped under: its date in the requested zone (default UTC)."""
    zone = zone_of(time_zone) if time_zone else UTC
    return instant.astimezone(zone).date().isoformat()


def parse_cal_datetime(value: str) -> datetime | None:
    """An ISO 8601 date or date-time read the way Cal.com reads query times (UTC if no offset)."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)
