"""The booking page's month calendar, built on the server: days, their free times, the bounds.

The page renders this grid without any script (links `?month=&day=` and a form of radio
buttons); the script redraws the same markup from the slots API when the customer pages on.
Names of days and months and clock times come from Babel in the page's locale and the
customer's zone.
"""

from __future__ import annotations

import calendar as stdlib_calendar
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_time

from sessionbook.core.i18n import gettext as _
from sessionbook.core.i18n import ngettext
from sessionbook.scheduling.calcom.calendar import Slot

# How far ahead the calendar lets a customer page: Cal.com offers nothing much further.
MAX_DAYS_AHEAD = 84


def first_weekday(locale: str) -> int:
    """The locale's first day of the week, 0 for Monday to 6 for Sunday (CLDR, via Babel)."""
    return int(Locale.parse(locale).first_week_day)


def parse_month(text: str | None) -> date | None:
    """`YYYY-MM` as the first day of that month, or None when it is not one."""
    if not text or len(text) != 7 or text[4] != "-":
        return None
    try:
        return date(int(text[:4]), int(text[5:]), 1)
    except ValueError:
        return None


def parse_day(text: str | None) -> date | None:
    """`YYYY-MM-DD` as a date, or None when it is not one."""
    if not text or len(text) != 10:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def month_start(day: date) -> date:
    return day.replace(day=1)


def month_end(first: date) -> date:
    return first.replace(day=stdlib_calendar.monthrange(first.year, first.month)[1])


def add_months(first: date, count: int) -> date:
    index = first.year * 12 + first.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def last_bookable_day(today: date, valid_until: datetime | None, zone: ZoneInfo) -> date:
    """The last day a session may start: the package's validity or the far-date limit."""
    last = today + timedelta(days=MAX_DAYS_AHEAD)
    if valid_until is not None:
        # A validity ending at midnight leaves nothing on that day itself.
        last = min(last, (valid_until - timedelta(microseconds=1)).astimezone(zone).date())
    return max(last, today)


def clamp_month(wanted: date | None, today: date, last_day: date) -> date:
    """The month to show: the one asked for, kept between this month and the last bookable."""
    first, last = month_start(today), month_start(last_day)
    if wanted is None:
        return first
    return min(max(wanted, first), last)


@dataclass(frozen=True, slots=True)
class TimeChoice:
    """One free time of the chosen day, as the radio button shows it."""

    start: datetime
    end: datetime
    label: str
    range_label: str
    # It starts inside the cancellation cutoff: once booked it cannot be moved or cancelled.
    inside_cutoff: bool

    @property
    def value(self) -> str:
        """The form's value: the ISO 8601 interval `start/end`, in UTC."""
        return f"{_iso(self.start)}/{_iso(self.end)}"


@dataclass(frozen=True, slots=True)
class DayCell:
    day: date
    in_month: bool
    times: int
    today: bool
    selected: bool
    bookable: bool
    label: str

    @property
    def iso(self) -> str:
        return self.day.isoformat()


@dataclass(frozen=True, slots=True)
class MonthCalendar:
    """A month as weeks of seven days, starting on the locale's first weekday."""

    month: date
    title: str
    weekdays: tuple[tuple[str, str], ...]
    weeks: tuple[tuple[DayCell, ...], ...]
    previous: date | None
    next: date | None
    selected: date | None
    selected_label: str | None
    times: tuple[TimeChoice, ...]
    available_days: int

    @property
    def key(self) -> str:
        return f"{self.month:%Y-%m}"


def build_month(
    month: date,
    slots: Sequence[Slot],
    *,
    zone: ZoneInfo,
    now: datetime,
    last_day: date,
    wanted_day: date | None,
    cutoff: timedelta,
    locale: str,
) -> MonthCalendar:
    """The grid of `month` with `slots` counted per day in `zone`, and the chosen day's times.

    The chosen day is the one asked for when it has free times, else the month's first day
    with free times (so a page without script always shows some times to pick).
    """
    today = now.astimezone(zone).date()
    per_day: dict[date, list[Slot]] = {}
    for slot in slots:
        per_day.setdefault(slot.start.astimezone(zone).date(), []).append(slot)
    open_days = sorted(
        day
        for day in per_day
        if day.year == month.year and day.month == month.month and today <= day <= last_day
    )
    selected = wanted_day if wanted_day in open_days else (open_days[0] if open_days else None)
    weekday_first = first_weekday(locale)
    lead = (month.weekday() - weekday_first) % 7
    start = month - timedelta(days=lead)
    end = month_end(month)
    weeks: list[tuple[DayCell, ...]] = []
    day = start
    while day <= end:
        week = []
        for _offset in range(7):
            week.append(_cell(day, month, per_day, open_days, today, selected, locale))
            day += timedelta(days=1)
        weeks.append(tuple(week))
    days_format = Locale.parse(locale).days["format"]
    order = [(weekday_first + index) % 7 for index in range(7)]
    weekdays = tuple(
        (str(days_format["abbreviated"][index]), str(days_format["wide"][index])) for index in order
    )
    first_month, last_month = month_start(today), month_start(last_day)
    times = (
        tuple(
            _time_choice(slot, zone=zone, now=now, cutoff=cutoff, locale=locale)
            for slot in sorted(per_day.get(selected, []), key=lambda s: s.start)
        )
        if selected
        else ()
    )
    return MonthCalendar(
        month=month,
        title=format_date(month, "LLLL y", locale=locale),
        weekdays=weekdays,
        weeks=tuple(weeks),
        previous=add_months(month, -1) if month > first_month else None,
        next=add_months(month, 1) if month < last_month else None,
        selected=selected,
        selected_label=day_name(selected, locale) if selected else None,
        times=times,
        available_days=len(open_days),
    )


def day_name(day: date, locale: str) -> str:
    """ "Thursday, December 3" / "jeudi 3 décembre": a day as the picker names it.

    The locale's own order for a weekday, day and month, with the weekday written out.
    """
    pattern = Locale.parse(locale).datetime_skeletons["MMMMEd"].pattern
    return str(format_date(day, re.sub("E+", "EEEE", pattern), locale=locale))


def clock(moment: datetime, zone: ZoneInfo, locale: str) -> str:
    """A clock time in the locale's style: "9:00 AM" in English, "09:00" in French."""
    return str(format_time(moment, "short", tzinfo=zone, locale=locale))


def _cell(
    day: date,
    month: date,
    per_day: dict[date, list[Slot]],
    open_days: list[date],
    today: date,
    selected: date | None,
    locale: str,
) -> DayCell:
    in_month = day.month == month.month and day.year == month.year
    bookable = in_month and day in open_days
    count = len(per_day.get(day, ())) if bookable else 0
    name = day_name(day, locale)
    if bookable:
        label = _("%(day)s, %(times)s") % {
            "day": name,
            "times": ngettext("%(num)d time available", "%(num)d times available", count)
            % {"num": count},
        }
    else:
        label = _("%(day)s, no free times") % {"day": name}
    return DayCell(
        day=day,
        in_month=in_month,
        times=count,
        today=day == today,
        selected=day == selected,
        bookable=bookable,
        label=label,
    )


def _time_choice(
    slot: Slot, *, zone: ZoneInfo, now: datetime, cutoff: timedelta, locale: str
) -> TimeChoice:
    start_text = clock(slot.start, zone, locale)
    return TimeChoice(
        start=slot.start,
        end=slot.end,
        label=start_text,
        range_label=f"{start_text}–{clock(slot.end, zone, locale)}",
        inside_cutoff=slot.start < now + cutoff,
    )


def parse_interval(text: str | None) -> tuple[datetime, datetime] | None:
    """A form's `start/end` value back into two aware instants, or None when malformed."""
    if not text or text.count("/") != 1 or len(text) > 80:
        return None
    first, _sep, second = text.partition("/")
    try:
        start = datetime.fromisoformat(first)
        end = datetime.fromisoformat(second)
    except ValueError:
        return None
    if start.tzinfo is None or end.tzinfo is None or end <= start:
        return None
    return start, end


def _iso(moment: datetime) -> str:
    return moment.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%dT%H:%M:%SZ")
