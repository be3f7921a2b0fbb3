"""Shared wire conventions: camelCase JSON, trimmed strings, UTC times ending in Z."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, PlainSerializer
from pydantic.alias_generators import to_camel
from starlette.responses import Response


def format_utc(moment: datetime) -> str:
    """ISO 8601 in UTC with a Z; milliseconds only when the instant has them."""
    moment = moment.astimezone(UTC)
    if moment.microsecond:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


UtcDatetime = Annotated[datetime, PlainSerializer(format_utc, return_type=str)]


class RequestModel(BaseModel):
    """A request body: camelCase names only, unknown fields refused, strings trimmed."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=False,
        extra="forbid",
        str_strip_whitespace=True,
        frozen=True,
    )


class ResponseModel(BaseModel):
    """A response body, serialised with camelCase names."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    def to_wire(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)

    def to_json_bytes(self) -> bytes:
        """The wire JSON straight from pydantic-core's serializer (compact, UTF-8)."""
        return self.__pydantic_serializer__.to_json(self, by_alias=True)


def json_response(model: ResponseModel, status_code: int = 200) -> Response:
    """A route's answer already serialised: FastAPI neither validates it again against the
    response model nor walks it through `jsonable_encoder` and `json.dumps`."""
    return Response(model.to_json_bytes(), status_code=status_code, media_type="application/json")


def has_control_characters(value: str, *, allow_newlines: bool = False) -> bool:
    """True when text holds control characters that have no place in a name or address."""
    allowed = {"\n", "\r", "\t"} if allow_newlines else set()
    return any((ord(ch) < 32 or ord(ch) == 127) and ch not in allowed for ch in value)


def is_finite_number(value: float) -> bool:
    return math.isfinite(value)
