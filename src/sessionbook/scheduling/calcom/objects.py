"""Cal.com API v2 wire formats: reading its answers and errors, writing its times and metadata."""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from sessionbook.scheduling.calcom.calendar import CalBooking
from sessionbook.scheduling.calcom.errors import (
    CalendarAuthFailed,
    CalendarError,
    CalendarNotFound,
    CalendarRateLimited,
    CalendarRejected,
    CalendarSlotTaken,
    CalendarUnavailable,
)

# Cal.com blocks a key for 60 s once its minute budget is spent; without a hint, wait that long.
DEFAULT_RATE_LIMIT_WAIT_SECONDS = 60.0

# CreateBookingInput_2024_08_13 metadata rule: at most 50 keys, keys up to 40 characters,
# string values up to 500 characters.
METADATA_MAX_KEYS = 50
METADATA_MAX_KEY_LENGTH = 40
METADATA_MAX_VALUE_LENGTH = 500

_SLOT_ERROR_CODES = frozenset(
    {
        "no_available_users_found_error",
        "booking_conflict_error",
        "fixed_hosts_unavailable_for_booking",
        "round_robin_host_unavailable_for_booking",
        "hosts_unavailable_for_booking",
        "booking_time_out_of_bounds_error",
    }
)
_SLOT_ERROR_PHRASES = (
    "already has booking at this time or is not available",
    'can\'t be booked at the "start" time provided',
    "attempting to book a meeting in the past",
)
_PHONE_SEPARATORS = re.compile(r"[\s\-().]")
_E164 = re.compile(r"\+[1-9]\d{7,14}")


def success_payload(response: httpx.Response, *, whole_body: bool) -> Any:
    """`data` of a `{"status": "success", "data": ...}` answer (or the whole body)."""
    try:
        body = response.json()
    except ValueError as exc:
        raise bad_response(f"non-JSON success answer (HTTP {response.status_code})") from exc
    if not isinstance(body, Mapping) or body.get("status") != "success" or "data" not in body:
        raise bad_response("success answer without status=success and data")
    return body if whole_body else body["data"]


def error_from(response: httpx.Response, *, slot_errors: bool) -> CalendarError:
    """The typed error for a non-2xx answer; `slot_errors` when the call books a time."""
    status = response.status_code
    code, message = _error_fields(response)
    if status == 429:
        return CalendarRateLimited(
            message, retry_after=retry_after_seconds(response.headers), code=code
        )
    if status >= 500 or status == 408:
        return CalendarUnavailable(message, code=code, status_code=status)
    if status in (401, 403):
        return CalendarAuthFailed(message, code=code, status_code=status)
    if status == 404:
        return CalendarNotFound(message, code=code, status_code=status)
    if slot_errors and _means_slot_unavailable(status, code, message):
        return CalendarSlotTaken(message, code=code, status_code=status)
    return CalendarRejected(message, code=code, status_code=status)


def _error_fields(response: httpx.Response) -> tuple[str, str]:
    fallback = (f"http_{response.status_code}", f"Cal.com answered HTTP {response.status_code}")
    try:
        body = response.json()
    except ValueError:
        return fallback
    error = body.get("error") if isinstance(body, Mapping) else None
    if not isinstance(error, Mapping):
        return fallback
    code = error.get("code")
    message = error.get("message")
    return (
        code if isinstance(code, str) and code else fallback[0],
        message if isinstance(message, str) and message else str(message or fallback[1]),
    )


def _means_slot_unavailable(status: int, code: str, message: str) -> bool:
    if status == 409 or code in _SLOT_ERROR_CODES:
        return True
    lowered = message.lower()
    return any(phrase in lowered for phrase in _SLOT_ERROR_PHRASES)


def retry_after_seconds(headers: httpx.Headers) -> float:
    """Seconds a 429 asks us to wait: Retry-After, else the X-RateLimit-Reset-* headers."""
    retry_after = headers.get("retry-after")
    if retry_after:
        try:
            return max(0.0, float(retry_after))
        except ValueError:
            try:
                when = parsedate_to_datetime(retry_after)
            except (TypeError, ValueError):
                when = None
            if when is not None and when.tzinfo is not None:
                return max(0.0, (when - datetime.now(UTC)).total_seconds())
    resets: list[float] = []
    for name, value in headers.items():
        if name.lower().startswith("x-ratelimit-reset"):
            try:
                reset = float(value)
            except ValueError:
                continue
            # Documentation calls it an epoch; the throttler sends seconds. Accept both.
            resets.append(reset - time.time() if reset > 1_000_000_000 else reset)
    if resets:
        return max(0.0, max(resets))
    return DEFAULT_RATE_LIMIT_WAIT_SECONDS


def booking_from(data: Any) -> CalBooking:
    """A CalBooking from a BookingOutput_2024_08_13 object."""
    if not isinstance(data, Mapping):
        # A recurring uid answers with a list; we never create recurring bookings.
        raise bad_response("booking data is not an object")
    try:
        booking_id = data["id"]
        uid = data["uid"]
        status = data["status"]
        start = parse_instant(data["start"])
        end = parse_instant(data["end"])
    except KeyError as exc:
        raise bad_response(f"booking without {exc.args[0]!r}") from exc
    event_type_id = data.get("eventTypeId")
    if event_type_id is None and isinstance(data.get("eventType"), Mapping):
        event_type_id = data["eventType"].get("id")
    if not (isinstance(booking_id, int) and isinstance(uid, str) and isinstance(status, str)):
        raise bad_response("booking id, uid or status has the wrong type")
    if not isinstance(event_type_id, int):
        raise bad_response("booking without an event type id")
    # `meetingUrl` is deprecated in favour of `location`; both carry the video link.
    meeting = data.get("meetingUrl") or data.get("location")
    is_link = isinstance(meeting, str) and meeting.startswith(("https://", "http://"))
    meeting_url = meeting if is_link else None
    raw_metadata = data.get("metadata")
    metadata = (
        {str(k): _metadata_text(v) for k, v in raw_metadata.items()}
        if isinstance(raw_metadata, Mapping)
        else {}
    )
    return CalBooking(
        id=booking_id,
        uid=uid,
        status=status,
        start=start,
        end=end,
        meeting_url=meeting_url,
        event_type_id=event_type_id,
        metadata=metadata,
        rescheduled_to_uid=_text_or_none(data.get("rescheduledToUid")),
    )


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _metadata_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def check_metadata(metadata: Mapping[str, str]) -> None:
    """Refuse, before any call, metadata Cal.com would reject with a 400."""
    if len(metadata) > METADATA_MAX_KEYS:
        raise ValueError(f"Cal.com metadata takes at most {METADATA_MAX_KEYS} keys")
    for key, value in metadata.items():
        if not isinstance(key, str) or not 0 < len(key) <= METADATA_MAX_KEY_LENGTH:
            raise ValueError(f"Cal.com metadata keys are 1-{METADATA_MAX_KEY_LENGTH} characters")
        if not isinstance(value, str) or len(value) > METADATA_MAX_VALUE_LENGTH:
            raise ValueError(
                f"Cal.com metadata value of {key!r} must be a string of at most "
                f"{METADATA_MAX_VALUE_LENGTH} characters"
            )


def normalise_phone(phone: str | None) -> str | None:
    """The phone in international form (+ and 8-15 digits), or None when it is not one."""
    if not phone:
        return None
    compact = _PHONE_SEPARATORS.sub("", phone)
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    return compact if _E164.fullmatch(compact) else None


def parse_instant(value: Any) -> datetime:
    """An aware UTC datetime from an ISO 8601 string with offset (Z, +01:00, ...)."""
    if not isinstance(value, str):
        raise bad_response(f"expected an ISO 8601 string, got {type(value).__name__}")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise bad_response(f"unparseable time {value!r}") from exc
    if parsed.tzinfo is None:
        raise bad_response(f"time without offset {value!r}")
    return parsed.astimezone(UTC)


def as_utc(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"expected a timezone-aware datetime, got {value!r}")
    return value.astimezone(UTC)


def iso_z(value: datetime) -> str:
    """UTC ISO 8601 with milliseconds and Z, the form Cal.com itself writes."""
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def bad_response(detail: str) -> CalendarUnavailable:
    # A malformed answer is the provider's fault, not the customer's: report it as an outage.
    return CalendarUnavailable(f"unexpected answer from Cal.com: {detail}", code="bad_response")
