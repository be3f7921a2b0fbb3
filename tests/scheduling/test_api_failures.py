"""Cal.com failing in the middle of scheduling: nothing lost, nothing booked twice."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sessionbook.monitoring.sweep import run_sweep
from tests.scheduling.flow import Flow, utc
from tests.support.queries import booking_row, event_types, set_booking

BOOKINGS = "/v2/bookings"


async def _assert_kept_and_free(flow: Flow, created: dict[str, Any]) -> None:
    row = await booking_row(flow.db, created["bookingId"])
    assert (row.status, row.payment_status, row.schedule_lease_until) == ("paid", "paid", None)
    assert row.cal_uid is None
    assert await flow.claims(created["bookingId"]) == []


async def test_an_outage_before_booking_loses_nothing_and_a_retry_books_once(flow: Flow) -> None:
    created = await flow.create_paid()
    slot = (await flow.free_slots(created))[0]
    await flow.cal_fault(path_prefix=BOOKINGS, method="POST", status=503)

    failed = await flow.schedule(created, slot)

    assert failed.status_code == 502
    assert failed.json()["error"]["code"] == "provider_unavailable"
    await _assert_kept_and_free(flow, created)
    assert await flow.cal_bookings() == []
    assert (await event_types(flow.db, created["bookingId"]))[-1] == "scheduling_unconfirmed"

    retried = await flow.schedule(created, slot)

    assert retried.status_code == 200, retried.text
    assert len(await flow.cal_bookings()) == 1
    assert (await booking_row(flow.db, created["bookingId"])).status == "scheduled"


async def test_a_booking_made_behind_a_lost_answer_is_adopted(flow: Flow) -> None:
    created = await flow.create_paid()
    slot = (await flow.free_slots(created))[0]
    # Cal.com books, then its answer is lost on the way back.
    await flow.cal_fault(path_prefix=BOOKINGS, method="POST", status=500, after_success=True)

    answer = await flow.schedule(created, slot)

    assert answer.status_code == 200, answer.text
    [held] = await flow.cal_bookings()
    assert answer.json()["calUid"] == held["uid"]
    assert (await booking_row(flow.db, created["bookingId"])).cal_uid == held["uid"]
    again = await flow.schedule(created, slot)
    assert again.status_code == 409
    assert len(await flow.cal_bookings()) == 1


async def test_when_cal_cannot_even_be_asked_the_next_request_asks_first(flow: Flow) -> None:
    created = await flow.create_paid()
    slot = (await flow.free_slots(created))[0]
    await flow.cal_fault(path_prefix=BOOKINGS, method="POST", status=500, after_success=True)
    await flow.cal_fault(path_prefix=BOOKINGS, method="GET", status=503, count=3)

    in_doubt = await flow.schedule(created, slot)

    assert in_doubt.status_code == 502
    row = await booking_row(flow.db, created["bookingId"])
    assert row.status == "paid"
    assert row.schedule_lease_until is not None
    assert row.schedule_lease_until <= flow.now()  # lapsed at once: a retry may go ahead
    assert len(await flow.claims(created["bookingId"])) == 1  # the slot stays held
    assert (await event_types(flow.db, created["bookingId"]))[-1] == "scheduling_in_doubt"

    retried = await flow.schedule(created, slot)

    # The retry first found the booking Cal.com did make, adopted it, and did not book again.
    assert retried.status_code == 409
    assert "already scheduled" in retried.json()["error"]["message"]
    [held] = await flow.cal_bookings()
    row = await booking_row(flow.db, created["bookingId"])
    assert (row.status, row.cal_uid) == ("scheduled", held["uid"])
    trail = await event_types(flow.db, created["bookingId"])
    assert trail[-1] == "booking_scheduled"


async def test_a_booking_that_landed_late_is_found_before_booking_again(flow: Flow) -> None:
    created = await flow.create_paid()
    first, second = (await flow.free_slots(created))[:2]
    await flow.cal_fault(path_prefix=BOOKINGS, method="POST", status=504)
    assert (await flow.schedule(created, first)).status_code == 502
    # Cal.com finished that first request after we had looked and given up.
    late = await flow.book_at_cal(
        utc(first["start"]),
        name="Ada Lovelace",
        email="ada@example.com",
        metadata={"booking_id": created["bookingId"]},
    )

    answer = await flow.schedule(created, second)

    assert answer.status_code == 409
    assert first["start"] in answer.json()["error"]["message"]
    assert [b["uid"] for b in await flow.cal_bookings()] == [late.uid]
    row = await booking_row(flow.db, created["bookingId"])
    assert (row.status, row.cal_uid) == ("scheduled", late.uid)
    assert await flow.claims(created["bookingId"]) == [(utc(first["start"]), utc(first["end"]))]


async def test_a_slot_taken_after_payment_invites_another_choice(flow: Flow) -> None:
    created = await flow.create_paid()
    taken, other = (await flow.free_slots(created))[:2]
    # Someone else takes the time at Cal.com between our listing and the customer's click.
    await flow.book_at_cal(
        utc(taken["start"]), name="Someone Else", email="else@example.com", metadata={}
    )

    answer = await flow.schedule(created, taken)

    assert answer.status_code == 409
    assert answer.json()["error"]["code"] == "slot_unavailable"
    assert "pick" in answer.json()["error"]["message"].lower()
    await _assert_kept_and_free(flow, created)
    assert (await flow.schedule(created, other)).status_code == 200


async def test_cal_refusing_the_time_at_booking_keeps_the_booking(flow: Flow) -> None:
    created = await flow.create_paid()
    slot = (await flow.free_slots(created))[0]
    await flow.cal_fault(path_prefix=BOOKINGS, method="POST", status=409)

    answer = await flow.schedule(created, slot)

    assert answer.status_code == 409
    assert answer.json()["error"]["code"] == "slot_unavailable"
    await _assert_kept_and_free(flow, created)
    assert (await event_types(flow.db, created["bookingId"]))[-1] == "scheduling_failed"
    assert (await flow.schedule(created, slot)).status_code == 200


async def test_the_sweep_adopts_a_booking_orphaned_by_a_crash(flow: Flow) -> None:
    orphaned = await flow.create_paid()
    abandoned = await flow.create_paid()
    first, second = (await flow.free_slots(orphaned))[:2]
    lapsed = flow.now() - timedelta(minutes=1)
    # Both died after claiming and leasing; only the first had reached Cal.com.
    for created, slot in ((orphaned, first), (abandoned, second)):
        await flow.add_claim(created["bookingId"], utc(slot["start"]), utc(slot["end"]), "single")
        await set_booking(flow.db, created["bookingId"], schedule_lease_until=lapsed)
    made = await flow.book_at_cal(
        utc(first["start"]),
        name="Ada Lovelace",
        email="ada@example.com",
        metadata={"booking_id": orphaned["bookingId"]},
    )

    async with flow.server.local_services() as services:
        report = await run_sweep(services.sweep_duties)
        again = await run_sweep(services.sweep_duties)

    assert report.counts["scheduling_recovered"] == 2
    assert again.counts["scheduling_recovered"] == 0
    row = await booking_row(flow.db, orphaned["bookingId"])
    assert (row.status, row.cal_uid, row.cal_booking_id) == ("scheduled", made.uid, made.id)
    assert (row.scheduled_start, row.schedule_lease_until) == (utc(first["start"]), None)
    assert (await event_types(flow.db, orphaned["bookingId"]))[-1] == "booking_scheduled"
    await _assert_kept_and_free(flow, abandoned)
    assert (await event_types(flow.db, abandoned["bookingId"]))[-1] == "scheduling_released"
    assert len(await flow.cal_bookings()) == 1
    assert (await flow.schedule(abandoned, second)).status_code == 200


async def test_slots_answer_502_while_cal_is_down(flow: Flow) -> None:
    created = await flow.create()
    await flow.cal_fault(path_prefix="/v2/slots", status=503, count=3)
    today = flow.now().date()

    answer = await flow.slots_response(created["bookingToken"], today, today)

    assert answer.status_code == 502
    assert answer.json()["error"]["code"] == "provider_unavailable"
    assert (await flow.status(created))["status"] == "paid"
