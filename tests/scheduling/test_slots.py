"""Free slots: working hours in the host's zone, DST, taken times, notice and horizon."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sessionbook.scheduling.calcom.client import CalComClient
from tests.scheduling.conftest import DISCOVERY, SINGLE, Sandbox


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def day_range(year: int, month: int, day: int) -> dict[str, datetime]:
    start = utc(year, month, day)
    return {"start": start, "end": start + timedelta(days=1)}


async def test_slots_cover_working_hours_in_the_host_zone(
    sandbox: Sandbox, client: CalComClient
) -> None:
    await sandbox.set_now(utc(2026, 12, 7, 7))  # Monday; London is on GMT (UTC+0)

    slots = await client.get_slots(
        event_type_id=SINGLE, **day_range(2026, 12, 8), time_zone="UTC", duration_minutes=60
    )

    assert [s.start for s in slots] == [utc(2026, 12, 8, hour) for hour in range(9, 17)]
    assert all(s.end - s.start == timedelta(minutes=60) for s in slots)


async def test_thirty_minute_type_steps_every_thirty_minutes(
    sandbox: Sandbox, client: CalComClient
) -> None:
    await sandbox.set_now(utc(2026, 12, 7, 7))

    slots = await client.get_slots(
        event_type_id=DISCOVERY, **day_range(2026, 12, 8), time_zone="UTC", duration_minutes=30
    )

    assert len(slots) == 16
    assert slots[0].start == utc(2026, 12, 8, 9)
    assert slots[-1].start == utc(2026, 12, 8, 16, 30)


async def test_a_taken_time_disappears_for_every_event_type(
    sandbox: Sandbox, client: CalComClient
) -> None:
    await sandbox.set_now(utc(2026, 12, 7, 7))
    await client.create_booking(
        event_type_id=SINGLE,
        start=utc(2026, 12, 8, 10),
        duration_minutes=60,
        attendee_name="Ada Lovelace",
        attendee_email="ada@example.com",
        attendee_time_zone="Europe/London",
        attendee_phone=None,
        notes=None,
        metadata={"booking_id": "b-1"},
    )

    single = await client.get_slots(
        event_type_id=SINGLE, **day_range(2026, 12, 8), time_zone="UTC", duration_minutes=60
    )
    discovery = await client.get_slots(
        event_type_id=DISCOVERY, **day_range(2026, 12, 8), time_zone="UTC", duration_minutes=30
    )

    assert utc(2026, 12, 8, 10) not in {s.start for s in single}
    assert utc(2026, 12, 8, 9) in {s.start for s in single}
    # The coach is one person: the 10:00-11:00 session blocks both overlapping 30-minute slots.
    discovery_starts = {s.start for s in discovery}
    assert utc(2026, 12, 8, 10) not in discovery_starts
    assert utc(2026, 12, 8, 10, 30) not in discovery_starts
    assert utc(2026, 12, 8, 9, 30) in discovery_starts
    assert utc(2026, 12, 8, 11) in discovery_starts


async def test_past_times_and_the_minimum_notice_are_not_offered(
    sandbox: Sandbox, client: CalComClient
) -> None:
    now = utc(2026, 12, 8, 10, 15)
    await sandbox.set_now(now)

    slots = await client.get_slots(
        event_type_id=SINGLE, **day_range(2026, 12, 8), time_zone="UTC", duration_minutes=60
    )

    # 120 minutes of notice: nothing before 12:15, so the first hour-slot is 13:00.
    assert [s.start for s in slots] == [utc(2026, 12, 8, hour) for hour in range(13, 17)]


async def test_weekends_and_times_beyond_the_horizon_are_not_offered(
    sandbox: Sandbox, client: CalComClient
) -> None:
    now = utc(2026, 12, 7, 7)
    await sandbox.set_now(now)

    saturday = await client.get_slots(
        event_type_id=SINGLE, **day_range(2026, 12, 12), time_zone="UTC", duration_minutes=60
    )
    far = now + timedelta(days=122)
    beyond = await client.get_slots(
        event_type_id=SINGLE,
        start=far,
        end=far + timedelta(days=7),
        time_zone="UTC",
        duration_minutes=60,
    )

    assert saturday == []
    assert beyond == []


async def test_london_nine_oclock_moves_in_utc_across_the_october_change(
    sandbox: Sandbox, client: CalComClient
) -> None:
    await sandbox.set_now(utc(2026, 10, 20))

    before = await client.get_slots(
        event_type_id=SINGLE,
        **day_range(2026, 10, 23),
        time_zone="Europe/London",
        duration_minutes=60,
    )
    after = await client.get_slots(
        event_type_id=SINGLE,
        **day_range(2026, 10, 26),
        time_zone="Europe/London",
        duration_minutes=60,
    )

    assert before[0].start == utc(2026, 10, 23, 8)  # 09:00 BST
    assert before[-1].start == utc(2026, 10, 23, 15)  # 16:00 BST
    assert after[0].start == utc(2026, 10, 26, 9)  # 09:00 GMT
    assert after[-1].start == utc(2026, 10, 26, 16)


async def test_new_york_nine_oclock_moves_in_utc_across_the_november_change(
    new_york_sandbox: Sandbox,
) -> None:
    await new_york_sandbox.set_now(utc(2026, 10, 27))
    async with new_york_sandbox.client() as client:
        before = await client.get_slots(
            event_type_id=SINGLE,
            **day_range(2026, 10, 30),
            time_zone="America/New_York",
            duration_minutes=60,
        )
        after = await client.get_slots(
            event_type_id=SINGLE,
            start=utc(2026, 11, 2, 5),
            end=utc(2026, 11, 3, 5),
            time_zone="America/New_York",
            duration_minutes=60,
        )

    assert before[0].start == utc(2026, 10, 30, 13)  # 09:00 EDT
    assert after[0].start == utc(2026, 11, 2, 14)  # 09:00 EST
    assert after[-1].start == utc(2026, 11, 2, 21)  # 16:00 EST


async def test_slot_times_come_in_the_requested_zone_grouped_by_its_days(
    sandbox: Sandbox,
) -> None:
    await sandbox.set_now(utc(2026, 10, 20))
    headers = {"cal-api-version": "2024-09-04"}
    params = {"eventTypeId": str(SINGLE), "start": "2026-10-23", "end": "2026-10-26"}

    london = await sandbox.http.get(
        "/v2/slots", params={**params, "timeZone": "Europe/London"}, headers=headers
    )
    tokyo = await sandbox.http.get(
        "/v2/slots",
        params={**params, "timeZone": "Asia/Tokyo", "format": "range"},
        headers=headers,
    )
    plain = await sandbox.http.get("/v2/slots", params=params, headers=headers)

    assert london.status_code == 200
    assert london.json()["status"] == "success"
    london_days = london.json()["data"]
    assert list(london_days) == ["2026-10-23", "2026-10-26"]
    assert london_days["2026-10-23"][0] == {"start": "2026-10-23T09:00:00.000+01:00"}
    assert london_days["2026-10-26"][0] == {"start": "2026-10-26T09:00:00.000+00:00"}
    # 15:00 BST on Friday is already Saturday 00:00 in Tokyo.
    tokyo_days = tokyo.json()["data"]
    assert tokyo_days["2026-10-24"][0] == {
        "start": "2026-10-24T00:00:00.000+09:00",
        "end": "2026-10-24T01:00:00.000+09:00",
    }
    assert plain.json()["data"]["2026-10-23"][0] == {"start": "2026-10-23T08:00:00.000Z"}


async def test_the_viewer_zone_does_not_change_which_instants_are_free(
    sandbox: Sandbox, client: CalComClient
) -> None:
    await sandbox.set_now(utc(2026, 12, 7, 7))
    window = {"start": utc(2026, 12, 8), "end": utc(2026, 12, 10)}

    in_utc = await client.get_slots(
        event_type_id=SINGLE, **window, time_zone="UTC", duration_minutes=60
    )
    in_tokyo = await client.get_slots(
        event_type_id=SINGLE, **window, time_zone="Asia/Tokyo", duration_minutes=60
    )

    assert in_utc == in_tokyo
    assert len(in_utc) == 16


async def test_the_range_is_half_open(sandbox: Sandbox, client: CalComClient) -> None:
    await sandbox.set_now(utc(2026, 12, 7, 7))

    slots = await client.get_slots(
        event_type_id=SINGLE,
        start=utc(2026, 12, 8, 10),
        end=utc(2026, 12, 8, 12),
        time_zone="UTC",
        duration_minutes=60,
    )

    assert [s.start for s in slots] == [utc(2026, 12, 8, 10), utc(2026, 12, 8, 11)]
