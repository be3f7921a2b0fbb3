"""The Cal.com stand-in's own routes: test hooks under /_sandbox and the meeting-room page.

None of these exist at Cal.com. The hooks let tests and people inject faults (failures, delays,
"booked but the answer was lost"), list every booking and every API request seen, move the
clock and reset the state. The meeting room is where a sandbox booking's video link points.
"""

from __future__ import annotations

import html

from fastapi import FastAPI
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from sessionbook_sandbox.cal_availability import format_in_zone
from sessionbook_sandbox.cal_http import RateLimiter
from sessionbook_sandbox.cal_store import CalSandboxStore, Fault, StoredBooking


class FaultRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path_prefix: str = "/v2"
    method: str | None = None
    status: int | None = Field(default=None, ge=400, le=599)
    count: int = Field(default=1, ge=1)
    delay_seconds: float = Field(default=0.0, ge=0, le=60)
    after_success: bool = False
    retry_after_seconds: float | None = Field(default=None, ge=0)
    html_body: bool = False


class ClockRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    now: AwareDatetime | None


def install_hooks(app: FastAPI, store: CalSandboxStore, limiter: RateLimiter | None) -> None:
    """Add the meeting room and the /_sandbox hooks to the stand-in app."""

    @app.get("/video/{uid}", response_class=HTMLResponse)
    async def meeting_room(uid: str) -> HTMLResponse:
        booking = store.bookings.get(uid)
        return _meeting_page(booking, store)

    @app.get("/_sandbox/bookings")
    async def all_bookings() -> JSONResponse:
        ordered = sorted(store.bookings.values(), key=lambda booking: booking.id)
        return _success([store.booking_json(booking) for booking in ordered])

    @app.get("/_sandbox/requests")
    async def requests_seen() -> JSONResponse:
        return _success(list(store.requests_seen))

    @app.post("/_sandbox/faults")
    async def add_fault(fault: FaultRequest) -> JSONResponse:
        added = Fault(
            path_prefix=fault.path_prefix,
            method=fault.method.upper() if fault.method else None,
            status=fault.status,
            remaining=fault.count,
            delay_seconds=fault.delay_seconds,
            after_success=fault.after_success,
            retry_after_seconds=fault.retry_after_seconds,
            html_body=fault.html_body,
        )
        store.faults.append(added)
        return _success(added.as_json(), status_code=201)

    @app.delete("/_sandbox/faults")
    async def clear_faults() -> JSONResponse:
        store.faults.clear()
        return _success([])

    @app.post("/_sandbox/clock")
    async def set_clock(body: ClockRequest) -> JSONResponse:
        store.clock_override = body.now
        return _success({"now": store.now().isoformat()})

    @app.post("/_sandbox/reset")
    async def reset() -> JSONResponse:
        store.reset()
        if limiter is not None:
            limiter.reset()
        return _success({})


def _success(data: object, *, status_code: int = 200) -> JSONResponse:
    return JSONResponse({"status": "success", "data": data}, status_code=status_code)


def _meeting_page(booking: StoredBooking | None, store: CalSandboxStore) -> HTMLResponse:
    if booking is None:
        heading, detail, status = "No such meeting", "This meeting link is unknown.", 404
    else:
        start = format_in_zone(booking.start, store.host.time_zone)
        heading = html.escape(booking.title)
        detail = f"Starts {html.escape(start)} ({html.escape(store.host.time_zone)})."
        if booking.status == "cancelled":
            detail += " This booking was cancelled or moved."
        status = 200
    page = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<title>Sandbox meeting room</title></head><body>"
        "<p><strong>Sandbox:</strong> this is a stand-in meeting room; no call happens here.</p>"
        f"<h1>{heading}</h1><p>{detail}</p></body></html>"
    )
    headers = {
        "Referrer-Policy": "no-referrer",
        "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
        "Cache-Control": "no-store",
    }
    return HTMLResponse(page, status_code=status, headers=headers)
