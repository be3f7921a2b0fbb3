"""A faithful local stand-in for Cal.com API v2: the routes our client uses, plus test hooks.

Mount it anywhere (the main app uses /sandbox/cal); the client's base URL is then
`{mount}/v2`. What it serves, with Cal.com's paths, version headers, bodies and errors:

- GET  /v2/slots                         cal-api-version 2024-09-04, no auth (as in Cal.com)
- POST /v2/bookings                      2024-08-13, optional auth, 201
- GET  /v2/bookings                      2024-08-13, auth required, filters and pagination
- GET  /v2/bookings/{uid}                2024-08-13, optional auth
- POST /v2/bookings/{uid}/cancel         2024-08-13, optional auth, 200
- POST /v2/bookings/{uid}/reschedule     2024-08-13, optional auth, 201 (new uid)
- GET  /v2/event-types/{id}              2024-06-14, auth required
- GET  /video/{uid}                      the sandbox meeting room a booking's link points to

The coach (not Cal.com's API; see `cal_coach`): POST /_sandbox/bookings/{uid}/cancel and
/reschedule, GET /_sandbox/webhooks, and the page GET /coach; each change posts Cal.com's signed
webhook to `webhook_url`.

Test hooks (not Cal.com's): POST /_sandbox/faults, DELETE /_sandbox/faults,
GET /_sandbox/bookings, GET /_sandbox/requests, POST /_sandbox/clock, POST /_sandbox/reset.

Deliberate differences: one host, no seats, no recurring or variable-length event types; a
start must be one of the offered slot starts (Cal.com only checks that the host is free for
the whole interval), which is stricter and answers with the same "not available" error.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from sessionbook_sandbox.cal_availability import (
    DEFAULT_WEEKLY_HOURS,
    AvailabilityPolicy,
    Refusal,
    WeeklyHours,
    day_key,
    format_in_zone,
)
from sessionbook_sandbox.cal_coach import CalWebhooks, install_coach
from sessionbook_sandbox.cal_hooks import install_hooks
from sessionbook_sandbox.cal_http import (
    CalHttpError,
    RateLimiter,
    authenticate,
    cal_error_response,
    express_url,
    install_edges,
    require_version,
)
from sessionbook_sandbox.cal_inputs import (
    SINGLE_LENGTH_MESSAGE,
    bad_request,
    parse_cancel,
    parse_create,
    parse_list_query,
    parse_reschedule,
    parse_slots_query,
)
from sessionbook_sandbox.cal_listing import is_listed, pagination
from sessionbook_sandbox.cal_store import (
    CalSandboxStore,
    Clock,
    EventTypeSpec,
    HostProfile,
    StoredBooking,
)

__all__ = ["EventTypeSpec", "WeeklyHours", "create_cal_sandbox"]

SLOTS_VERSION = "2024-09-04"
BOOKINGS_VERSION = "2024-08-13"
EVENT_TYPES_VERSION = "2024-06-14"
# Roughly one database round trip: the gap in which unguarded concurrent bookings would race.
_WRITE_LATENCY_SECONDS = 0.005

# ErrorsBookingsService_2024_08_13.handleBookingError, word for word.
_REFUSAL_MESSAGES = {
    Refusal.IN_PAST: "Attempting to book a meeting in the past.",
    Refusal.OUT_OF_BOUNDS: (
        'The event type can\'t be booked at the "start" time provided. This could be because '
        "it's too soon (violating the minimum booking notice) or too far in the future (outside "
        "the event's scheduling window). Try fetching available slots first using the GET "
        '/v2/slots endpoint and then make a booking with "start" time equal to one of the '
        "available slots: https://cal.com/docs/api-reference/v2/slots"
    ),
    Refusal.UNAVAILABLE: "User either already has booking at this time or is not available",
}


def create_cal_sandbox(
    *,
    api_key: str,
    event_types: Mapping[int, EventTypeSpec],
    host_time_zone: str = "Europe/London",
    weekly_hours: WeeklyHours = DEFAULT_WEEKLY_HOURS,
    min_notice_minutes: int = 120,
    booking_horizon_days: int = 120,
    slot_interval_minutes: int | None = None,
    public_base_url: str = "http://127.0.0.1:8000/sandbox/cal",
    host_name: str = "Sandbox Coach",
    host_email: str = "coach@sandbox.invalid",
    rate_limit_per_minute: int | None = None,
    clock: Clock | None = None,
    first_booking_id: int = 1,
    webhook_url: str | None = None,
    webhook_secret: str | None = None,
) -> FastAPI:
    """The Cal.com stand-in as an ASGI app.

    `public_base_url` is where this app is reachable from a browser (meeting links point at
    `{public_base_url}/video/{uid}`). `rate_limit_per_minute` turns on Cal.com's throttle
    (Cal.com: 120 per API key); off by default so that test suites are not throttled.
    `clock` replaces the wall clock (tests of DST dates); POST /_sandbox/clock overrides both.
    `first_booking_id` lets a stand-in restarted in front of a kept database avoid old ids.
    `webhook_url` receives the coach's cancellations and moves (see `cal_coach`), signed with
    `webhook_secret` as Cal.com signs them.
    """
    if not api_key:
        raise ValueError("the Cal.com sandbox needs an API key to check")
    if not event_types or any(spec.length_minutes <= 0 for spec in event_types.values()):
        raise ValueError("the Cal.com sandbox needs event types with positive lengths")
    _check_weekly_hours(weekly_hours)
    if slot_interval_minutes is not None and slot_interval_minutes <= 0:
        raise ValueError("slot_interval_minutes must be positive")
    if first_booking_id < 1:
        raise ValueError("first_booking_id must be positive")
    if min_notice_minutes < 0 or booking_horizon_days <= 0:
        raise ValueError("min_notice_minutes must be >= 0 and booking_horizon_days > 0")
    store = CalSandboxStore(
        api_key=api_key,
        event_types=dict(event_types),
        host=HostProfile(
            id=1,
            name=host_name,
            email=host_email,
            username="sandbox-coach",
            time_zone=host_time_zone,
        ),
        policy=AvailabilityPolicy(
            host_zone=ZoneInfo(host_time_zone),
            weekly_hours=weekly_hours,
            min_notice=timedelta(minutes=min_notice_minutes),
            horizon=timedelta(days=booking_horizon_days),
            slot_interval_minutes=slot_interval_minutes,
        ),
        public_base_url=public_base_url.rstrip("/"),
        clock=clock or _wall_clock,
        next_booking_id=first_booking_id,
    )
    limiter = RateLimiter(rate_limit_per_minute) if rate_limit_per_minute else None
    app = FastAPI(title="Cal.com sandbox", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.cal_store = store
    install_edges(app, store, limiter)

    @app.exception_handler(StarletteHTTPException)
    async def unknown_route(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        # NestJS answers an unknown route or method with 404 "Cannot METHOD /path".
        message = f"Cannot {request.method} {express_url(request)}"
        if exc.status_code not in (404, 405):
            message = str(exc.detail)
        status = 404 if exc.status_code == 405 else exc.status_code
        return cal_error_response(request, CalHttpError(status, message))

    @app.get("/v2/slots")
    async def get_slots(request: Request) -> JSONResponse:
        require_version(request, SLOTS_VERSION)
        now = store.now()
        query = parse_slots_query(request.query_params, now=now)
        event_type = store.event_types.get(query.event_type_id)
        if event_type is None:
            raise CalHttpError(404, "Event Type not found")
        length = query.duration or event_type.length_minutes
        starts = store.policy.offered_starts(
            length_minutes=length,
            window_start=query.start,
            window_end=query.end,
            now=now,
            busy=store.busy(ignoring_uid=query.reschedule_uid),
        )
        days: dict[str, list[dict[str, str]]] = {}
        for start in starts:
            slot = {"start": format_in_zone(start, query.time_zone)}
            if query.range_format:
                slot["end"] = format_in_zone(start + timedelta(minutes=length), query.time_zone)
            days.setdefault(day_key(start, query.time_zone), []).append(slot)
        return _success(days)

    @app.post("/v2/bookings")
    async def create_booking(request: Request) -> JSONResponse:
        require_version(request, BOOKINGS_VERSION)
        authenticate(request, store.api_key, required=False)
        data = parse_create(await _json_body(request))
        event_type = store.event_types.get(data.event_type_id)
        if event_type is None:
            raise CalHttpError(404, f"Event type with id {data.event_type_id} not found.")
        if data.length_in_minutes is not None:
            raise bad_request(SINGLE_LENGTH_MESSAGE)
        async with store.booking_lock():
            await _ensure_bookable(store, data.start, event_type.length_minutes, ignoring=None)
            booking = store.new_booking(
                event_type_id=data.event_type_id,
                start=data.start,
                attendee_name=data.attendee_name,
                attendee_email=data.attendee_email,
                attendee_time_zone=data.attendee_time_zone,
                attendee_phone=data.attendee_phone,
                attendee_language=data.attendee_language,
                metadata=data.metadata,
                responses=data.responses,
            )
        return _success(store.booking_json(booking), status_code=201)

    @app.get("/v2/bookings")
    async def list_bookings(request: Request) -> JSONResponse:
        require_version(request, BOOKINGS_VERSION)
        authenticate(request, store.api_key, required=True)
        params = request.query_params
        query = parse_list_query(params, {key: params.getlist(key) for key in params})
        matching = [b for b in store.bookings.values() if is_listed(b, query, store.now())]
        matching.sort(key=lambda booking: (booking.start, booking.id))
        page = matching[query.skip : query.skip + query.take]
        body = {
            "status": "success",
            "data": [store.booking_json(booking) for booking in page],
            "pagination": pagination(query.skip, query.take, len(matching)),
        }
        return JSONResponse(body)

    @app.get("/v2/bookings/{uid}")
    async def get_booking(request: Request, uid: str) -> JSONResponse:
        require_version(request, BOOKINGS_VERSION)
        authenticate(request, store.api_key, required=False)
        booking = store.bookings.get(uid)
        if booking is None:
            raise CalHttpError(404, f"Booking with uid={uid} was not found in the database")
        return _success(store.booking_json(booking))

    @app.post("/v2/bookings/{uid}/cancel")
    async def cancel_booking(request: Request, uid: str) -> JSONResponse:
        require_version(request, BOOKINGS_VERSION)
        is_host = authenticate(request, store.api_key, required=False)
        reason = parse_cancel(await _json_body(request))
        async with store.booking_lock():
            booking = _existing(store, uid)
            if booking.status == "cancelled":
                raise bad_request(
                    f"Can't cancel booking with uid={uid} because it has been cancelled already. "
                    "Please provide uid of a booking that is not cancelled."
                )
            if is_host and not reason:
                raise bad_request("Cancellation reason is required when you are the host")
            booking.status = "cancelled"
            booking.cancellation_reason = reason
            booking.cancelled_by_email = store.host.email if is_host else booking.attendee_email
            booking.updated_at = store.now()
        return _success(store.booking_json(booking))

    @app.post("/v2/bookings/{uid}/reschedule")
    async def reschedule_booking(request: Request, uid: str) -> JSONResponse:
        require_version(request, BOOKINGS_VERSION)
        authenticate(request, store.api_key, required=False)
        data = parse_reschedule(await _json_body(request))
        async with store.booking_lock():
            old = _existing(store, uid)
            if old.status == "cancelled":
                raise bad_request(_cannot_reschedule_message(old))
            length = store.event_types[old.event_type_id].length_minutes
            # Like Cal.com, the booking being moved does not block its own new time.
            await _ensure_bookable(store, data.start, length, ignoring=uid)
            new = store.new_booking(
                event_type_id=old.event_type_id,
                start=data.start,
                attendee_name=old.attendee_name,
                attendee_email=old.attendee_email,
                attendee_time_zone=old.attendee_time_zone,
                attendee_phone=old.attendee_phone,
                attendee_language=old.attendee_language,
                metadata=dict(old.metadata),
                responses={**old.responses, "rescheduledReason": data.reason},
            )
            new.rescheduled_from_uid = old.uid
            new.rescheduling_reason = data.reason
            old.status = "cancelled"
            old.rescheduled_to_uid = new.uid
            old.updated_at = store.now()
        return _success(store.booking_json(new), status_code=201)

    @app.get("/v2/event-types/{event_type_id}")
    async def get_event_type(request: Request, event_type_id: str) -> JSONResponse:
        require_version(request, EVENT_TYPES_VERSION)
        authenticate(request, store.api_key, required=True)
        spec = store.event_types.get(int(event_type_id)) if event_type_id.isdigit() else None
        if spec is None:
            raise CalHttpError(404, f"Event type with id {event_type_id} not found")
        return _success(
            {
                "id": int(event_type_id),
                "ownerId": store.host.id,
                "lengthInMinutes": spec.length_minutes,
                "lengthInMinutesOptions": [],
                "title": spec.title,
                "slug": spec.slug,
                "description": "",
                "locations": [dict(location) for location in spec.locations],
                "minimumBookingNotice": min_notice_minutes,
                "slotInterval": slot_interval_minutes,
                "hidden": False,
            }
        )

    install_hooks(app, store, limiter)
    install_coach(app, store, CalWebhooks(url=webhook_url, secret=webhook_secret))
    return app


def _check_weekly_hours(weekly_hours: WeeklyHours) -> None:
    for weekday, windows in weekly_hours.items():
        if weekday not in range(7):
            raise ValueError(f"weekly_hours keys are weekdays 0 (Monday) to 6, got {weekday}")
        for opening, closing in windows:
            # A window may close at 00:00, meaning the end of its day.
            if closing <= opening and closing != time(0):
                raise ValueError(f"weekly_hours window {opening}-{closing} closes before it opens")


def _wall_clock() -> datetime:
    return datetime.now().astimezone()


def _success(data: Any, *, status_code: int = 200) -> JSONResponse:
    return JSONResponse({"status": "success", "data": data}, status_code=status_code)


async def _json_body(request: Request) -> Any:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise bad_request(f"Unexpected token in JSON: {exc}") from exc


def _existing(store: CalSandboxStore, uid: str) -> StoredBooking:
    booking = store.bookings.get(uid)
    if booking is None:
        raise CalHttpError(404, f"Booking with uid={uid} not found")
    return booking


async def _ensure_bookable(
    store: CalSandboxStore, start: datetime, length_minutes: int, *, ignoring: str | None
) -> None:
    refusal = store.policy.refusal(
        start=start,
        length_minutes=length_minutes,
        now=store.now(),
        busy=store.busy(ignoring_uid=ignoring),
    )
    if refusal is not None:
        raise bad_request(_REFUSAL_MESSAGES[refusal])
    # Between Cal.com's availability check and its insert lie calendar and database round trips;
    # yielding here keeps that gap open, so only the lock (not luck) stops a double booking.
    await asyncio.sleep(_WRITE_LATENCY_SECONDS)


def _cannot_reschedule_message(old: StoredBooking) -> str:
    if old.rescheduled_to_uid:
        return (
            f"Can't reschedule booking with uid={old.uid} because it has been cancelled and "
            f"rescheduled already to booking with uid={old.rescheduled_to_uid}. You probably "
            f"want to reschedule {old.rescheduled_to_uid} instead by passing it within the "
            "request URL."
        )
    return (
        f"Can't reschedule booking with uid={old.uid} because it has been cancelled. Please "
        "provide uid of a booking that is not cancelled."
    )
