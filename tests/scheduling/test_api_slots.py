"""booking-slots over HTTP: the customer's days, daylight saving, checks, cache and claims."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from sessionbook.scheduling.slots import day_window
from tests.scheduling.flow import SINGLE, Flow, utc
from tests.support.queries import set_booking


def at(year: int, month: int, day: int, hour: int = 0) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


async def starts(flow: Flow, token: str, day: str, time_zone: str) -> list[datetime]:
    answer = await flow.slots_response(token, day, day, time_zone)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["timezone"] == time_zone
    return [utc(slot["start"]) for slot in body["slots"]]


async def asked_range(flow: Flow) -> tuple[str, str]:
    """The start and end our server last sent to Cal.com's GET /v2/slots."""
    query = (await flow.cal_requests("GET", "/v2/slots"))[-1]["query"]
    params = dict(part.split("=", 1) for part in query.split("&"))
    return params["start"].replace("%3A", ":"), params["end"].replace("%3A", ":")


async def test_london_days_either_side_of_the_clocks_going_back(flow: Flow) -> None:
    await flow.set_now(at(2026, 10, 20, 12))
    created = await flow.create()  # discovery: 30 minutes, the coach works 09:00-18:00 London
    token = created["bookingToken"]

    summer = await starts(flow, token, "2026-10-24", "Europe/London")
    change = await starts(flow, token, "2026-10-25", "Europe/London")
    change_range = await asked_range(flow)
    winter = await starts(flow, token, "2026-10-26", "Europe/London")

    # 09:00 in London is 08:00Z on British Summer Time and 09:00Z on GMT.
    assert (summer[0], summer[-1]) == (at(2026, 10, 24, 8), at(2026, 10, 24, 16) + _half)
    assert (change[0], winter[0]) == (at(2026, 10, 25, 9), at(2026, 10, 26, 9))
    assert len(summer) == len(change) == len(winter) == 18
    # The 25-hour day runs from 23:00Z the evening before to the next midnight UTC.
    assert change_range == ("2026-10-24T23:00:00.000Z", "2026-10-25T23:59:59.000Z")


_half = timedelta(minutes=30)


async def test_new_york_days_either_side_of_the_clocks_going_back(flow: Flow) -> None:
    await flow.set_now(at(2026, 10, 27, 12))
    created = await flow.create()
    token = created["bookingToken"]

    before = await starts(flow, token, "2026-10-31", "America/New_York")
    before_range = await asked_range(flow)
    change = await starts(flow, token, "2026-11-01", "America/New_York")
    change_range = await asked_range(flow)
    after = await starts(flow, token, "2026-11-02", "America/New_York")
    after_range = await asked_range(flow)

    # Midnight in New York is 04:00Z on daylight time and 05:00Z on standard time.
    assert before_range == ("2026-10-31T04:00:00.000Z", "2026-11-01T03:59:59.000Z")
    assert change_range == ("2026-11-01T04:00:00.000Z", "2026-11-02T04:59:59.000Z")
    assert after_range == ("2026-11-02T05:00:00.000Z", "2026-11-03T04:59:59.000Z")
    # London's 09:00 stays 09:00Z: 05:00 in New York before the change, 04:00 after.
    ny = ZoneInfo("America/New_York")
    assert before[0] == at(2026, 10, 31, 9)
    assert after[0] == at(2026, 11, 2, 9)
    assert (before[0].astimezone(ny).hour, after[0].astimezone(ny).hour) == (5, 4)
    assert all(s.astimezone(ny).date() == date(2026, 11, 1) for s in change)


def test_day_windows_follow_each_dates_offset() -> None:
    london = ZoneInfo("Europe/London")
    assert day_window(date(2026, 3, 29), date(2026, 3, 29), london) == (
        at(2026, 3, 29),
        at(2026, 3, 29, 23),
    )
    assert day_window(date(2026, 10, 24), date(2026, 10, 26), london) == (
        at(2026, 10, 23, 23),
        at(2026, 10, 27),
    )


async def test_past_times_are_never_offered(flow: Flow) -> None:
    await flow.set_now(at(2026, 10, 20, 12))
    # Our clock runs a little ahead of the stand-in's: its notice no longer hides the past.
    flow.set_our_clock(lambda: at(2026, 10, 21, 12))
    created = await flow.create()

    today = await starts(flow, created["bookingToken"], "2026-10-21", "UTC")
    yesterday = await starts(flow, created["bookingToken"], "2026-10-20", "UTC")

    assert today
    assert all(start > at(2026, 10, 21, 12) for start in today)
    assert yesterday == []


async def test_the_answer_is_cached_for_a_moment(flow: Flow) -> None:
    created = await flow.create()
    day = (flow.now() + timedelta(days=2)).date()

    for _ in range(3):
        answer = await flow.slots_response(created["bookingToken"], day, day)
        assert answer.status_code == 200

    assert len(await flow.cal_requests("GET", "/v2/slots")) == 1


async def test_pending_bookings_may_browse_but_cancelled_and_expired_may_not(flow: Flow) -> None:
    pending = await flow.create(SINGLE)
    cancelled = await flow.create()
    expired = await flow.create()
    await set_booking(flow.db, cancelled["bookingId"], status="cancelled")
    await set_booking(flow.db, expired["bookingId"], expires_at=flow.now() - timedelta(hours=1))
    day = (flow.now() + timedelta(days=1)).date()

    assert (await flow.slots_response(pending["bookingToken"], day, day)).status_code == 200
    refused = await flow.slots_response(cancelled["bookingToken"], day, day)
    gone = await flow.slots_response(expired["bookingToken"], day, day)

    assert (refused.status_code, refused.json()["error"]["code"]) == (
        409,
        "booking_not_schedulable",
    )
    assert (gone.status_code, gone.json()["error"]["code"]) == (410, "booking_expired")


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"end": "2026-12-01"}, "start"),
        ({"start": "2026-12-01"}, "end"),
        ({"start": "2026-13-01", "end": "2026-12-01"}, "start"),
        ({"start": "20261201", "end": "2026-12-01"}, "start"),
        ({"start": "2026-12-01T00:00", "end": "2026-12-01"}, "start"),
        ({"start": "2026-12-02", "end": "2026-12-01"}, "end"),
        ({"start": "2026-12-01", "end": "2027-01-01"}, "end"),
        ({"start": "2026-12-01", "end": "2026-12-01", "timezone": "Mars/Olympus"}, "timezone"),
        ({"start": "2026-12-01", "end": "2026-12-01", "timezone": ""}, "timezone"),
    ],
)
async def test_query_is_checked_field_by_field(
    flow: Flow, params: dict[str, str], field: str
) -> None:
    created = await flow.create()

    answer = await flow.http.get(
        "/functions/v1/booking-slots",
        params=params,
        headers={"X-Booking-Token": created["bookingToken"]},
    )

    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["code"] == "validation_error"
    assert field in error["fields"]
    assert await flow.cal_requests("GET", "/v2/slots") == []


async def test_thirty_one_days_are_allowed_and_tokens_are_checked(flow: Flow) -> None:
    created = await flow.create()
    first = flow.now().date()

    month = await flow.slots_response(created["bookingToken"], first, first + timedelta(days=30))
    missing = await flow.http.get(
        "/functions/v1/booking-slots", params={"start": str(first), "end": str(first)}
    )
    unknown = await flow.slots_response("A" * 43, first, first)

    assert month.status_code == 200
    assert {slot["start"][:10] for slot in month.json()["slots"]} >= {
        str(first + timedelta(days=29))
    }
    assert (missing.status_code, missing.json()["error"]["fields"]) == (
        400,
        {"token": "is required"},
    )
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "booking_not_found")
    by_query = await flow.http.get(
        "/functions/v1/booking-slots",
        params={"token": created["bookingToken"], "start": str(first), "end": str(first)},
    )
    assert by_query.status_code == 200
