"""The Cal.com stand-in's coach: cancel or move a booking as the host, and the signed webhooks.

Cal.com posts `{"triggerEvent", "createdAt", "payload"}` to each subscriber, signed with
`X-Cal-Signature-256` = hex HMAC-SHA256(secret, body) (packages/features/webhooks/lib/
sendPayload.ts). A move makes a new booking (new uid and id) whose BOOKING_RESCHEDULED payload
names the old one in `rescheduleUid` / `rescheduleId`; the old booking becomes cancelled and
points at the new one (`rescheduledToUid`). Not Cal.com's: the /_sandbox hooks and the /coach
page, which stand for the coach acting in Cal.com's own app.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import html
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
from fastapi import FastAPI, Form
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from pydantic import AwareDatetime, BaseModel, ConfigDict

from sessionbook_sandbox.cal_availability import format_in_zone, format_utc
from sessionbook_sandbox.cal_http import CalHttpError
from sessionbook_sandbox.cal_store import CalSandboxStore, StoredBooking

COACH_REASON = "Cancelled by the coach"


def cal_signature(secret: str, body: bytes) -> str:
    """Cal.com's createWebhookSignature: hex HMAC-SHA256 of the exact body."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass
class CalWebhooks:
    """Posts signed events to one subscriber URL in the background and logs each delivery."""

    url: str | None
    secret: str | None
    deliveries: list[dict[str, Any]] = field(default_factory=list)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def send(self, store: CalSandboxStore, trigger: str, payload: dict[str, Any]) -> None:
        body = json.dumps(
            {"triggerEvent": trigger, "createdAt": format_utc(store.now()), "payload": payload},
            separators=(",", ":"),
        ).encode()
        task = asyncio.get_running_loop().create_task(self._deliver(trigger, body))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(self, trigger: str, body: bytes) -> None:
        record: dict[str, Any] = {"triggerEvent": trigger, "statusCode": None, "error": None}
        if self.url is None:
            record["error"] = "no webhook_url configured"
        else:
            signature = cal_signature(self.secret, body) if self.secret else "no-secret-provided"
            headers = {"Content-Type": "application/json", "X-Cal-Signature-256": signature}
            try:
                async with httpx.AsyncClient(timeout=10) as http:
                    response = await http.post(self.url, content=body, headers=headers)
                record["statusCode"] = response.status_code
            except httpx.HTTPError as exc:
                record["error"] = type(exc).__name__
        self.deliveries.append(record)

    def reset(self) -> None:
        for task in self._tasks:
            task.cancel()
        self.deliveries.clear()


class MoveRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start: AwareDatetime
    reason: str | None = None


class CancelRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str | None = None


def event_payload(store: CalSandboxStore, booking: StoredBooking) -> dict[str, Any]:
    """The booking part of a webhook payload, with the fields Cal.com's builder sets."""
    return {
        "bookingId": booking.id,
        "uid": booking.uid,
        "type": store.event_types[booking.event_type_id].slug,
        "title": booking.title,
        "startTime": format_utc(booking.start),
        "endTime": format_utc(booking.end),
        "organizer": {
            "name": store.host.name,
            "email": store.host.email,
            "timeZone": store.host.time_zone,
        },
        "attendees": [
            {
                "name": booking.attendee_name,
                "email": booking.attendee_email,
                "timeZone": booking.attendee_time_zone,
            }
        ],
        "location": booking.location,
        "status": booking.status.upper(),
        "metadata": dict(booking.metadata),
    }


def install_coach(app: FastAPI, store: CalSandboxStore, webhooks: CalWebhooks) -> None:
    """Add the coach's hooks and page to the stand-in app."""

    async def cancel(uid: str, reason: str | None) -> StoredBooking:
        async with store.booking_lock():
            booking = _live(store, uid)
            booking.status = "cancelled"
            booking.cancellation_reason = reason or COACH_REASON
            booking.cancelled_by_email = store.host.email
            booking.updated_at = store.now()
        webhooks.send(
            store,
            "BOOKING_CANCELLED",
            {
                **event_payload(store, booking),
                "cancelledBy": store.host.email,
                "cancellationReason": booking.cancellation_reason,
                "requestReschedule": False,
            },
        )
        return booking

    async def move(uid: str, start: datetime, reason: str | None) -> StoredBooking:
        async with store.booking_lock():
            old = _live(store, uid)
            new = store.new_booking(
                event_type_id=old.event_type_id,
                start=start,
                attendee_name=old.attendee_name,
                attendee_email=old.attendee_email,
                attendee_time_zone=old.attendee_time_zone,
                attendee_phone=old.attendee_phone,
                attendee_language=old.attendee_language,
                metadata=dict(old.metadata),
                responses=dict(old.responses),
            )
            new.rescheduled_from_uid = old.uid
            new.rescheduling_reason = reason
            old.status = "cancelled"
            old.rescheduled_to_uid = new.uid
            old.updated_at = store.now()
        webhooks.send(
            store,
            "BOOKING_RESCHEDULED",
            {
                **event_payload(store, new),
                "rescheduleId": old.id,
                "rescheduleUid": old.uid,
                "rescheduleStartTime": format_utc(old.start),
                "rescheduleEndTime": format_utc(old.end),
                "rescheduledBy": store.host.email,
            },
        )
        return new

    @app.post("/_sandbox/bookings/{uid}/cancel")
    async def coach_cancels(uid: str, body: CancelRequest) -> JSONResponse:
        return _success(store.booking_json(await cancel(uid, body.reason)))

    @app.post("/_sandbox/bookings/{uid}/reschedule")
    async def coach_moves(uid: str, body: MoveRequest) -> JSONResponse:
        return _success(store.booking_json(await move(uid, body.start, body.reason)), status=201)

    @app.get("/_sandbox/webhooks")
    async def webhook_deliveries() -> JSONResponse:
        return _success(list(webhooks.deliveries))

    @app.get("/coach", response_class=HTMLResponse)
    async def coach_page() -> HTMLResponse:
        return _coach_page(store)

    @app.post("/coach/{uid}/cancel")
    async def coach_page_cancel(uid: str) -> RedirectResponse:
        await cancel(uid, None)
        return RedirectResponse("../../coach", status_code=303)

    @app.post("/coach/{uid}/move")
    async def coach_page_move(uid: str, start: str = Form(...)) -> RedirectResponse:
        try:
            moved_to = datetime.fromisoformat(start)
        except ValueError:
            raise CalHttpError(400, "start must be an ISO 8601 time with offset") from None
        if moved_to.tzinfo is None:
            raise CalHttpError(400, "start must be an ISO 8601 time with offset")
        await move(uid, moved_to, None)
        return RedirectResponse("../../coach", status_code=303)


def _live(store: CalSandboxStore, uid: str) -> StoredBooking:
    booking = store.bookings.get(uid)
    if booking is None:
        raise CalHttpError(404, f"Booking with uid={uid} not found")
    if not booking.is_active:
        raise CalHttpError(400, f"Booking with uid={uid} is cancelled already")
    return booking


def _success(data: object, *, status: int = 200) -> JSONResponse:
    return JSONResponse({"status": "success", "data": data}, status_code=status)


def _coach_page(store: CalSandboxStore) -> HTMLResponse:
    rows = []
    for booking in sorted(store.bookings.values(), key=lambda b: b.start):
        if not booking.is_active:
            continue
        uid = html.escape(booking.uid)
        when = html.escape(format_in_zone(booking.start, store.host.time_zone))
        rows.append(
            f"<li>{when} &middot; {html.escape(booking.title)}"
            f"<form method='post' action='coach/{uid}/cancel'><button>Cancel</button></form>"
            f"<form method='post' action='coach/{uid}/move'>"
            f"<input name='start' value='{html.escape(format_utc(booking.start))}' "
            "aria-label='New start (ISO 8601)'><button>Move</button></form></li>"
        )
    listing = "".join(rows) or "<li>No upcoming bookings.</li>"
    page = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<title>Sandbox coach</title></head><body>"
        "<p><strong>Sandbox:</strong> the coach's view of the Cal.com stand-in.</p>"
        f"<h1>Bookings</h1><ul>{listing}</ul></body></html>"
    )
    headers = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
    return HTMLResponse(page, headers=headers)
