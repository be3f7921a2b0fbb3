"""Request and response bodies of the booking routes, camelCase on the wire."""

from __future__ import annotations

import json
import uuid
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    EmailStr,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    field_validator,
)

from sessionbook.catalog.models import PACKAGE_ID_MAX_LENGTH
from sessionbook.core.api_models import (
    RequestModel,
    ResponseModel,
    UtcDatetime,
    has_control_characters,
    is_finite_number,
)

METADATA_MAX_KEYS = 20
METADATA_MAX_BYTES = 2048
METADATA_KEY_MAX_LENGTH = 64


def _single_line(value: str) -> str:
    if has_control_characters(value):
        raise ValueError("must not contain control characters")
    return value


def _text(value: str) -> str:
    if has_control_characters(value, allow_newlines=True):
        raise ValueError("must not contain control characters")
    return value


def _email_length(value: str) -> str:
    if len(value) > 255:
        raise ValueError("must be at most 255 characters")
    return value


MetadataValue = StrictStr | StrictBool | StrictInt | StrictFloat


class CreateBookingRequest(RequestModel):
    # Any active package's id; whether it is on sale is checked against the catalog.
    package_id: Annotated[str, Field(min_length=1, max_length=PACKAGE_ID_MAX_LENGTH)]
    customer_name: Annotated[str, Field(min_length=2, max_length=100), AfterValidator(_single_line)]
    customer_email: Annotated[EmailStr, Field(max_length=255), AfterValidator(_email_length)]
    customer_phone: Annotated[
        str | None,
        Field(default=None, max_length=40),
        AfterValidator(lambda v: v and _single_line(v)),
    ] = None
    notes: Annotated[str | None, Field(default=None, max_length=1000)] = None
    metadata: dict[str, MetadataValue] | None = None

    @field_validator("notes")
    @classmethod
    def _notes_text(cls, value: str | None) -> str | None:
        return _text(value) if value is not None else None

    @field_validator("metadata")
    @classmethod
    def _metadata_is_small_and_flat(
        cls, value: dict[str, MetadataValue] | None
    ) -> dict[str, MetadataValue] | None:
        if value is None:
            return None
        if len(value) > METADATA_MAX_KEYS:
            raise ValueError(f"must have at most {METADATA_MAX_KEYS} keys")
        for key, item in value.items():
            if not key or len(key) > METADATA_KEY_MAX_LENGTH or has_control_characters(key):
                raise ValueError(f"keys must be 1-{METADATA_KEY_MAX_LENGTH} printable characters")
            if isinstance(item, float) and not is_finite_number(item):
                raise ValueError("numbers must be finite")
        if len(json.dumps(value, ensure_ascii=False).encode()) > METADATA_MAX_BYTES:
            raise ValueError(f"must be at most {METADATA_MAX_BYTES} bytes as JSON")
        return value


class CreateBookingResponse(ResponseModel):
    booking_token: str
    booking_id: uuid.UUID
    requires_payment: bool
    payment_url: str | None
    expires_at: UtcDatetime


class SessionOut(ResponseModel):
    id: uuid.UUID
    start: UtcDatetime
    end: UtcDatetime
    meeting_url: str | None
    cal_booking_id: int
    cal_uid: str


class BookingStatusResponse(ResponseModel):
    id: uuid.UUID
    status: Literal["pending", "paid", "scheduled", "expired", "cancelled"]
    payment_status: Literal["pending", "paid", "failed", "refunded"]
    package_id: str
    amount_cents: int
    currency: str
    customer_name: str
    customer_email: str
    scheduled_start: UtcDatetime | None
    scheduled_end: UtcDatetime | None
    meeting_url: str | None
    cal_booking_id: int | None
    expires_at: UtcDatetime
    created_at: UtcDatetime
    payment_url: str | None
    sessions_total: int
    sessions_remaining: int
    sessions_valid_until: UtcDatetime | None
    sessions: list[SessionOut]
