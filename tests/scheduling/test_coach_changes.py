"""The coach cancels or moves a session in Cal.com: the webhook, its guards, and the sweep."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from sessionbook.bookings.models import BookingSession
from sessionbook.core.db import SERVICE, utcnow
from sessionbook.core.errors import NotFound
from sessionbook.core.settings import SANDBOX_CAL_WEBHOOK_SECRET
from sessionbook.notifications.models import OutboxMessage
from sessionbook.scheduling.calcom.webhook import parse_event_document, signature_of
from sessionbook.scheduling.models import CalendarWebhookEvent
from tests.payments.shop import eventually
from tests.scheduling.flow import CAL, Flow
from tests.support.queries import audit_trail

HOOK = "/functions/v1/calendar-webhook"


async def booked(flow: Flow) -> tuple[dict[str, Any], dict[str, Any]]:
    """A paid single-session booking scheduled two days ahead; its creation and schedule answer."""
    created = await flow.create_paid()
    slot = (await flow.free_slots(created, from_day=2))[1]
    answer = await flow.schedule(created, slot)
    assert answer.status_code == 200, answer.text
    return created, answer.json()


async def sessions_of(flow: Flow, booking_id: str) -> list[BookingSession]:
    async with flow.db.transaction(SERVICE) as session:
        rows = await session.scalars(
            select(BookingSession).where(BookingSession.booking_id == uuid.UUID(booking_id))
        )
        return list(rows)


async def outbox_kinds(flow: Flow, booking_id: str) -> list[str]:
    async with flow.db.transaction(SERVICE) as session:
        rows = await session.scalars(
            select(OutboxMessage.kind).where(OutboxMessage.booking_id == uuid.UUID(booking_id))
        )
        return list(rows)


async def send_signed(
    flow: Flow, document: dict[str, Any], secret: str = SANDBOX_CAL_WEBHOOK_SECRET
) -> Any:
    body = json.dumps(document).encode()
    return await flow.http.post(
        HOOK,
        content=body,
        headers={
            "X-Cal-Signature-256": signature_of(secret, body),
            "Content-Type": "application/json",
        },
    )


def cancelled_event(uid: str, created_at: str = "2026-11-28T10:00:00.000Z") -> dict[str, Any]:
    return {"triggerEvent": "BOOKING_CANCELLED", "createdAt": created_at, "payload": {"uid": uid}}


async def test_a_coach_cancelling_in_cal_gives_the_credit_back_and_tells_the_customer(
    flow: Flow,
) -> None:
    created, scheduled = await booked(flow)
    answer = await flow.http.post(f"{CAL}/_sandbox/bookings/{scheduled['calUid']}/cancel", json={})
    assert answer.status_code == 200, answer.text

    status = await eventually(lambda: flow.status(created), lambda s: s["status"] == "paid")
    assert status["sessionsRemaining"] == 1
    assert status["sessions"] == []
    [session] = await sessions_of(flow, created["bookingId"])
    assert (session.state, session.cancelled_by) == ("cancelled", "coach")
    assert "session_cancelled_by_coach" in await outbox_kinds(flow, created["bookingId"])
    [row] = [
        e
        for e in await audit_trail(flow.db, created["bookingId"])
        if e.event_type == "session_cancelled_by_coach"
    ]
    assert row.source == "coach"


async def test_a_coach_moving_in_cal_moves_the_session_to_the_new_booking(flow: Flow) -> None:
    created, scheduled = await booked(flow)
    later = (await flow.free_slots(created, from_day=4))[2]
    answer = await flow.http.post(
        f"{CAL}/_sandbox/bookings/{scheduled['calUid']}/reschedule", json={"start": later["start"]}
    )
    assert answer.status_code == 201, answer.text
    new = answer.json()["data"]

    status = await eventually(
        lambda: flow.status(created),
        lambda s: s["sessions"] and s["sessions"][0]["calUid"] == new["uid"],
    )
    [moved] = status["sessions"]
    assert moved["calBookingId"] == new["id"]
    assert moved["start"] == later["start"]
    assert status["status"] == "scheduled"
    rows = [
        e
        for e in await audit_trail(flow.db, created["bookingId"])
        if e.event_type == "booking_rescheduled"
    ]
    assert rows[-1].source == "coach"


async def test_a_missing_or_wrong_signature_is_refused(flow: Flow) -> None:
    body = json.dumps(cancelled_event("abc")).encode()
    missing = await flow.http.post(HOOK, content=body)
    wrong = await flow.http.post(
        HOOK, content=body, headers={"X-Cal-Signature-256": signature_of("not-the-secret", body)}
    )
    for answer in (missing, wrong):
        assert answer.status_code == 401
        assert (
            answer.json()["error"]["code"] == "invalid_signature"
            or "invalid_signature" in answer.text
        )


async def test_an_event_for_a_booking_not_ours_changes_nothing(flow: Flow) -> None:
    created, _ = await booked(flow)
    answer = await send_signed(flow, cancelled_event("someone-elses-booking"))
    assert answer.status_code == 200
    assert answer.json()["state"] == "ignored"
    assert (await flow.status(created))["status"] == "scheduled"


async def test_a_forged_cancel_of_a_booking_cal_still_holds_changes_nothing(flow: Flow) -> None:
    created, scheduled = await booked(flow)
    answer = await send_signed(flow, cancelled_event(scheduled["calUid"]))
    assert answer.status_code == 200
    assert answer.json()["state"] == "ignored"
    status = await flow.status(created)
    assert status["status"] == "scheduled"
    assert len(status["sessions"]) == 1


async def test_a_repeated_delivery_is_stored_once_and_changes_nothing(flow: Flow) -> None:
    created, scheduled = await booked(flow)
    await flow.calendar_client().cancel_booking(scheduled["calUid"], "coach")
    first = await send_signed(flow, cancelled_event(scheduled["calUid"]))
    second = await send_signed(flow, cancelled_event(scheduled["calUid"]))
    assert first.json()["state"] == "processed"
    assert second.json()["state"] == "repeat"
    trail = [e.event_type for e in await audit_trail(flow.db, created["bookingId"])]
    assert trail.count("session_cancelled_by_coach") == 1
    async with flow.db.transaction(SERVICE) as session:
        key = parse_event_document(cancelled_event(scheduled["calUid"])).key
        stored = list(
            await session.scalars(
                select(CalendarWebhookEvent).where(CalendarWebhookEvent.event_key == key)
            )
        )
    assert len(stored) == 1


async def test_the_hourly_comparison_catches_a_cancel_whose_webhook_was_lost(flow: Flow) -> None:
    created, scheduled = await booked(flow)
    # Cancelled through the API, as the coach's app would: no webhook reaches us.
    await flow.calendar_client().cancel_booking(scheduled["calUid"], "coach")
    assert (await flow.status(created))["status"] == "scheduled"
    async with flow.server.local_services() as services:
        coach = services.scheduling.coach_changes
        assert coach is not None
        # Past any hourly run the server's own sweep (or an earlier test) may have claimed.
        later = utcnow() + timedelta(hours=2)
        coach.clock = lambda: later
        assert await coach.compare_upcoming() == 1
    status = await flow.status(created)
    assert status["status"] == "paid"
    assert status["sessions"] == []


async def test_the_comparison_runs_once_an_hour_across_calls(flow: Flow) -> None:
    created, scheduled = await booked(flow)
    async with flow.server.local_services() as services:
        coach = services.scheduling.coach_changes
        assert coach is not None
        # A clock past any run claimed before (by the server's sweep or another test).
        start = utcnow() + timedelta(hours=4)
        coach.clock = lambda: start
        assert await coach.compare_upcoming() == 0  # runs: nothing to change
        await flow.calendar_client().cancel_booking(scheduled["calUid"], "coach")
        assert await coach.compare_upcoming() == 0  # within the hour: does not run
        later = start + timedelta(hours=1, minutes=1)
        coach.clock = lambda: later
        assert await coach.compare_upcoming() == 1
    assert (await flow.status(created))["status"] == "paid"


async def test_without_a_secret_the_route_is_not_there(flow: Flow) -> None:
    async with flow.server.local_services() as services:
        coach = services.scheduling.coach_changes
        assert coach is not None
        coach.webhook_secret = None
        with pytest.raises(NotFound):
            await coach.receive_webhook(b"{}", None)
