"""Cal.com API v2 client: the Calendar port over httpx, used against api.cal.com and the sandbox.

Facts relied on (calcom/cal.com, apps/api/v2 and packages/platform/types):

- Versioning is per endpoint through the `cal-api-version` header; a missing or unknown value
  silently falls back to 2024-04-15, whose routes and bodies differ, so every call sends its
  version: slots 2024-09-04, bookings 2024-08-13, event types 2024-06-14.
- Auth: `Authorization: Bearer cal_...`. 401 bodies say e.g. "Your api key is not valid".
- Success bodies are `{"status": "success", "data": ...}`; errors are
  `{"status": "error", "timestamp", "path", "error": {"code": "<ExceptionName>", "message"}}`
  (newer error-with-code failures put the Cal.com error code, e.g.
  "no_available_users_found_error", in `error.code` and answer 409).
- GET /v2/slots?eventTypeId&start&end&timeZone&format=range -> `data` maps "YYYY-MM-DD" (day in
  `timeZone`) to `[{"start", "end"}]`, times in the `timeZone` offset ("...T09:00:00.000+01:00").
  `start`/`end` are read as UTC; an `end` at exactly 00:00:00 is stretched to 23:59:59 that day.
- POST /v2/bookings (201) takes `start` (UTC ISO), `eventTypeId`, `attendee {name, email,
  timeZone, phoneNumber?, language?}`, `bookingFieldsResponses` ("notes" is the default
  additional-notes field), `metadata` (at most 50 keys, keys up to 40 chars, string values up to
  500). `lengthInMinutes` is refused for single-length event types, so it is never sent.
- A taken or unavailable time answers 400 BadRequestException "User either already has booking
  at this time or is not available"; too soon or too far ahead answers 400 "The event type can't
  be booked at the "start" time provided..."; a past time "Attempting to book a meeting in the
  past."; error-with-code variants answer 409 with `no_available_users_found_error`.
- GET /v2/bookings filters with attendeeEmail, eventTypeId, afterStart (start >= it), beforeEnd
  (end <= it), take (max 250) and skip, and returns `pagination.hasNextPage`.
- POST /v2/bookings/{uid}/cancel (200) takes `cancellationReason` (required when the caller is
  the host, as an API key of the host is); a second cancel answers 400 "...has been cancelled
  already...". POST /v2/bookings/{uid}/reschedule (201) takes `start` and `reschedulingReason`
  and returns a new booking with a new uid; the old one becomes "cancelled".
- GET /v2/event-types/{id} returns `data.lengthInMinutes` and `data.locations`, a list of
  `{"type": ...}` objects; video apps are `{"type": "integration", "integration": "cal-video"}`
  (or "google-meet", "zoom", ...), the host's default app `{"type": "organizersDefaultApp"}`.
- Rate limit: 120 requests per minute per API key. A 429 carries
  X-RateLimit-Remaining-Default: 0 and X-RateLimit-Reset-Default, the seconds until the block
  ends (the throttler does not send Retry-After itself; a proxy may).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx
import structlog

from sessionbook.core.http_client import ProviderClient, RetryPolicy, exponential_backoff
from sessionbook.scheduling.calcom.calendar import CalBooking, EventLocation, EventType, Slot
from sessionbook.scheduling.calcom.errors import (
    CalendarError,
    CalendarRateLimited,
    CalendarRejected,
    CalendarUnavailable,
)
from sessionbook.scheduling.calcom.objects import (
    as_utc,
    bad_response,
    booking_from,
    check_metadata,
    error_from,
    iso_z,
    normalise_phone,
    parse_instant,
    success_payload,
)

SLOTS_API_VERSION = "2024-09-04"
BOOKINGS_API_VERSION = "2024-08-13"
EVENT_TYPES_API_VERSION = "2024-06-14"

_MAX_LIST_PAGES = 20
_LIST_PAGE_SIZE = 100
_ALREADY_CANCELLED_PHRASE = "has been cancelled already"

log = structlog.get_logger(__name__)


class CalComClient(ProviderClient):
    """The Calendar port implemented against Cal.com API v2 (or its sandbox stand-in)."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float = 10.0,
        max_retries: int = 2,
        transport: httpx.AsyncBaseTransport | None = None,
        backoff_seconds: float = 0.2,
        max_retry_after_seconds: float = 10.0,
    ) -> None:
        if max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        self._base_url = base_url.rstrip("/") + "/"
        self._max_retries = max_retries
        self._backoff_seconds = backoff_seconds
        self._max_retry_after_seconds = max_retry_after_seconds
        self._retry_policy = self._cal_com_retry_policy()
        # The key lives only in the client's default headers: never in an attribute of ours, a
        # log line or an exception message.
        self._http = httpx.AsyncClient(
            base_url=self._base_url,
            timeout=httpx.Timeout(timeout),
            transport=transport,
            headers={"Authorization": f"Bearer {api_key}", "Accept": "application/json"},
        )

    async def get_slots(
        self,
        *,
        event_type_id: int,
        start: datetime,
        end: datetime,
        time_zone: str,
        duration_minutes: int,
    ) -> list[Slot]:
        range_start, range_end = as_utc(start), as_utc(end)
        if range_end <= range_start:
            return []
        params = {
            "eventTypeId": str(event_type_id),
            "start": iso_z(range_start),
            # Our range is half-open; Cal.com's `end` is inclusive and stretches a midnight `end`
            # to the end of that day, so ask up to one second before our end.
            "end": iso_z(range_end - timedelta(seconds=1)),
            "timeZone": time_zone,
            "format": "range",
        }
        data = await self._call(
            "GET", "slots", version=SLOTS_API_VERSION, params=params, retry=True
        )
        if not isinstance(data, Mapping):
            raise bad_response("slots data is not an object")
        length = timedelta(minutes=duration_minutes)
        starts: set[datetime] = set()
        for day_slots in data.values():
            if not isinstance(day_slots, list):
                raise bad_response("slots of a day are not a list")
            for raw_slot in day_slots:
                raw_start = raw_slot.get("start") if isinstance(raw_slot, Mapping) else raw_slot
                slot_start = parse_instant(raw_start)
                if range_start <= slot_start < range_end:
                    starts.add(slot_start)
        return [Slot(start=s, end=s + length) for s in sorted(starts)]

    async def create_booking(
        self,
        *,
        event_type_id: int,
        start: datetime,
        duration_minutes: int,
        attendee_name: str,
        attendee_email: str,
        attendee_time_zone: str,
        attendee_phone: str | None,
        notes: str | None,
        metadata: dict[str, str],
    ) -> CalBooking:
        check_metadata(metadata)
        attendee: dict[str, str] = {
            "name": attendee_name,
            "email": attendee_email,
            "timeZone": attendee_time_zone,
        }
        # Cal.com rejects the whole booking for a phone it cannot parse as international, and
        # our customers type phones freely: send it only when it is unambiguous.
        phone = normalise_phone(attendee_phone)
        if phone is not None:
            attendee["phoneNumber"] = phone
        body: dict[str, Any] = {
            "start": iso_z(as_utc(start)),
            "eventTypeId": event_type_id,
            "attendee": attendee,
            "metadata": dict(metadata),
        }
        if notes:
            body["bookingFieldsResponses"] = {"notes": notes}
        # Never retried here: a lost answer may hide a booking that exists (see the port).
        data = await self._call(
            "POST",
            "bookings",
            version=BOOKINGS_API_VERSION,
            json=body,
            retry=False,
            slot_errors=True,
        )
        booking = booking_from(data)
        if booking.end - booking.start != timedelta(minutes=duration_minutes):
            log.warning(
                "cal_booking_length_mismatch",
                event_type_id=event_type_id,
                expected_minutes=duration_minutes,
                actual_minutes=(booking.end - booking.start) / timedelta(minutes=1),
            )
        return booking

    async def get_booking(self, uid: str) -> CalBooking:
        data = await self._call(
            "GET", f"bookings/{_segment(uid)}", version=BOOKINGS_API_VERSION, retry=True
        )
        return booking_from(data)

    async def find_bookings_by_metadata(
        self,
        *,
        attendee_email: str,
        start_from: datetime,
        end_until: datetime,
        metadata: dict[str, str],
        event_type_id: int | None = None,
    ) -> list[CalBooking]:
        found: list[CalBooking] = []
        for page in range(_MAX_LIST_PAGES):
            params: dict[str, str] = {
                "attendeeEmail": attendee_email,
                "afterStart": iso_z(as_utc(start_from)),
                "beforeEnd": iso_z(as_utc(end_until)),
                "take": str(_LIST_PAGE_SIZE),
                "skip": str(page * _LIST_PAGE_SIZE),
            }
            if event_type_id is not None:
                params["eventTypeId"] = str(event_type_id)
            body = await self._call(
                "GET",
                "bookings",
                version=BOOKINGS_API_VERSION,
                params=params,
                retry=True,
                whole_body=True,
            )
            items = body.get("data")
            if not isinstance(items, list):
                raise bad_response("bookings data is not a list")
            for item in items:
                booking = booking_from(item)
                if all(booking.metadata.get(k) == v for k, v in metadata.items()):
                    found.append(booking)
            pagination = body.get("pagination")
            if not (isinstance(pagination, Mapping) and pagination.get("hasNextPage") is True):
                break
        return found

    async def cancel_booking(self, uid: str, reason: str) -> None:
        # Cal.com demands a reason when the caller is the host, which an API key is.
        body = {"cancellationReason": reason.strip() or "Cancelled"}
        try:
            await self._call(
                "POST",
                f"bookings/{_segment(uid)}/cancel",
                version=BOOKINGS_API_VERSION,
                json=body,
                retry=True,
            )
        except CalendarRejected as error:
            # A retry after a lost answer lands here: the booking is cancelled, which we wanted.
            if error.status_code == 400 and _ALREADY_CANCELLED_PHRASE in error.message.lower():
                return
            raise

    async def reschedule_booking(
        self, uid: str, new_start: datetime, reason: str | None
    ) -> CalBooking:
        body: dict[str, str] = {"start": iso_z(as_utc(new_start))}
        if reason:
            body["reschedulingReason"] = reason
        data = await self._call(
            "POST",
            f"bookings/{_segment(uid)}/reschedule",
            version=BOOKINGS_API_VERSION,
            json=body,
            retry=False,
            slot_errors=True,
        )
        return booking_from(data)

    async def get_event_type_length(self, event_type_id: int) -> int:
        return (await self.get_event_type(event_type_id)).length_minutes

    async def get_event_type(self, event_type_id: int) -> EventType:
        data = await self._call(
            "GET",
            f"event-types/{event_type_id}",
            version=EVENT_TYPES_API_VERSION,
            retry=True,
        )
        length = data.get("lengthInMinutes") if isinstance(data, Mapping) else None
        if not isinstance(length, int) or isinstance(length, bool):
            raise bad_response("event type has no integer lengthInMinutes")
        raw_locations = data.get("locations")
        locations = tuple(
            EventLocation(
                type=location["type"],
                integration=location.get("integration")
                if isinstance(location.get("integration"), str)
                else None,
            )
            for location in (raw_locations if isinstance(raw_locations, list) else [])
            if isinstance(location, Mapping) and isinstance(location.get("type"), str)
        )
        return EventType(id=event_type_id, length_minutes=length, locations=locations)

    async def _call(
        self,
        method: str,
        path: str,
        *,
        version: str,
        retry: bool,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        slot_errors: bool = False,
        whole_body: bool = False,
    ) -> Any:
        """One API call with the retry policy; returns `data` (or the whole body)."""

        async def send() -> Any:
            try:
                response = await self._http.request(
                    method, path, params=params, json=json, headers={"cal-api-version": version}
                )
            except httpx.TimeoutException as exc:
                raise CalendarUnavailable(
                    f"Cal.com did not answer {method} /{path} in time", code="timeout"
                ) from exc
            except httpx.TransportError as exc:
                raise CalendarUnavailable(
                    f"Cal.com unreachable on {method} /{path}: {type(exc).__name__}",
                    code="network",
                ) from exc
            if response.is_success:
                return success_payload(response, whole_body=whole_body)
            raise error_from(response, slot_errors=slot_errors)

        policy = self._retry_policy if retry else self._retry_policy.once()
        try:
            return await policy.run(send, operation=f"{method} /{path}")
        except CalendarError as error:
            log.warning(
                "cal_api_failed",
                method=method,
                path=path,
                status=error.status_code,
                code=error.code,
            )
            raise

    def _cal_com_retry_policy(self) -> RetryPolicy:
        """Cal.com's retry policy, the one place that says what is tried again and when.

        Only calls marked `retry` (reads and replay-safe writes) are repeated. Unavailability
        waits with full jitter, so concurrent callers do not retry in lock-step; a 429 waits as
        long as Cal.com asks, unless that is longer than a customer's request should take.
        """

        def worth_retrying(failure: BaseException) -> bool:
            if isinstance(failure, CalendarRateLimited):
                return failure.retry_after <= self._max_retry_after_seconds
            return isinstance(failure, CalendarUnavailable)

        def wait_for(failure: BaseException, attempt: int) -> float:
            if isinstance(failure, CalendarRateLimited):
                return failure.retry_after
            return exponential_backoff(
                attempt, base_seconds=self._backoff_seconds, ceiling_seconds=math.inf
            )

        return RetryPolicy(
            provider="cal_com",
            attempts=1 + self._max_retries,
            worth_retrying=worth_retrying,
            wait_for=wait_for,
            retry_event="cal_api_retry",
        )


def _segment(value: str) -> str:
    return quote(value, safe="")
