"""The Cal.com stand-in's request validation, after Cal.com's class-validator input classes.

Rules are Cal.com's (GetAvailableSlotsInput_2024_09_04, CreateBookingInput_2024_08_13,
RescheduleBookingInput_2024_08_13, CancelBookingInput_2024_08_13, GetBookingsInput_2024_08_13);
messages follow Cal.com's where its source spells them out and are close paraphrases elsewhere.
The phone check approximates libphonenumber with an E.164 pattern.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sessionbook_sandbox.cal_availability import is_valid_time_zone, parse_cal_datetime
from sessionbook_sandbox.cal_http import CalHttpError

SINGLE_LENGTH_MESSAGE = (
    "Can't specify 'lengthInMinutes' because event type does not have multiple possible "
    "lengths. Please, remove the 'lengthInMinutes' field from the request."
)
METADATA_MESSAGE = (
    "Metadata must have at most 50 keys, each key up to 40 characters, and string values up to "
    "500 characters."
)
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_PHONE = re.compile(r"\+[1-9]\d{7,14}")
_LANGUAGE = re.compile(r"[a-z]{2}(-[A-Za-z0-9]{2,3})?")
_CREATE_KEYS = frozenset(
    {
        "start",
        "lengthInMinutes",
        "eventTypeId",
        "attendee",
        "guests",
        "meetingUrl",
        "location",
        "metadata",
        "bookingFieldsResponses",
    }
)
_ATTENDEE_KEYS = frozenset({"name", "email", "timeZone", "phoneNumber", "language"})
_RESCHEDULE_KEYS = frozenset({"start", "rescheduledBy", "reschedulingReason"})
_CANCEL_KEYS = frozenset({"cancellationReason", "cancelSubsequentBookings"})
_SLOTS_KEYS = frozenset(
    {"eventTypeId", "start", "end", "timeZone", "duration", "format", "bookingUidToReschedule"}
)
_LIST_STATUSES = frozenset({"upcoming", "recurring", "past", "cancelled", "unconfirmed"})


def bad_request(message: str) -> CalHttpError:
    return CalHttpError(400, message)


@dataclass(frozen=True, slots=True)
class SlotsQuery:
    event_type_id: int
    start: datetime
    end: datetime
    time_zone: str | None
    duration: int | None
    range_format: bool
    reschedule_uid: str | None


@dataclass(frozen=True, slots=True)
class CreateInput:
    start: datetime
    event_type_id: int
    attendee_name: str
    attendee_email: str
    attendee_time_zone: str
    attendee_phone: str | None
    attendee_language: str
    metadata: dict[str, Any]
    responses: dict[str, Any]
    length_in_minutes: int | None


@dataclass(frozen=True, slots=True)
class RescheduleInput:
    start: datetime
    reason: str | None


@dataclass(frozen=True, slots=True)
class ListQuery:
    statuses: frozenset[str]
    attendee_email: str | None
    attendee_name: str | None
    booking_uid: str | None
    event_type_ids: frozenset[int] | None
    after_start: datetime | None
    before_end: datetime | None
    take: int
    skip: int


def parse_slots_query(params: Mapping[str, str], *, now: datetime) -> SlotsQuery:
    for key in params:
        if key not in _SLOTS_KEYS:
            raise bad_request(f"property {key} should not exist")
    event_type_id = _int_param(params, "eventTypeId", required=True)
    assert event_type_id is not None
    start = _date_param(params, "start", "start must be a valid ISO 8601 date string")
    end = _date_param(params, "end", "end must be a valid ISO 8601 date string")
    # Cal.com's adjustEndTime: an end at exactly midnight means "through that day".
    if (end.hour, end.minute, end.second, end.microsecond) == (0, 0, 0, 0):
        end = end.replace(hour=23, minute=59, second=59)
    end = min(end, now + timedelta(days=365))  # Cal.com clamps `end` to one year ahead
    if end < start:
        raise bad_request(
            "Invalid time range given - check the 'start' and 'end' query parameters."
        )
    time_zone = params.get("timeZone")
    if time_zone is not None and not is_valid_time_zone(time_zone):
        raise bad_request("timeZone property is wrong,timeZone must be a valid IANA time-zone ")
    slot_format = (params.get("format") or "time").lower()
    if slot_format not in {"time", "range"}:
        raise bad_request("format property is wrong,slotFormat must be either 'range' or 'time' ")
    duration = _int_param(params, "duration", required=False)
    if duration is not None and duration < 1:
        raise bad_request("duration property is wrong,duration must not be less than 1 ")
    return SlotsQuery(
        event_type_id=event_type_id,
        start=start,
        end=end,
        time_zone=time_zone,
        duration=duration,
        range_format=slot_format == "range",
        reschedule_uid=params.get("bookingUidToReschedule"),
    )


def parse_create(body: Any) -> CreateInput:
    if not isinstance(body, Mapping):
        raise bad_request("Body should be an object")
    _reject_unknown(body, _CREATE_KEYS, prefix="")
    start = _iso_field(body, "start")
    event_type_id = body.get("eventTypeId")
    if not isinstance(event_type_id, int) or isinstance(event_type_id, bool):
        raise bad_request("eventTypeId must be an integer number")
    attendee = body.get("attendee")
    if not isinstance(attendee, Mapping):
        raise bad_request("attendee must be an object")
    _reject_unknown(attendee, _ATTENDEE_KEYS, prefix="attendee.")
    name = attendee.get("name")
    if not isinstance(name, str):
        raise bad_request("attendee.name must be a string")
    email = attendee.get("email")
    phone = attendee.get("phoneNumber")
    if email is not None and (
        not isinstance(email, str) or (email and not _EMAIL.fullmatch(email))
    ):
        raise bad_request("Invalid email format")
    if phone is not None and (
        not isinstance(phone, str) or (phone and not _PHONE.fullmatch(phone))
    ):
        raise bad_request("Invalid phone number format. Please use international format.")
    if not (email or "").strip() and not (phone or "").strip():
        raise bad_request("At least one contact method (email or phone number) must be provided")
    time_zone = attendee.get("timeZone")
    if not isinstance(time_zone, str) or not is_valid_time_zone(time_zone):
        raise bad_request("attendee.timeZone must be a valid IANA time-zone")
    language = attendee.get("language", "en")
    if not isinstance(language, str) or not _LANGUAGE.fullmatch(language):
        raise bad_request("attendee.language must be one of the supported languages")
    metadata = body.get("metadata", {})
    if not _valid_metadata(metadata):
        raise bad_request(METADATA_MESSAGE)
    responses = body.get("bookingFieldsResponses", {})
    if not isinstance(responses, Mapping):
        raise bad_request("bookingFieldsResponses must be an object")
    length = body.get("lengthInMinutes")
    if length is not None and (not _is_int(length) or length < 1):
        raise bad_request("lengthInMinutes must not be less than 1")
    all_responses: dict[str, Any] = {**responses, "name": name, "email": email or ""}
    if phone:
        all_responses["attendeePhoneNumber"] = phone
    return CreateInput(
        start=start,
        event_type_id=event_type_id,
        attendee_name=name,
        attendee_email=email or "",
        attendee_time_zone=time_zone,
        attendee_phone=phone or None,
        attendee_language=language,
        metadata=dict(metadata),
        responses=all_responses,
        length_in_minutes=length,
    )


def parse_reschedule(body: Any) -> RescheduleInput:
    if not isinstance(body, Mapping):
        raise bad_request("Body should be an object")
    if "seatUid" in body:
        raise bad_request("The Cal.com sandbox has no seated event types")
    _reject_unknown(body, _RESCHEDULE_KEYS, prefix="")
    start = _iso_field(body, "start")
    rescheduled_by = body.get("rescheduledBy")
    if rescheduled_by and not (
        isinstance(rescheduled_by, str) and _EMAIL.fullmatch(rescheduled_by)
    ):
        raise bad_request("Invalid rescheduledBy email format")
    reason = body.get("reschedulingReason")
    if reason is not None and not isinstance(reason, str):
        raise bad_request("reschedulingReason must be a string")
    return RescheduleInput(start=start, reason=reason)


def parse_cancel(body: Any) -> str | None:
    """The cancellation reason (None when not given)."""
    if not isinstance(body, Mapping):
        raise bad_request("Body should be an object")
    if "seatUid" in body:
        raise bad_request(
            "Invalid seatUid: this seat does not exist or has already been cancelled."
        )
    _reject_unknown(body, _CANCEL_KEYS, prefix="")
    reason = body.get("cancellationReason")
    if reason is not None and not isinstance(reason, str):
        raise bad_request("cancellationReason must be a string")
    if not isinstance(body.get("cancelSubsequentBookings", False), bool):
        raise bad_request("cancelSubsequentBookings must be a boolean value")
    return reason


def parse_list_query(params: Mapping[str, str], multi: Mapping[str, list[str]]) -> ListQuery:
    # Cal.com's global ValidationPipe strips unknown query parameters instead of refusing them.
    statuses: set[str] = set()
    for raw in multi.get("status", []):
        for status in raw.split(","):
            if status.strip() not in _LIST_STATUSES:
                raise bad_request(
                    "Invalid status. Allowed are upcoming, recurring, past, cancelled, unconfirmed"
                )
            statuses.add(status.strip())
    event_type_ids: set[int] = set()
    for key in ("eventTypeId", "eventTypeIds"):
        for raw in multi.get(key, []):
            for part in raw.split(","):
                if not part.strip().lstrip("-").isdigit():
                    raise bad_request(f"{key} must be an integer number")
                event_type_ids.add(int(part))
    take = _int_param(params, "take", required=False)
    skip = _int_param(params, "skip", required=False)
    if take is not None and not 1 <= take <= 250:
        raise bad_request("take must not be less than 1 or greater than 250")
    if skip is not None and skip < 0:
        raise bad_request("skip must not be less than 0")
    return ListQuery(
        statuses=frozenset(statuses),
        attendee_email=(params.get("attendeeEmail") or "").strip().replace(" ", "+") or None,
        attendee_name=params.get("attendeeName") or None,
        booking_uid=params.get("bookingUid") or None,
        event_type_ids=frozenset(event_type_ids) or None,
        after_start=_optional_date(params, "afterStart", "fromDate must be a valid ISO 8601 date."),
        before_end=_optional_date(params, "beforeEnd", "toDate must be a valid ISO 8601 date."),
        take=take if take is not None else 100,
        skip=skip or 0,
    )


def _reject_unknown(body: Mapping[str, Any], allowed: frozenset[str], *, prefix: str) -> None:
    for key in body:
        if key not in allowed:
            raise bad_request(f"property {prefix}{key} should not exist")


def _iso_field(body: Mapping[str, Any], name: str) -> datetime:
    value = body.get(name)
    parsed = parse_cal_datetime(value) if isinstance(value, str) else None
    if parsed is None:
        raise bad_request(f"{name} must be a valid ISO 8601 date string")
    return parsed


def _date_param(params: Mapping[str, str], name: str, message: str) -> datetime:
    parsed = _optional_date(params, name, message)
    if parsed is None:
        raise bad_request(message)
    return parsed


def _optional_date(params: Mapping[str, str], name: str, message: str) -> datetime | None:
    raw = params.get(name)
    if raw is None:
        return None
    parsed = parse_cal_datetime(raw)
    if parsed is None:
        raise bad_request(message)
    return parsed


def _int_param(params: Mapping[str, str], name: str, *, required: bool) -> int | None:
    raw = params.get(name)
    if raw is None:
        if required:
            raise bad_request(f"{name} property is wrong,{name} must be a number ")
        return None
    try:
        return int(raw)
    except ValueError as exc:
        raise bad_request(f"{name} property is wrong,{name} must be a number ") from exc


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _valid_metadata(metadata: Any) -> bool:
    if not isinstance(metadata, Mapping) or len(metadata) > 50:
        return False
    for key, value in metadata.items():
        if len(key) > 40:
            return False
        if isinstance(value, str):
            if len(value) > 500:
                return False
        elif not isinstance(value, int | float | bool):
            return False
    return True
