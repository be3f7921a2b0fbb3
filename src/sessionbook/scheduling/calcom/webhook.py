"""Cal.com webhook deliveries: check the raw body's signature and read the booking it names.

Cal.com (packages/features/webhooks/lib/sendPayload.ts) posts
`{"triggerEvent", "createdAt", "payload": {...}}` and signs the exact body with
`X-Cal-Signature-256` = hex HMAC-SHA256(secret, body). A booking event's payload carries the
booking's `uid` and numeric `bookingId`; a BOOKING_RESCHEDULED names the NEW booking there and
the one it replaced in `rescheduleUid` / `rescheduleId` (factory/versioned/v2021-10-20/
BookingPayloadBuilder.ts). Deliveries carry no event id, so one is derived (see `event_key`).
Nothing here touches the database or the network.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

from sessionbook.core.errors import InvalidSignature, ValidationFailed

PROVIDER = "calcom"
SIGNATURE_HEADER = "X-Cal-Signature-256"
BOOKING_CANCELLED = "BOOKING_CANCELLED"
BOOKING_RESCHEDULED = "BOOKING_RESCHEDULED"
HANDLED_TRIGGERS = frozenset({BOOKING_CANCELLED, BOOKING_RESCHEDULED})
MAX_TRIGGER_LENGTH = 64  # the width of webhook_events.event_type


def signature_of(secret: str, body: bytes) -> str:
    """What Cal.com sends in X-Cal-Signature-256 for this body."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_signature(secret: str, body: bytes, signature: str | None) -> None:
    """Raise InvalidSignature unless `signature` is this body's, compared in constant time."""
    if not signature or not hmac.compare_digest(
        signature.strip().lower(), signature_of(secret, body)
    ):
        raise InvalidSignature()


@dataclass(frozen=True, slots=True)
class CalendarEvent:
    """One parsed delivery: the trigger, the booking it names and, for a move, the old one."""

    trigger: str
    created_at: str
    uid: str | None
    booking_id: int | None
    reschedule_uid: str | None
    payload: dict[str, Any]

    @property
    def key(self) -> str:
        return event_key(self.trigger, self.uid, self.created_at)

    @property
    def our_uid(self) -> str | None:
        """The uid a session of ours would hold: the old one of a move, else the booking's."""
        if self.trigger == BOOKING_RESCHEDULED:
            return self.reschedule_uid
        return self.uid


def event_key(trigger: str, uid: str | None, created_at: str) -> str:
    """The dedupe id of a delivery: SHA-256 of trigger, booking uid and `createdAt`.

    Cal.com sends no event id. A redelivery repeats these three exactly, while the body's own
    bytes may be serialised anew; two different events of one booking differ in trigger or
    time. Hashing keeps the key within the column whatever the uid's length.
    """
    text = f"{trigger}\n{uid or ''}\n{created_at}"
    return "calcom:" + hashlib.sha256(text.encode()).hexdigest()


def parse_event(body: bytes) -> CalendarEvent:
    """Read a verified body; ValidationFailed when it is not Cal.com's shape at all."""
    try:
        document = json.loads(body)
    except ValueError:
        raise ValidationFailed("The webhook body is not JSON.") from None
    if not isinstance(document, dict):
        raise ValidationFailed("The webhook body is not a JSON object.")
    return parse_event_document(document)


def parse_event_document(document: dict[str, Any]) -> CalendarEvent:
    """Read a delivery's JSON object (as stored); ValidationFailed without a triggerEvent."""
    trigger = document.get("triggerEvent")
    if not isinstance(trigger, str) or not trigger or len(trigger) > MAX_TRIGGER_LENGTH:
        raise ValidationFailed("The webhook has no triggerEvent.")
    created_at = document.get("createdAt")
    payload = document.get("payload")
    if not isinstance(payload, dict):
        payload = {}
    booking_id = payload.get("bookingId")
    return CalendarEvent(
        trigger=trigger,
        created_at=created_at if isinstance(created_at, str) else "",
        uid=_text(payload.get("uid")),
        booking_id=booking_id if isinstance(booking_id, int) else None,
        reschedule_uid=_text(payload.get("rescheduleUid")),
        payload=document,
    )


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
