"""The month calendar's rules without a server: weeks, bounds, names per locale, the cutoff."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sessionbook.core.i18n import use_locale
from sessionbook.scheduling.calcom.calendar import Slot
from sessionbook.web.calendar import (
    MAX_DAYS_AHEAD,
    MonthCalendar,
    build_month,
    clamp_month,
    last_bookable_day,
    parse_day,
    parse_interval,
    parse_month,
)

NOW = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)  # a Wednesday
PARIS = ZoneInfo("Europe/Paris")


def slot(day: int, hour: int, month: int = 12) -> Slot:
    start = datetime(2026, month, day, hour, 0, tzinfo=UTC)
    return Slot(start, start + timedelta(hours=1))


def december(
    slots: list[Slot], *, locale: str = "en", wanted: date | None = None, cutoff_hours: int = 24
) -> MonthCalendar:
    return build_month(
        date(2026, 12, 1),
        slots,
        zone=PARIS,
        now=NOW,
        last_day=date(2026, 12, 20),
        wanted_day=wanted,
        cutoff=timedelta(hours=cutoff_hours),
        locale=locale,
    )


def test_weeks_start_on_the_locales_first_weekday() -> None:
    # 1 December 2026 is a Tuesday.
    monday_first = december([], locale="en")
    sunday_first = december([], locale="en_US")

    assert monday_first.weekdays[0] == ("Mon", "Monday")
    assert [cell.day for cell in monday_first.weeks[0]][:2] == [
        date(2026, 11, 30),
        date(2026, 12, 1),
    ]
    assert sunday_first.weekdays[0] == ("Sun", "Sunday")
    assert sunday_first.weeks[0][0].day == date(2026, 11, 29)
    for calendar in (monday_first, sunday_first):
        assert all(len(week) == 7 for week in calendar.weeks)
        in_month = [cell.day for week in calendar.weeks for cell in week if cell.in_month]
        assert in_month == [date(2026, 12, n) for n in range(1, 32)]


def test_names_come_from_the_locale() -> None:
    with use_locale("fr"):
        calendar = december([slot(3, 9), slot(3, 10)], locale="fr")
    assert calendar.title == "décembre 2026"
    assert calendar.weekdays[0] == ("lun.", "lundi")
    third = next(cell for week in calendar.weeks for cell in week if cell.day == date(2026, 12, 3))
    assert third.label == "jeudi 3 décembre, 2 horaires disponibles"
    # Paris is an hour ahead of UTC in winter; French clocks run 0-23.
    assert [time.label for time in calendar.times] == ["10:00", "11:00"]
    english = december([slot(3, 9)])
    assert english.times[0].range_label == "10:00\u202fAM–11:00\u202fAM"
    third = next(cell for week in english.weeks for cell in week if cell.day == date(2026, 12, 3))
    assert third.label == "Thursday, December 3, 1 time available"


def test_only_days_with_times_between_today_and_the_last_day_are_open() -> None:
    calendar = december([slot(1, 9), slot(2, 12), slot(3, 9), slot(3, 15), slot(21, 9)])

    open_days = [cell.day.day for week in calendar.weeks for cell in week if cell.bookable]
    # The 1st is past, the 21st is after the last bookable day.
    assert open_days == [2, 3]
    counts = {cell.day.day: cell.times for week in calendar.weeks for cell in week if cell.bookable}
    assert counts == {2: 1, 3: 2}
    today = [cell.day for week in calendar.weeks for cell in week if cell.today]
    assert today == [date(2026, 12, 2)]
    closed = next(
        cell for week in calendar.weeks for cell in week if cell.day == date(2026, 12, 21)
    )
    assert closed.label.endswith("no free times")
    assert calendar.available_days == 2


def test_the_chosen_day_is_the_wanted_one_with_times_else_the_first() -> None:
    slots = [slot(3, 9), slot(4, 9), slot(4, 10)]

    assert december(slots, wanted=date(2026, 12, 4)).selected == date(2026, 12, 4)
    assert len(december(slots, wanted=date(2026, 12, 4)).times) == 2
    assert december(slots, wanted=date(2026, 12, 6)).selected == date(2026, 12, 3)
    assert december(slots).selected == date(2026, 12, 3)
    assert december([]).selected is None
    assert december([]).times == ()


def test_times_inside_the_cutoff_are_marked() -> None:
    calendar = december([slot(3, 7), slot(3, 8), slot(3, 9)], wanted=date(2026, 12, 3))

    # NOW + 24 h is 3 December 08:00 UTC: the 7:00 start is inside, 8:00 and after are not.
    assert [time.inside_cutoff for time in calendar.times] == [True, False, False]
    assert calendar.times[0].value == "2026-12-03T07:00:00Z/2026-12-03T08:00:00Z"


def test_month_bounds() -> None:
    today = date(2026, 12, 2)
    valid = datetime(2027, 1, 10, tzinfo=UTC)

    assert last_bookable_day(today, None, PARIS) == today + timedelta(days=MAX_DAYS_AHEAD)
    # Midnight in UTC is 1:00 in Paris: the 10th still has an hour.
    assert last_bookable_day(today, valid, PARIS) == date(2027, 1, 10)
    assert last_bookable_day(today, valid, ZoneInfo("UTC")) == date(2027, 1, 9)
    assert last_bookable_day(today, datetime(2026, 1, 1, tzinfo=UTC), PARIS) == today
    last = date(2027, 1, 9)
    assert clamp_month(None, today, last) == date(2026, 12, 1)
    assert clamp_month(date(2020, 1, 1), today, last) == date(2026, 12, 1)
    assert clamp_month(date(2099, 1, 1), today, last) == date(2027, 1, 1)
    assert clamp_month(date(2027, 1, 1), today, last) == date(2027, 1, 1)
    calendar = build_month(
        date(2026, 12, 1),
        [],
        zone=PARIS,
        now=NOW,
        last_day=last,
        wanted_day=None,
        cutoff=timedelta(hours=24),
        locale="en",
    )
    assert calendar.previous is None
    assert calendar.next == date(2027, 1, 1)
    january = build_month(
        date(2027, 1, 1),
        [],
        zone=PARIS,
        now=NOW,
        last_day=last,
        wanted_day=None,
        cutoff=timedelta(hours=24),
        locale="en",
    )
    assert january.previous == date(2026, 12, 1)
    assert january.next is None


def test_form_values_are_parsed_strictly() -> None:
    assert parse_month("2026-12") == date(2026, 12, 1)
    for bad in (None, "", "2026-13", "2026/12", "12-2026", "2026-1", "x" * 7):
        assert parse_month(bad) is None
    assert parse_day("2026-12-03") == date(2026, 12, 3)
    for bad in (None, "2026-02-30", "2026-12-3", "tomorrow"):
        assert parse_day(bad) is None
    start, end = datetime(2026, 12, 3, 9, tzinfo=UTC), datetime(2026, 12, 3, 10, tzinfo=UTC)
    assert parse_interval("2026-12-03T09:00:00Z/2026-12-03T10:00:00Z") == (start, end)
    for bad in (
        None,
        "2026-12-03T09:00:00Z",
        "2026-12-03T09:00:00/2026-12-03T10:00:00",  # no offset
        "2026-12-03T10:00:00Z/2026-12-03T09:00:00Z",  # ends before it starts
        "a/b",
        "2026-12-03T09:00:00Z/2026-12-03T10:00:00Z/x",
        "2026-12-03T09:00:00Z/" + "9" * 80,
    ):
        assert parse_interval(bad) is None
