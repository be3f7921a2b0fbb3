"""Airwallex webhook deliveries: verify the raw body's signature, parse it, and classify it.

Nothing here touches the database or the network: the service stores what `parse_event`
returns and decides what to do from `EventKind` and `PaymentReferences`.

Event names (https://www.airwallex.com/docs/developer-tools/webhooks/listen-for-webhook-events,
"Payment Acceptance" events): a successful payment is `payment_intent.succeeded`; a declined or
failed try is one of the `payment_attempt.*` failures below (Airwallex has no plain
`payment_attempt.failed`, but the contract names it, so it is accepted too); refunds move through
`refund.received`, `refund.accepted`, `refund.settled` or `refund.failed`. The original
specification's `payment.succeeded`, `payment.failed` and `refund.received` are accepted as well.
"""

from __future__ import annotations

import enum
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sessionbook.core.errors import InvalidSignature, ValidationFailed
from sessionbook.payments.airwallex.money import MoneyError, amount_to_cents, normalise_currency
from sessionbook.payments.airwallex.signature import is_recent, signature_matches

PROVIDER = "airwallex"
SIGNATURE_TOLERANCE_SECONDS = 300
MAX_EVENT_ID_LENGTH = 128  # the width of webhook_events.event_id
MAX_EVENT_NAME_LENGTH = 64  # the width of webhook_events.event_type


class EventKind(enum.Enum):
    """What an event asks us to look into."""

    PAYMENT_SUCCEEDED = "payment_succeeded"
    PAYMENT_FAILED = "payment_failed"
    REFUND = "refund"


_KINDS: dict[str, EventKind] = {
    "payment_intent.succeeded": EventKind.PAYMENT_SUCCEEDED,
    "payment.succeeded": EventKind.PAYMENT_SUCCEEDED,
    "payment_intent.cancelled": EventKind.PAYMENT_FAILED,
    "payment_attempt.failed": EventKind.PAYMENT_FAILED,
    "payment_attempt.authorization_failed": EventKind.PAYMENT_FAILED,
    "payment_attempt.failed_to_process": EventKind.PAYMENT_FAILED,
    "payment_attempt.risk_declined": EventKind.PAYMENT_FAILED,
    "payment_attempt.authentication_failed": EventKind.PAYMENT_FAILED,
    "payment_attempt.capture_failed": EventKind.PAYMENT_FAILED,
    "payment_attempt.expired": EventKind.PAYMENT_FAILED,
    "payment_attempt.cancelled": EventKind.PAYMENT_FAILED,
    "payment.failed": EventKind.PAYMENT_FAILED,
    "refund.received": EventKind.REFUND,
    "refund.accepted": EventKind.REFUND,
    "refund.settled": EventKind.REFUND,
    "refund.failed": EventKind.REFUND,
}
HANDLED_EVENT_NAMES = frozenset(_KINDS)


@dataclass(frozen=True)
class IncomingEvent:
    """One parsed delivery: Airwallex's event id, its name and the whole JSON payload."""

    id: str
    name: str
    payload: dict[str, Any]

    @property
    def kind(self) -> EventKind | None:
        return kind_of(self.name)

    @property
    def object(self) -> Mapping[str, Any]:
        return event_object(self.payload)


def kind_of(name: str) -> EventKind | None:
    return _KINDS.get(name)


def event_object(payload: Mapping[str, Any]) -> Mapping[str, Any]:
    """`data.object` of an event (the API object it is about), or an empty mapping."""
    data = payload.get("data")
    found = data.get("object") if isinstance(data, Mapping) else None
    return found if isinstance(found, Mapping) else {}


class StaleDelivery(InvalidSignature):
    """Signed with our secret, but at a time outside the tolerance: refused all the same.

    Airwallex does not say whether its retries are signed afresh; if one reuses the first
    attempt's `x-timestamp` it lands here, so the service keeps the event for the sweep.
    """

    default_message = "The webhook signature is too old."


def verify_delivery(
    secret: str,
    timestamp: str | None,
    signature: str | None,
    raw_body: bytes,
    *,
    now_ms: int,
) -> None:
    """Raise InvalidSignature unless the body is signed with our secret, recently.

    A right signature on an old or future timestamp raises StaleDelivery (a kind of
    InvalidSignature). Checked on the raw bytes before any parsing, so an unsigned body is
    never even decoded.
    """
    if not signature_matches(secret, timestamp, signature, raw_body):
        raise InvalidSignature()
    assert timestamp is not None
    if not is_recent(timestamp, now_ms=now_ms, tolerance_seconds=SIGNATURE_TOLERANCE_SECONDS):
        raise StaleDelivery()


def _reject_constant(name: str) -> Any:
    # NaN and Infinity are not JSON; PostgreSQL would refuse to store them later.
    raise ValueError(f"{name} is not valid JSON")


def parse_event(raw_body: bytes) -> IncomingEvent:
    """The event in a verified body, or ValidationFailed naming what is wrong."""
    try:
        payload = json.loads(raw_body, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        raise ValidationFailed(
            "The webhook body is not valid JSON.", fields={"body": "is not valid JSON"}
        ) from None
    if not isinstance(payload, dict):
        raise ValidationFailed(
            "The webhook body must be a JSON object.", fields={"body": "must be a JSON object"}
        )
    event_id = payload.get("id")
    # Airwallex calls it `name`; some older payloads and tools say `type`.
    name = payload.get("name", payload.get("type"))
    fields: dict[str, str] = {}
    if not isinstance(event_id, str) or not event_id.strip():
        fields["id"] = "is required"
    elif len(event_id.strip()) > MAX_EVENT_ID_LENGTH:
        fields["id"] = f"must be at most {MAX_EVENT_ID_LENGTH} characters"
    if not isinstance(name, str) or not name.strip():
        fields["name"] = "is required"
    elif len(name.strip()) > MAX_EVENT_NAME_LENGTH:
        fields["name"] = f"must be at most {MAX_EVENT_NAME_LENGTH} characters"
    if fields:
        raise ValidationFailed("The webhook event is not valid.", fields=fields)
    assert isinstance(event_id, str)
    assert isinstance(name, str)
    return IncomingEvent(id=event_id.strip(), name=name.strip(), payload=payload)


@dataclass(frozen=True)
class PaymentReferences:
    """What an event's object says about which booking it concerns, from what we sent."""

    link_id: str | None
    booking_ids: tuple[uuid.UUID, ...]
    intent_id: str | None


def references(name: str, obj: Mapping[str, Any]) -> PaymentReferences:
    """Pick out the payment link, booking id and payment intent an object points at.

    Booking ids come only from fields we filled ourselves when creating the link (`reference`,
    copied into `merchant_order_id`, and `metadata.booking_id`); a booking token never is one.
    """
    metadata = obj.get("metadata")
    candidates = [
        metadata.get("booking_id") if isinstance(metadata, Mapping) else None,
        obj.get("merchant_order_id"),
        obj.get("reference"),
    ]
    booking_ids: list[uuid.UUID] = []
    for candidate in candidates:
        booking_id = _as_uuid(candidate)
        if booking_id is not None and booking_id not in booking_ids:
            booking_ids.append(booking_id)
    intent_id = _text(obj.get("payment_intent_id"))
    if intent_id is None and name.startswith(("payment_intent.", "payment.")):
        intent_id = _text(obj.get("id"))
    return PaymentReferences(
        link_id=_text(obj.get("payment_link_id")),
        booking_ids=tuple(booking_ids),
        intent_id=intent_id,
    )


def price_of(obj: Mapping[str, Any]) -> tuple[int, str] | None:
    """(minor units, currency) of a payment object's `amount` and `currency`, if readable."""
    amount = obj.get("amount")
    currency = obj.get("currency")
    if not isinstance(currency, str) or not isinstance(amount, int | float | str):
        return None
    try:
        code = normalise_currency(currency)
        return amount_to_cents(amount, code), code
    except MoneyError:
        return None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and 0 < len(value) <= 64 else None


def _as_uuid(value: object) -> uuid.UUID | None:
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        return None
