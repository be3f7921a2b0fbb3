"""Dates at the ends of the calendar: 400 naming the field, and Cal.com's refusal is "no slots"."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sessionbook.core.errors import ValidationFailed
from sessionbook.scheduling.schemas import _zone_names, parse_slots_query
from sessionbook.scheduling.slots import day_window
from tests.scheduling.flow import Flow

SLOTS = "/v2/slots"
# The zones furthest from UTC either way, and one that is UTC.
EXTREME_ZONES = ["Pacific/Kiritimati", "Etc/GMT+12", "America/Los_Angeles", "UTC"]
ALL_ZONES = sorted(_zone_names() | {"UTC"})


@pytest.mark.parametrize("time_zone", EXTREME_ZONES)
@pytest.mark.parametrize(
    ("first", "last", "field"),
    [
        ("9999-12-31", "9999-12-31", "end"),
        ("9999-12-30", "9999-12-31", "end"),
        ("0001-01-01", "0001-01-01", "start"),
        ("0001-01-01", "0001-01-05", "start"),
    ],
)
async def test_days_at_the_ends_of_the_calendar_are_a_validation_error(
    flow: Flow, first: str, last: str, field: str, time_zone: str
) -> None:
    created = await flow.create()

    answer = await flow.slots_response(created["bookingToken"], first, last, time_zone)

    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert error["code"] == "validation_error"
    assert field in error["fields"]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    first=st.dates(),
    span=st.integers(min_value=0, max_value=31),
    zone_name=st.sampled_from(ALL_ZONES),
)
def test_any_accepted_query_has_a_window_with_room_to_spare(
    first: date, span: int, zone_name: str
) -> None:
    """Accepted days convert in their zone, and a day either side still fits datetime."""
    last = date.max if date.max - first < timedelta(days=span) else first + timedelta(days=span)
    try:
        query = parse_slots_query(first.isoformat(), last.isoformat(), zone_name)
    except ValidationFailed as refused:
        named = set(refused.fields or ())
    else:
        named = set()
    if named:
        assert named <= {"start", "end"}
        return
    start, end = day_window(query.first, query.last, ZoneInfo(query.time_zone))
    assert start < end
    assert start - timedelta(days=1) > datetime.min.replace(tzinfo=start.tzinfo)
    assert end + timedelta(days=1) < datetime.max.replace(tzinfo=end.tzinfo)


async def test_a_range_cal_com_refuses_with_400_has_no_slots(flow: Flow) -> None:
    created = await flow.create()
    await flow.cal_fault(path_prefix=SLOTS, method="GET", status=400)

    answer = await flow.slots_response(created["bookingToken"], "9000-01-01", "9000-01-07")

    assert answer.status_code == 200, answer.text
    assert answer.json()["slots"] == []


async def test_scheduling_a_time_cal_com_refuses_to_list_is_slot_unavailable(flow: Flow) -> None:
    created = await flow.create_paid()
    await flow.cal_fault(path_prefix=SLOTS, method="GET", status=400)

    answer = await flow.schedule(
        created, {"start": "9000-01-03T10:00:00Z", "end": "9000-01-03T11:00:00Z"}
    )

    assert answer.status_code == 409, answer.text
    assert answer.json()["error"]["code"] == "slot_unavailable"
    assert await flow.cal_bookings() == []


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("9999-12-31T23:00:00-12:00", "9999-12-31T23:30:00-12:00"),
        ("0001-01-01T00:30:00+14:00", "0001-01-01T01:00:00+14:00"),
    ],
)
async def test_a_picked_time_outside_datetime_in_utc_is_a_validation_error(
    flow: Flow, start: str, end: str
) -> None:
    created = await flow.create_paid()

    answer = await flow.schedule(created, {"start": start, "end": end})

    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert error["code"] == "validation_error"
    assert "startTime" in error["fields"]
