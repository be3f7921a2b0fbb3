"""Several sessions in one booking over real HTTP: booking, limits, races, moving and cancelling."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from itertools import pairwise
from typing import Any

import httpx

from sessionbook.core.db import SERVICE, utcnow
from tests.scheduling.flow import FREE, Flow, utc
from tests.support.queries import booking_row, event_types, set_booking

MONTHLY = {**FREE, "packageId": "monthly"}
RACERS = 20


async def paid_monthly(flow: Flow) -> dict[str, Any]:
    """A 4-session monthly booking, paid now (valid 31 days from now)."""
    created = await flow.create_paid(MONTHLY)
    await set_booking(
        flow.db, created["bookingId"], sessions_valid_until=utcnow() + timedelta(days=31)
    )
    return created


def half_past(slot: dict[str, str]) -> dict[str, str]:
    """A time half an hour into `slot`: overlapping it."""
    shift = timedelta(minutes=30)
    return {
        "start": (utc(slot["start"]) + shift).isoformat(),
        "end": (utc(slot["end"]) + shift).isoformat(),
    }


def apart(slots: list[dict[str, str]], count: int) -> list[dict[str, str]]:
    """`count` offered slots no two of which overlap."""
    chosen: list[dict[str, str]] = []
    for slot in slots:
        if all(utc(slot["start"]) >= utc(c["end"]) for c in chosen):
            chosen.append(slot)
        if len(chosen) == count:
            return chosen
    raise AssertionError(f"only {len(chosen)} separate slots offered")


async def test_a_monthly_booking_books_four_sessions_and_then_no_more(flow: Flow) -> None:
    created = await paid_monthly(flow)
    slots = apart(await flow.free_slots(created), 5)

    answers = [await flow.schedule(created, slot) for slot in slots[:4]]

    assert [a.status_code for a in answers] == [200] * 4, [a.text for a in answers]
    assert [a.json()["sessionsRemaining"] for a in answers] == [3, 2, 1, 0]
    status = await flow.status(created)
    assert (status["status"], status["sessionsTotal"], status["sessionsRemaining"]) == (
        "scheduled",
        4,
        0,
    )
    assert [s["id"] for s in status["sessions"]] == [a.json()["sessionId"] for a in answers]
    assert status["scheduledStart"] == answers[0].json()["scheduledStart"]
    assert status["calBookingId"] == answers[0].json()["calBookingId"]
    held = await flow.cal_bookings()
    assert sorted(b["metadata"]["session_id"] for b in held) == sorted(
        a.json()["sessionId"] for a in answers
    )
    fifth = await flow.schedule(created, slots[4])
    assert (fifth.status_code, fifth.json()["error"]["code"]) == (409, "booking_not_schedulable")
    assert len(await flow.cal_bookings()) == 4


async def test_four_sessions_from_one_link_then_one_moved_and_one_cancelled(flow: Flow) -> None:
    """The issue's journey: book all four, move one, cancel another and get its credit back."""
    created = await paid_monthly(flow)
    *booked_at, spare = apart(await flow.free_slots(created, from_day=2), 5)
    ids = []
    for slot in booked_at:
        answer = await flow.schedule(created, slot)
        assert answer.status_code == 200, answer.text
        ids.append(answer.json()["sessionId"])
    token = created["bookingToken"]

    moved = await flow.http.post(
        "/functions/v1/booking-reschedule",
        json={
            "bookingToken": token,
            "sessionId": ids[1],
            "startTime": spare["start"],
            "endTime": spare["end"],
        },
    )
    cancelled = await flow.http.post(
        "/functions/v1/booking-cancel", json={"bookingToken": token, "sessionId": ids[2]}
    )

    assert moved.status_code == 200, moved.text
    assert cancelled.status_code == 200, cancelled.text
    assert (cancelled.json()["refundCents"], cancelled.json()["sessionsRemaining"]) == (0, 1)
    status = await flow.status(created)
    assert (status["status"], status["paymentStatus"], status["sessionsRemaining"]) == (
        "paid",
        "paid",
        1,
    )
    starts = {s["id"]: utc(s["start"]) for s in status["sessions"]}
    assert set(starts) == {ids[0], ids[1], ids[3]}
    assert starts[ids[1]] == utc(spare["start"])
    ours = [
        b
        for b in await flow.cal_bookings()
        if b["metadata"].get("booking_id") == created["bookingId"] and b["status"] != "cancelled"
    ]
    assert sorted(b["metadata"]["session_id"] for b in ours) == sorted([ids[0], ids[1], ids[3]])


async def test_status_counts_sessions_before_any_is_booked(flow: Flow) -> None:
    created = await paid_monthly(flow)

    status = await flow.status(created)

    assert (status["status"], status["sessionsTotal"], status["sessionsRemaining"]) == (
        "paid",
        4,
        4,
    )
    assert status["sessions"] == []
    assert status["scheduledStart"] is None
    assert status["sessionsValidUntil"] is not None


async def test_sessions_may_not_overlap_nor_start_after_the_validity(flow: Flow) -> None:
    created = await paid_monthly(flow)
    slots = await flow.free_slots(created)
    first = slots[0]
    assert (await flow.schedule(created, first)).status_code == 200
    overlapping = half_past(first)
    # The booking's own sessions are not offered again, nor times overlapping them.
    offered = {s["start"] for s in await flow.free_slots(created)}
    assert first["start"] not in offered

    clash = await flow.schedule(created, overlapping)

    assert (clash.status_code, clash.json()["error"]["code"]) == (409, "slot_unavailable")
    await set_booking(flow.db, created["bookingId"], sessions_valid_until=utc(slots[-1]["start"]))
    late = await flow.schedule(created, slots[-1])
    assert (late.status_code, late.json()["error"]["code"]) == (409, "slot_unavailable")
    assert slots[-1]["start"] not in {s["start"] for s in await flow.free_slots(created)}
    assert len(await flow.cal_bookings()) == 1


async def test_two_racing_requests_for_overlapping_times_leave_one_session(flow: Flow) -> None:
    created = await paid_monthly(flow)
    slots = await flow.free_slots(created)
    first = slots[0]
    overlapping = half_past(first)
    await flow.cal_fault(path_prefix="/v2/bookings", method="POST", delay_seconds=0.4, count=10)

    answers = await asyncio.gather(
        flow.schedule(created, first), flow.schedule(created, overlapping)
    )

    assert sorted(a.status_code for a in answers) == [200, 409], [a.text for a in answers]
    status = await flow.status(created)
    assert len(status["sessions"]) == 1
    assert len(await flow.cal_bookings()) == 1


async def _schedule_until_none_left(
    http: httpx.AsyncClient, created: dict[str, Any], slot: dict[str, str]
) -> httpx.Response:
    """One racer: asks for its slot, again while another request holds the booking."""
    for _ in range(200):
        answer = await http.post(
            "/functions/v1/booking-schedule",
            json={
                "bookingToken": created["bookingToken"],
                "startTime": slot["start"],
                "endTime": slot["end"],
            },
        )
        if answer.status_code != 409 or "being scheduled" not in answer.json()["error"]["message"]:
            return answer
        await asyncio.sleep(0.02)
    raise AssertionError("the booking stayed busy")


async def test_twenty_racers_on_a_slow_calendar_make_at_most_four_sessions(flow: Flow) -> None:
    created = await paid_monthly(flow)
    slots = apart(await flow.free_slots(created, days=20), RACERS)
    # Cal.com answers each booking call slowly, so the racers really overlap in the window
    # between the check and the recording of a session.
    await flow.cal_fault(path_prefix="/v2/bookings", method="POST", delay_seconds=0.4, count=100)
    limits = httpx.Limits(max_connections=RACERS)
    async with flow.server.client(limits=limits) as http:
        answers = await asyncio.gather(
            *(_schedule_until_none_left(http, created, slot) for slot in slots)
        )

    won = [a.json() for a in answers if a.status_code == 200]
    lost = [a for a in answers if a.status_code != 200]
    assert len(won) <= 4
    assert all(a.status_code == 409 for a in lost), [a.text for a in lost]
    status = await flow.status(created)
    assert status["sessionsRemaining"] == 0
    assert len(status["sessions"]) == len(won) == 4
    held = [b for b in await flow.cal_bookings() if b["status"] == "accepted"]
    assert len(held) == len(status["sessions"])
    times = sorted((utc(s["start"]), utc(s["end"])) for s in status["sessions"])
    assert all(end <= later for (_, end), (later, _) in pairwise(times))


async def test_reschedule_and_cancel_name_a_session_when_there_are_several(flow: Flow) -> None:
    created = await paid_monthly(flow)
    first, second, third, fourth = apart(await flow.free_slots(created, from_day=2), 4)
    one = (await flow.schedule(created, first)).json()
    assert (await flow.schedule(created, second)).status_code == 200
    token = created["bookingToken"]

    unnamed = await flow.reschedule(created, third)
    assert unnamed.status_code == 400
    assert "sessionId" in unnamed.json()["error"]["fields"]
    unknown = await flow.http.post(
        "/functions/v1/booking-cancel", json={"bookingToken": token, "sessionId": str(uuid.uuid4())}
    )
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "session_not_found")
    other = await paid_monthly(flow)
    theirs = (await flow.schedule(other, third)).json()
    foreign = await flow.http.post(
        "/functions/v1/booking-cancel",
        json={"bookingToken": token, "sessionId": theirs["sessionId"]},
    )
    assert (foreign.status_code, foreign.json()["error"]["code"]) == (404, "session_not_found")

    moved = await flow.http.post(
        "/functions/v1/booking-reschedule",
        json={
            "bookingToken": token,
            "sessionId": one["sessionId"],
            "startTime": fourth["start"],
            "endTime": fourth["end"],
        },
    )
    assert moved.status_code == 200, moved.text
    assert utc(moved.json()["scheduledStart"]) == utc(fourth["start"])
    cancelled = await flow.http.post(
        "/functions/v1/booking-cancel", json={"bookingToken": token, "sessionId": one["sessionId"]}
    )
    assert cancelled.status_code == 200, cancelled.text
    body = cancelled.json()
    assert (body["status"], body["refundCents"], body["sessionsRemaining"]) == ("paid", 0, 3)
    status = await flow.status(created)
    assert (status["status"], status["sessionsRemaining"], len(status["sessions"])) == (
        "paid",
        3,
        1,
    )
    trail = await event_types(flow.db, created["bookingId"])
    assert trail[-1] == "session_cancelled"


async def test_whole_booking_cancel_refused_once_a_session_has_started(flow: Flow) -> None:
    created = await paid_monthly(flow)
    slot = (await flow.free_slots(created, from_day=2))[0]
    assert (await flow.schedule(created, slot)).status_code == 200
    row = await booking_row(flow.db, created["bookingId"])
    assert row.session is not None
    await set_booking(flow.db, created["bookingId"], amount_cents=0)
    started = utcnow() - timedelta(minutes=5)
    async with flow.db.transaction(SERVICE) as session:
        stored = await session.get(type(row.session), row.session.id)
        assert stored is not None
        stored.start_time, stored.end_time = started, started + timedelta(hours=1)

    answer = await flow.cancel(created)

    assert (answer.status_code, answer.json()["error"]["code"]) == (409, "booking_not_schedulable")
    assert "already started" in answer.json()["error"]["message"]
    assert (await flow.status(created))["status"] == "paid"


async def test_unbooked_sessions_lapse_at_the_validity(flow: Flow) -> None:
    created = await paid_monthly(flow)
    slot = (await flow.free_slots(created))[0]
    assert (await flow.schedule(created, slot)).status_code == 200
    empty = await paid_monthly(flow)
    past = utcnow() - timedelta(minutes=1)
    for booking in (created, empty):
        await set_booking(flow.db, booking["bookingId"], sessions_valid_until=past)

    async with flow.server.local_services() as services:
        lapsed = await services.bookings.lapse_due()
        again = await services.bookings.lapse_due()

    assert (lapsed, again) == (2, 0)
    kept = await flow.status(created)
    assert (kept["status"], kept["sessionsRemaining"], len(kept["sessions"])) == ("scheduled", 0, 1)
    gone = await flow.status(empty)
    assert (gone["status"], gone["sessionsRemaining"]) == ("expired", 0)
    trail = await event_types(flow.db, created["bookingId"])
    assert trail.count("sessions_lapsed") == 1


async def test_a_full_batch_with_nothing_left_to_lapse_ends_the_sweep(flow: Flow) -> None:
    """A paid booking past its validity with no session left (all lapsed already) stays due
    until something else moves it; the sweep must not loop over it forever."""
    created = await paid_monthly(flow)
    past = utcnow() - timedelta(minutes=1)
    await set_booking(flow.db, created["bookingId"], sessions_valid_until=past, sessions_lapsed=4)

    async with flow.server.local_services() as services:
        lapsed = await asyncio.wait_for(services.bookings.lapse_due(batch_size=1), timeout=20)

    assert lapsed == 0
