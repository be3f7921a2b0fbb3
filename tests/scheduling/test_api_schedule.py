"""booking-schedule over HTTP: the original Step 3, and every refusal leaving the booking usable."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from sessionbook.core.api_models import format_utc
from tests.scheduling.flow import SINGLE, Flow, utc
from tests.support.queries import audit_trail, booking_row, event_types, set_booking


async def test_original_step_three_books_a_free_session(flow: Flow) -> None:
    created = await flow.create()
    slot = (await flow.free_slots(created))[0]
    assert slot["start"].endswith("Z")
    assert slot["end"].endswith("Z")

    # Exactly the original front end's request, times in Z.
    answer = await flow.http.post(
        "/functions/v1/booking-schedule",
        json={
            "bookingToken": created["bookingToken"],
            "startTime": slot["start"],
            "endTime": slot["end"],
            "timezone": "America/Vancouver",
        },
    )

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert set(body) == {
        "success",
        "calBookingId",
        "calUid",
        "meetingUrl",
        "scheduledStart",
        "scheduledEnd",
        # The contract's additions for packages of several sessions.
        "sessionId",
        "sessionsRemaining",
    }
    assert body["success"] is True
    assert isinstance(body["calBookingId"], int)
    assert isinstance(body["calUid"], str)
    assert body["meetingUrl"].startswith(flow.server.url + "/sandbox/cal/video/")
    assert (body["scheduledStart"], body["scheduledEnd"]) == (slot["start"], slot["end"])

    status = await flow.status(created)
    assert status["status"] == "scheduled"
    assert status["calBookingId"] == body["calBookingId"]
    assert status["meetingUrl"] == body["meetingUrl"]
    assert status["scheduledStart"] == slot["start"]

    [held] = await flow.cal_bookings()
    assert held["uid"] == body["calUid"]
    assert held["metadata"] == {"booking_id": created["bookingId"], "session_id": body["sessionId"]}
    assert held["attendees"][0]["name"] == "Ada Lovelace"
    assert held["attendees"][0]["email"] == "ada@example.com"
    assert held["attendees"][0]["timeZone"] == "America/Vancouver"
    # The token is the customer's key: it never reaches the provider.
    seen = json.dumps([await flow.cal_bookings(), await flow.cal_requests("GET", "/v2")])
    assert created["bookingToken"] not in seen

    row = await booking_row(flow.db, created["bookingId"])
    assert row.status == "scheduled"
    assert row.schedule_lease_until is None
    assert row.customer_timezone == "America/Vancouver"
    assert await flow.claims(created["bookingId"]) == [(utc(slot["start"]), utc(slot["end"]))]
    trail = await audit_trail(flow.db, created["bookingId"])
    assert [e.event_type for e in trail] == [
        "booking_created",
        "scheduling_started",
        "booking_scheduled",
    ]
    assert trail[-1].from_status == "paid"
    assert trail[-1].to_status == "scheduled"
    assert trail[-1].data["calUid"] == body["calUid"]


async def test_a_paid_session_is_booked_after_paying_through_airwallex(flow: Flow) -> None:
    created = await flow.create(SINGLE)
    await flow.pay(created)
    slot = (await flow.free_slots(created))[0]
    assert utc(slot["end"]) - utc(slot["start"]) == timedelta(minutes=60)

    answer = await flow.schedule(created, slot, additionalNotes="About the engine")

    assert answer.status_code == 200, answer.text
    assert (await flow.status(created))["status"] == "scheduled"
    [held] = await flow.cal_bookings()
    assert held["bookingFieldsResponses"]["notes"] == "About the engine"
    assert (await event_types(flow.db, created["bookingId"]))[-1] == "booking_scheduled"


async def test_an_unpaid_booking_must_pay_first(flow: Flow) -> None:
    created = await flow.create(SINGLE)
    slot = (await flow.free_slots(created))[0]  # browsing before paying is allowed

    answer = await flow.schedule(created, slot)

    assert answer.status_code == 402
    assert answer.json()["error"]["code"] == "payment_required"
    assert (await flow.status(created))["status"] == "pending"
    assert await flow.cal_bookings() == []
    assert await flow.claims(created["bookingId"]) == []


async def test_the_length_must_be_the_packages(flow: Flow) -> None:
    created = await flow.create()  # discovery: 30 minutes
    slot = (await flow.free_slots(created))[0]
    sixty = format_utc(utc(slot["start"]) + timedelta(minutes=60))

    answer = await flow.schedule(created, {"start": slot["start"], "end": sixty})

    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["code"] == "validation_error"
    assert "endTime" in error["fields"]
    assert "30 minutes" in error["fields"]["endTime"]
    assert (await flow.status(created))["status"] == "paid"
    assert await flow.cal_bookings() == []


async def test_an_expired_booking_is_gone(flow: Flow) -> None:
    created = await flow.create()
    slot = (await flow.free_slots(created))[0]
    await set_booking(flow.db, created["bookingId"], expires_at=flow.now() - timedelta(minutes=1))

    answer = await flow.schedule(created, slot)

    assert answer.status_code == 410
    assert answer.json()["error"]["code"] == "booking_expired"
    assert (await event_types(flow.db, created["bookingId"]))[-1] == "booking_expired"
    assert (await booking_row(flow.db, created["bookingId"])).status == "expired"
    assert await flow.cal_bookings() == []


async def test_a_scheduled_or_cancelled_booking_cannot_be_scheduled(flow: Flow) -> None:
    created = await flow.create()
    first, second = (await flow.free_slots(created))[:2]
    assert (await flow.schedule(created, first)).status_code == 200

    again = await flow.schedule(created, second)

    assert again.status_code == 409
    assert again.json()["error"]["code"] == "booking_not_schedulable"
    assert "already scheduled" in again.json()["error"]["message"]
    await set_booking(flow.db, created["bookingId"], status="cancelled")
    cancelled = await flow.schedule(created, second)
    assert cancelled.status_code == 409
    assert "cancelled" in cancelled.json()["error"]["message"]
    assert len(await flow.cal_bookings()) == 1


async def test_a_time_not_offered_is_refused(flow: Flow) -> None:
    created = await flow.create()
    slot = (await flow.free_slots(created))[0]
    odd = utc(slot["start"]) + timedelta(minutes=7)  # a start between offered slots
    past = flow.now() - timedelta(hours=1)

    between = await flow.schedule(
        created,
        {"start": format_utc(odd), "end": format_utc(odd + timedelta(minutes=30))},
    )
    in_the_past = await flow.schedule(
        created,
        {"start": format_utc(past), "end": format_utc(past + timedelta(minutes=30))},
    )

    for answer in (between, in_the_past):
        assert answer.status_code == 409, answer.text
        assert answer.json()["error"]["code"] == "slot_unavailable"
    assert await flow.cal_bookings() == []
    assert await flow.claims(created["bookingId"]) == []
    row = await booking_row(flow.db, created["bookingId"])
    assert (row.status, row.schedule_lease_until) == ("paid", None)
    assert (await event_types(flow.db, created["bookingId"]))[-1] == "scheduling_failed"
    assert (await flow.schedule(created, slot)).status_code == 200


async def test_unknown_and_malformed_tokens_are_not_found(flow: Flow) -> None:
    created = await flow.create()
    slot = (await flow.free_slots(created))[0]

    for token in ("x" * 43, "short"):
        answer = await flow.schedule({"bookingToken": token}, slot)
        assert answer.status_code == 404
        assert answer.json()["error"]["code"] == "booking_not_found"


async def test_bodies_are_checked_field_by_field(flow: Flow) -> None:
    created = await flow.create()
    slot = (await flow.free_slots(created))[0]
    naive = slot["start"].removesuffix("Z")
    cases: list[tuple[dict[str, Any], str]] = [
        ({"startTime": naive}, "startTime"),
        ({"startTime": 1_800_000_000}, "startTime"),
        ({"endTime": slot["start"]}, "endTime"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"additionalNotes": "x" * 501}, "additionalNotes"),
        ({"additionalNotes": "bell\a"}, "additionalNotes"),
        ({"calendar": "mine"}, "calendar"),
    ]
    for change, field in cases:
        answer = await flow.schedule(created, slot, **change)
        assert answer.status_code == 400, change
        error = answer.json()["error"]
        assert error["code"] == "validation_error"
        assert field in error["fields"], (change, error)
    assert await flow.cal_bookings() == []
    assert (await flow.status(created))["status"] == "paid"
