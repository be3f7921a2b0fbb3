"""Decoding Airwallex JSON objects into the port's dataclasses, strictly and without floats.

Field names follow the API reference (https://www.airwallex.com/docs/api, OpenAPI spec in
github.com/airwallex/airwallex-openapi): PaymentLink {id, url, amount, currency, status
UNPAID|PAID, active, reference, metadata, expires_at, latest_successful_payment_intent_id},
PaymentIntent {id, amount, currency, status, merchant_order_id, metadata, created_at, and
`payment_link_id`, which the reference does not promise on an intent made by a link},
Refund {id, request_id, payment_intent_id, amount, currency, status}.
Airwallex writes times like "2021-08-17T11:00:00+0000" or "...+00:00".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar

from sessionbook.payments.airwallex.errors import PaymentProviderUnavailable
from sessionbook.payments.airwallex.gateway import PaymentIntent, PaymentLink, Refund
from sessionbook.payments.airwallex.money import MoneyError, amount_to_cents, normalise_currency

T = TypeVar("T")


def decode(build: Callable[[Mapping[str, Any]], T], data: object) -> T:
    """Apply a decoder; a malformed answer is the provider failing, not our caller's fault."""
    if not isinstance(data, Mapping):
        raise PaymentProviderUnavailable(
            "Airwallex answered with an unexpected shape", code="bad_response"
        )
    try:
        return build(data)
    except (KeyError, TypeError, ValueError, MoneyError) as exc:
        raise PaymentProviderUnavailable(
            f"Airwallex answered with an unexpected {build.__name__.removeprefix('_')} "
            f"({type(exc).__name__}: {exc})",
            code="bad_response",
        ) from exc


def payment_link(data: Mapping[str, Any]) -> PaymentLink:
    currency = normalise_currency(_required_str(data, "currency"))
    return PaymentLink(
        id=_required_str(data, "id"),
        url=_required_str(data, "url"),
        status=_optional_str(data.get("status")) or "UNPAID",
        amount_cents=amount_to_cents(_number(data, "amount"), currency),
        currency=currency,
        reference=_optional_str(data.get("reference")),
        metadata=string_map(data.get("metadata")),
        expires_at=parse_time(data.get("expires_at")),
        active=data.get("active") is not False,
        latest_successful_payment_intent_id=_optional_str(
            data.get("latest_successful_payment_intent_id")
        ),
    )


def payment_intent(data: Mapping[str, Any]) -> PaymentIntent:
    currency = normalise_currency(_required_str(data, "currency"))
    return PaymentIntent(
        id=_required_str(data, "id"),
        status=_required_str(data, "status"),
        amount_cents=amount_to_cents(_number(data, "amount"), currency),
        currency=currency,
        merchant_order_id=_optional_str(data.get("merchant_order_id")),
        metadata=string_map(data.get("metadata")),
        payment_link_id=_optional_str(data.get("payment_link_id")),
        created_at=parse_time(data.get("created_at")),
    )


def refund(data: Mapping[str, Any]) -> Refund:
    currency = normalise_currency(_required_str(data, "currency"))
    return Refund(
        id=_required_str(data, "id"),
        status=_required_str(data, "status"),
        payment_intent_id=_required_str(data, "payment_intent_id"),
        amount_cents=amount_to_cents(_number(data, "amount"), currency),
        currency=currency,
        request_id=_optional_str(data.get("request_id")),
    )


def list_items(data: object) -> tuple[list[Mapping[str, Any]], bool]:
    """The `items` and `has_more` of an Airwallex list answer."""
    if not isinstance(data, Mapping) or not isinstance(data.get("items"), list):
        raise PaymentProviderUnavailable(
            "Airwallex answered a list call without items", code="bad_response"
        )
    items = [item for item in data["items"] if isinstance(item, Mapping)]
    return items, data.get("has_more") is True


def string_map(value: object) -> dict[str, str]:
    if not isinstance(value, Mapping):
        return {}
    return {str(key): str(item) for key, item in value.items() if item is not None}


def parse_time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def format_time(moment: datetime) -> str:
    """ISO 8601 in UTC with Z; a naive datetime is taken to be UTC already (how we store time)."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _required_str(data: Mapping[str, Any], key: str) -> str:
    value = data[key]
    if not isinstance(value, str) or not value:
        raise ValueError(f"{key} is not a non-empty string")
    return value


def _optional_str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _number(data: Mapping[str, Any], key: str) -> Decimal | int:
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise ValueError(f"{key} is not a number")
    return value
