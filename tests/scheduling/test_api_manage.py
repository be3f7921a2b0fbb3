"""booking-reschedule and booking-cancel over HTTP: the cutoff, Cal.com, refunds, the sweep."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from sessionbook.core.db import utcnow
from sessionbook.monitoring.sweep import run_sweep
from tests.payments.shop import eventually, in_app_airwallex, make_fast
from tests.scheduling.flow import SINGLE, Flow, utc
from tests.support.queries import booking_row, event_types, set_booking


async def scheduled(flow: Flow, created: dict[str, Any]) -> tuple[dict[str, str], dict[str, Any]]:
    """Schedule two days ahead, outside the 24-hour cutoff; the slot and the answer."""
    slot = (await flow.free_slots(created, from_day=2))[1]
    answer = await flow.schedule(created, slot)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return slot, body


def near(flow: Flow, start: str, hours_before: float) -> None:
    """Our clock only: `hours_before` the session, so the cutoff is tested without waiting."""
    moment = utc(start) - timedelta(hours=hours_before)
    flow.set_our_clock(lambda: moment)


async def test_reschedule_moves_the_calendar_booking(flow: Flow) -> None:
    created = await flow.create()
    old_slot, old = await scheduled(flow, created)
    new_slot = (await flow.free_slots(created, from_day=2))[3]

    answer = await flow.reschedule(created, new_slot)

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["scheduledStart"], body["scheduledEnd"]) == (new_slot["start"], new_slot["end"])
    assert body["calUid"] != old["calUid"]
    assert body["calBookingId"] != old["calBookingId"]
    by_uid = {b["uid"]: b for b in await flow.cal_bookings()}
    assert by_uid[old["calUid"]]["status"] == "cancelled"
    assert by_uid[body["calUid"]]["status"] == "accepted"
    # The moved session keeps its id (and the Cal.com booking carries it).
    assert body["sessionId"] == old["sessionId"]
    assert by_uid[body["calUid"]]["metadata"] == {
        "booking_id": created["bookingId"],
        "session_id": body["sessionId"],
    }
    status = await flow.status(created)
    assert (status["status"], status["scheduledStart"]) == ("scheduled", new_slot["start"])
    assert status["calBookingId"] == body["calBookingId"]
    assert await flow.claims(created["bookingId"]) == [
        (utc(new_slot["start"]), utc(new_slot["end"]))
    ]
    trail = await event_types(flow.db, created["bookingId"])
    assert trail[-2:] == ["scheduling_started", "booking_rescheduled"]
    # The old time is free again for anyone.
    other = await flow.create()
    assert (await flow.schedule(other, old_slot)).status_code == 200


async def test_reschedule_is_refused_inside_the_cutoff_and_before_scheduling(flow: Flow) -> None:
    created = await flow.create()
    unscheduled = await flow.create()
    slot, _ = await scheduled(flow, created)
    new_slot = (await flow.free_slots(created, from_day=2))[3]
    near(flow, slot["start"], hours_before=23)

    inside = await flow.reschedule(created, new_slot)
    not_yet = await flow.reschedule(unscheduled, new_slot)

    assert (inside.status_code, inside.json()["error"]["code"]) == (409, "booking_not_schedulable")
    assert "24 hours" in inside.json()["error"]["message"]
    assert (not_yet.status_code, not_yet.json()["error"]["code"]) == (
        409,
        "booking_not_schedulable",
    )
    assert (await flow.status(created))["scheduledStart"] == slot["start"]
    assert len(await flow.cal_bookings()) == 1


async def test_a_failed_reschedule_keeps_the_session(flow: Flow) -> None:
    created = await flow.create()
    slot, old = await scheduled(flow, created)
    new_slot = (await flow.free_slots(created, from_day=2))[3]
    await flow.cal_fault(path_prefix="/v2/bookings", method="POST", status=503)

    answer = await flow.reschedule(created, new_slot)

    assert answer.status_code == 502
    row = await booking_row(flow.db, created["bookingId"])
    assert (row.status, row.cal_uid, row.schedule_lease_until) == ("scheduled", old["calUid"], None)
    assert await flow.claims(created["bookingId"]) == [(utc(slot["start"]), utc(slot["end"]))]
    assert (await flow.reschedule(created, new_slot)).status_code == 200


async def test_cancel_a_free_session_cancels_it_at_cal(flow: Flow) -> None:
    created = await flow.create()
    _, body = await scheduled(flow, created)

    answer = await flow.cancel(created, reason="Something came up")

    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "success": True,
        "status": "cancelled",
        "paymentStatus": "paid",
        "refundCents": 0,
    }
    [held] = await flow.cal_bookings()
    assert (held["uid"], held["status"]) == (body["calUid"], "cancelled")
    assert held["cancellationReason"] == "Something came up"
    assert (await flow.status(created))["status"] == "cancelled"
    assert await flow.claims(created["bookingId"]) == []
    trail = await event_types(flow.db, created["bookingId"])
    assert trail[-3:] == ["cancellation_started", "calendar_booking_cancelled", "booking_cancelled"]
    again = await flow.cancel(created)
    assert (again.status_code, again.json()["error"]["code"]) == (409, "booking_not_schedulable")


async def test_cancel_inside_the_cutoff_is_refused(flow: Flow) -> None:
    created = await flow.create()
    slot, _ = await scheduled(flow, created)
    near(flow, slot["start"], hours_before=2)

    answer = await flow.cancel(created)

    assert answer.status_code == 409
    assert answer.json()["error"]["code"] == "booking_not_schedulable"
    assert "24 hours before it starts" in answer.json()["error"]["message"]
    assert (await flow.status(created))["status"] == "scheduled"
    assert [b["status"] for b in await flow.cal_bookings()] == ["accepted"]


async def test_cancel_while_cal_is_down_changes_nothing(flow: Flow) -> None:
    created = await flow.create()
    await scheduled(flow, created)
    await flow.cal_fault(path_prefix="/v2/bookings", method="POST", status=503, count=3)

    answer = await flow.cancel(created)

    assert answer.status_code == 502
    row = await booking_row(flow.db, created["bookingId"])
    assert (row.status, row.schedule_lease_until) == ("scheduled", None)
    assert (await event_types(flow.db, created["bookingId"]))[-1] == "cancellation_failed"
    assert (await flow.cancel(created)).status_code == 200


@pytest.mark.parametrize("was_scheduled", [True, False])
async def test_cancel_refunds_a_paid_booking_through_airwallex(
    flow: Flow, was_scheduled: bool
) -> None:
    make_fast(in_app_airwallex(flow.server))
    created = await flow.create(SINGLE)
    await flow.pay(created)
    if was_scheduled:
        await scheduled(flow, created)

    answer = await flow.cancel(created)

    assert answer.status_code == 200, answer.text
    assert answer.json()["refundCents"] == 15000
    settled = await eventually(
        lambda: flow.status(created), lambda seen: seen["paymentStatus"] == "refunded"
    )
    assert settled["status"] == "cancelled"
    row = await booking_row(flow.db, created["bookingId"])
    assert row.refunded_cents == 15000
    trail = await event_types(flow.db, created["bookingId"])
    assert trail.count("refund_requested") == 1
    assert trail.count("refund_settled") == 1
    assert trail.count("booking_cancelled") == 1
    expected = ["cancelled"] if was_scheduled else []
    assert [b["status"] for b in await flow.cal_bookings()] == expected


async def test_unpaid_and_expired_bookings_cannot_be_cancelled(flow: Flow) -> None:
    unpaid = await flow.create(SINGLE)
    expired = await flow.create()
    await set_booking(flow.db, expired["bookingId"], expires_at=utcnow() - timedelta(minutes=1))

    refused = await flow.cancel(unpaid)
    gone = await flow.cancel(expired)

    assert (refused.status_code, refused.json()["error"]["code"]) == (
        409,
        "booking_not_schedulable",
    )
    assert (gone.status_code, gone.json()["error"]["code"]) == (410, "booking_expired")
    assert (await flow.status(unpaid))["status"] == "pending"


async def test_the_sweep_cancels_at_cal_once_what_was_cancelled_elsewhere(flow: Flow) -> None:
    created = await flow.create()
    _, body = await scheduled(flow, created)
    # As a refund's settlement does: the booking is cancelled, Cal.com is not told.
    await set_booking(flow.db, created["bookingId"], status="cancelled", cancelled_at=utcnow())

    async with flow.server.local_services() as services:
        report = await run_sweep(services.sweep_duties)
        again = await run_sweep(services.sweep_duties)

    assert report.counts["calendar_cancelled"] == 1
    assert again.counts["calendar_cancelled"] == 0
    [held] = await flow.cal_bookings()
    assert (held["uid"], held["status"]) == (body["calUid"], "cancelled")
    assert await flow.claims(created["bookingId"]) == []
    trail = await event_types(flow.db, created["bookingId"])
    assert trail.count("calendar_booking_cancelled") == 1
    assert len(await flow.cal_requests("POST", f"/v2/bookings/{body['calUid']}/cancel")) == 1
