"""Bodies of the scheduling routes and the slots query, camelCase on the wire."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, available_timezones

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BeforeValidator,
    Field,
    ValidationInfo,
    field_validator,
)

from sessionbook.core.api_models import (
    RequestModel,
    ResponseModel,
    UtcDatetime,
    has_control_characters,
)
from sessionbook.core.errors import ValidationFailed

MAX_SLOT_RANGE_DAYS = 30
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


@lru_cache(maxsize=1)
def _zone_names() -> frozenset[str]:
    # Built once: walking tzdata takes a moment, and the set never changes while we run.
    return frozenset(available_timezones())


def is_time_zone(name: str) -> bool:
    """True for an IANA zone name such as Europe/London (what Cal.com accepts), or UTC."""
    return name in _zone_names() or name == "UTC"


def _time_zone(value: str | None) -> str | None:
    if value is not None and not is_time_zone(value):
        raise ValueError("must be an IANA time zone such as Europe/London")
    return value


def _text(value: str | None) -> str | None:
    if value is not None and has_control_characters(value, allow_newlines=True):
        raise ValueError("must not contain control characters")
    return value or None


def _iso_text(value: object) -> object:
    # An instant must arrive as an ISO 8601 string with its offset, never as a bare number.
    if not isinstance(value, str):
        raise ValueError("must be an ISO 8601 date-time string with an offset")
    return value


Token = Annotated[str, Field(min_length=1, max_length=200)]
Instant = Annotated[AwareDatetime, BeforeValidator(_iso_text)]
TimeZoneName = Annotated[str | None, Field(default=None, max_length=64), AfterValidator(_time_zone)]
Text = Annotated[str | None, Field(default=None, max_length=500), AfterValidator(_text)]


class PickedTime(RequestModel):
    """A start and end the customer picked from the slots answer, with their zone."""

    start_time: Instant
    end_time: Instant
    timezone: TimeZoneName = None

    @field_validator("end_time")
    @classmethod
    def _end_after_start(cls, value: datetime, info: ValidationInfo) -> datetime:
        start = info.data.get("start_time")
        if isinstance(start, datetime) and value <= start:
            raise ValueError("must be after startTime")
        return value


class _TimesRequest(PickedTime):
    booking_token: Token


class ScheduleRequest(_TimesRequest):
    additional_notes: Text = None


class RescheduleRequest(_TimesRequest):
    # Which session to move; may be left out while the booking holds one.
    session_id: uuid.UUID | None = None


class CancelRequest(RequestModel):
    booking_token: Token
    reason: Text = None
    # One session to cancel (its credit comes back); without it, the whole booking.
    session_id: uuid.UUID | None = None


class ScheduleResponse(ResponseModel):
    success: Literal[True] = True
    cal_booking_id: int
    cal_uid: str
    meeting_url: str | None
    scheduled_start: UtcDatetime
    scheduled_end: UtcDatetime
    session_id: uuid.UUID
    sessions_remaining: int


class CancelResponse(ResponseModel):
    """The whole booking cancelled (`status` cancelled), or one session (with its id)."""

    success: Literal[True] = True
    status: Literal["paid", "scheduled", "cancelled"] = "cancelled"
    payment_status: Literal["pending", "paid", "failed", "refunded"]
    refund_cents: int
    session_id: uuid.UUID | None = None
    sessions_remaining: int | None = None


class SlotOut(ResponseModel):
    start: UtcDatetime
    end: UtcDatetime


class SlotsResponse(ResponseModel):
    timezone: str
    slots: list[SlotOut]


@dataclass(frozen=True, slots=True)
class SlotsQuery:
    """Calendar days `first`..`last` (both included) in `time_zone`."""

    first: date
    last: date
    time_zone: str

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)


def parse_slots_query(start: str | None, end: str | None, time_zone: str | None) -> SlotsQuery:
    """Check the query of booking-slots; every problem is named by its parameter."""
    fields: dict[str, str] = {}
    first = _parse_day("start", start, fields)
    last = _parse_day("end", end, fields)
    zone_name = "UTC" if time_zone is None else time_zone.strip()
    if not is_time_zone(zone_name):
        fields["timezone"] = "must be an IANA time zone such as Europe/London"
    if first is not None and last is not None:
        if last < first:
            fields["end"] = "must not be before start"
        elif last - first > timedelta(days=MAX_SLOT_RANGE_DAYS):
            fields["end"] = f"must be at most {MAX_SLOT_RANGE_DAYS} days after start"
    if fields or first is None or last is None:
        message = "Invalid query: " + "; ".join(f"{k} {v}" for k, v in fields.items())
        raise ValidationFailed(message, fields=fields)
    return SlotsQuery(first=first, last=last, time_zone=zone_name)


def _parse_day(name: str, value: str | None, fields: dict[str, str]) -> date | None:
    if value is None or not value.strip():
        fields[name] = "is required (YYYY-MM-DD)"
        return None
    text = value.strip()
    if not _DAY.fullmatch(text):
        fields[name] = "must be a date as YYYY-MM-DD"
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        fields[name] = "must be a real calendar date (YYYY-MM-DD)"
        return None
