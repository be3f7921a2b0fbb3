"""Concurrency over real HTTP: one Cal.com booking per booking, one booking per slot."""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx

from tests.scheduling.flow import Flow, utc
from tests.support.queries import booking_row, event_types

RACERS = 50


async def test_fifty_simultaneous_requests_make_one_calendar_booking(flow: Flow) -> None:
    created = await flow.create()
    slots = (await flow.free_slots(created))[:10]
    # Different times too: the slot claim alone would stop racers for one time, not for ten.
    bodies = [
        {
            "bookingToken": created["bookingToken"],
            "startTime": slots[i % len(slots)]["start"],
            "endTime": slots[i % len(slots)]["end"],
        }
        for i in range(RACERS)
    ]
    # Separate connections, so the requests really arrive together rather than queue on one.
    limits = httpx.Limits(max_connections=RACERS)
    async with flow.server.client(limits=limits) as http:
        answers = await asyncio.gather(
            *(http.post("/functions/v1/booking-schedule", json=body) for body in bodies)
        )

    outcomes = Counter(
        (a.status_code, a.json().get("error", {}).get("code", "ok")) for a in answers
    )
    assert outcomes == {(200, "ok"): 1, (409, "booking_not_schedulable"): RACERS - 1}, outcomes
    [winner] = [a.json() for a in answers if a.status_code == 200]
    held = await flow.cal_bookings()
    assert [b["uid"] for b in held] == [winner["calUid"]]
    assert held[0]["metadata"] == {
        "booking_id": created["bookingId"],
        "session_id": winner["sessionId"],
    }
    row = await booking_row(flow.db, created["bookingId"])
    assert (row.status, row.cal_uid, row.schedule_lease_until) == (
        "scheduled",
        winner["calUid"],
        None,
    )
    trail = await event_types(flow.db, created["bookingId"])
    assert trail.count("scheduling_started") == 1
    assert trail.count("booking_scheduled") == 1
    assert len(await flow.claims(created["bookingId"])) == 1


async def test_two_bookings_racing_for_one_slot_leave_one(flow: Flow) -> None:
    first = await flow.create()
    second = await flow.create()
    slot = (await flow.free_slots(first))[0]

    answers = await asyncio.gather(flow.schedule(first, slot), flow.schedule(second, slot))

    codes = sorted(a.status_code for a in answers)
    assert codes == [200, 409], [a.text for a in answers]
    loser_answer = next(a for a in answers if a.status_code == 409)
    assert loser_answer.json()["error"]["code"] == "slot_unavailable"
    assert "another time" in loser_answer.json()["error"]["message"]
    winner, loser = (first, second) if answers[0].status_code == 200 else (second, first)
    held = await flow.cal_bookings()
    assert len(held) == 1
    assert held[0]["metadata"]["booking_id"] == winner["bookingId"]
    assert held[0]["metadata"]["session_id"] == (await flow.status(winner))["sessions"][0]["id"]
    assert (await flow.status(winner))["status"] == "scheduled"
    # The loser keeps a usable booking and can take another time at once.
    loser_row = await booking_row(flow.db, loser["bookingId"])
    assert (loser_row.status, loser_row.schedule_lease_until) == ("paid", None)
    assert await flow.claims(loser["bookingId"]) == []
    assert "booking_scheduled" not in await event_types(flow.db, loser["bookingId"])
    other = next(s for s in await flow.free_slots(loser) if s["start"] != slot["start"])
    assert (await flow.schedule(loser, other)).status_code == 200
    assert len(await flow.cal_bookings()) == 2


async def test_a_slot_claimed_by_another_booking_is_not_offered(flow: Flow) -> None:
    holder = await flow.create()
    browser = await flow.create()
    slot = (await flow.free_slots(holder))[0]
    # The holder's request is in flight: claimed here, not yet booked at Cal.com.
    await flow.add_claim(holder["bookingId"], utc(slot["start"]), utc(slot["end"]))
    flow.server.services.scheduling.slot_cache.clear()

    offered = [s["start"] for s in await flow.free_slots(browser)]
    own_view = [s["start"] for s in await flow.free_slots(holder)]

    assert slot["start"] not in offered
    assert slot["start"] in own_view
    answer = await flow.schedule(browser, slot)
    assert answer.status_code == 409
    assert answer.json()["error"]["code"] == "slot_unavailable"
