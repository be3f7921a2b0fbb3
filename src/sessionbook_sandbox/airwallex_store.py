"""In-memory records of the Airwallex stand-in, and their JSON exactly as the API documents it.

Shapes follow the API reference (github.com/airwallex/airwallex-openapi, `PaymentLink`,
`PaymentIntent`, `Refund`; https://www.airwallex.com/docs/api): amounts are JSON numbers in
major units, link ids are UUIDs, intent ids start `int_`, refund ids `rfd_`, attempt ids `att_`.
Errors are {code, message, source?}.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sessionbook_sandbox.airwallex_money import to_json_number

LINK_UNPAID = "UNPAID"
LINK_PAID = "PAID"
INTENT_REQUIRES_PAYMENT_METHOD = "REQUIRES_PAYMENT_METHOD"
INTENT_SUCCEEDED = "SUCCEEDED"
REFUND_RECEIVED = "RECEIVED"
REFUND_ACCEPTED = "ACCEPTED"
REFUND_SETTLED = "SETTLED"
REFUND_FAILED = "FAILED"


class APIError(Exception):
    """An answer in Airwallex's error shape."""

    def __init__(self, status: int, code: str, message: str, source: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.source = source

    def body(self) -> dict[str, str]:
        payload = {"code": self.code, "message": self.message}
        if self.source is not None:
            payload["source"] = self.source
        return payload


def not_found(resource_id: str) -> APIError:
    return APIError(
        404, "resource_not_found", f"The resource with ID {resource_id} cannot be found"
    )


def utcnow() -> datetime:
    return datetime.now(UTC)


def timestamp(moment: datetime | None) -> str | None:
    """Airwallex's time format, e.g. 2021-08-17T11:00:00+0000."""
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(10)}"


@dataclass
class LinkRecord:
    title: str
    description: str | None
    amount: Decimal
    currency: str
    reusable: bool
    reference: str | None
    metadata: dict[str, str]
    expires_at: datetime | None
    url_base: str
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)
    active: bool = True
    status: str = LINK_UNPAID
    latest_successful_payment_intent_id: str | None = None
    successful_payment_intent_count: int = 0
    open_intent_id: str | None = None  # the intent the hosted page is collecting for

    @property
    def url(self) -> str:
        return f"{self.url_base}/pay/{self.id}"

    def payable_problem(self, now: datetime) -> str | None:
        """Why this link cannot take a payment now, or None when it can."""
        if not self.active:
            return "This payment link has been deactivated."
        if self.expires_at is not None and self.expires_at <= now:
            return "This payment link has expired."
        if not self.reusable and self.status == LINK_PAID:
            return "This payment link has already been paid."
        return None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "url": self.url,
            "title": self.title,
            "description": self.description,
            "amount": to_json_number(self.amount),
            "currency": self.currency,
            "reusable": self.reusable,
            "active": self.active,
            "status": self.status,
            "reference": self.reference,
            "metadata": dict(self.metadata),
            "expires_at": timestamp(self.expires_at),
            "latest_successful_payment_intent_id": self.latest_successful_payment_intent_id,
            "successful_payment_intent_count": self.successful_payment_intent_count,
            "collectable_shopper_info": {
                "billing_address": False,
                "message": True,
                "phone_number": False,
                "reference": False,
                "shipping_address": False,
            },
            "created_at": timestamp(self.created_at),
            "updated_at": timestamp(self.updated_at),
        }


@dataclass
class AttemptRecord:
    payment_intent_id: str
    amount: Decimal
    currency: str
    status: str
    failure_code: str | None = None
    id: str = field(default_factory=lambda: new_id("att"))
    created_at: datetime = field(default_factory=utcnow)

    def to_json(self) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "id": self.id,
            "payment_intent_id": self.payment_intent_id,
            "amount": to_json_number(self.amount),
            "currency": self.currency,
            "status": self.status,
            "payment_method": {"type": "card", "card": {"brand": "visa", "last4": "4242"}},
            "created_at": timestamp(self.created_at),
            "updated_at": timestamp(self.created_at),
        }
        if self.failure_code is not None:
            payload["failure_code"] = self.failure_code
        return payload


@dataclass
class IntentRecord:
    amount: Decimal
    currency: str
    merchant_order_id: str | None
    metadata: dict[str, str]
    payment_link_id: str | None
    # False: the intent carries no link id, merchant_order_id or metadata (see Store).
    names_its_link: bool = True
    id: str = field(default_factory=lambda: new_id("int"))
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    status: str = INTENT_REQUIRES_PAYMENT_METHOD
    captured_amount: Decimal = Decimal(0)
    attempts: list[AttemptRecord] = field(default_factory=list)
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)

    def to_json(self) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "id": self.id,
            "request_id": self.request_id,
            "amount": to_json_number(self.amount),
            "currency": self.currency,
            "status": self.status,
            "captured_amount": to_json_number(self.captured_amount),
            "created_at": timestamp(self.created_at),
            "updated_at": timestamp(self.updated_at),
        }
        if self.names_its_link:
            payload["merchant_order_id"] = self.merchant_order_id
            payload["metadata"] = dict(self.metadata)
            payload["payment_link_id"] = self.payment_link_id
        if self.attempts:
            payload["latest_payment_attempt"] = self.attempts[-1].to_json()
        return payload


@dataclass
class RefundRecord:
    request_id: str
    payment_intent_id: str
    payment_attempt_id: str | None
    amount: Decimal
    currency: str
    reason: str | None
    metadata: dict[str, str]
    id: str = field(default_factory=lambda: new_id("rfd"))
    status: str = REFUND_RECEIVED
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "request_id": self.request_id,
            "payment_intent_id": self.payment_intent_id,
            "payment_attempt_id": self.payment_attempt_id,
            "amount": to_json_number(self.amount),
            "currency": self.currency,
            "reason": self.reason,
            "metadata": dict(self.metadata),
            "status": self.status,
            "created_at": timestamp(self.created_at),
            "updated_at": timestamp(self.updated_at),
        }


@dataclass
class Store:
    """Everything the stand-in knows; guarded by the sandbox's single asyncio lock."""

    links: dict[str, LinkRecord] = field(default_factory=dict)
    intents: dict[str, IntentRecord] = field(default_factory=dict)
    refunds: dict[str, RefundRecord] = field(default_factory=dict)
    refund_ids_by_request: dict[str, str] = field(default_factory=dict)
    tokens: dict[str, float] = field(default_factory=dict)  # bearer token -> expiry (epoch s)
    logins: int = 0
    refund_failures_pending: int = 0
    # Whether an intent made on a link's page names that link (and copies its reference and
    # metadata). Airwallex documents none of these on such intents, so tests turn it off.
    intents_name_their_link: bool = True

    def refunded_amount(self, intent_id: str) -> Decimal:
        return sum(
            (
                refund.amount
                for refund in self.refunds.values()
                if refund.payment_intent_id == intent_id and refund.status != REFUND_FAILED
            ),
            Decimal(0),
        )
