"""What the Airwallex stand-in does: logins, links, payments on the hosted page, refunds.

Documented behaviour it reproduces (https://www.airwallex.com/docs/api, OpenAPI spec in
github.com/airwallex/airwallex-openapi; payment statuses at
https://www.airwallex.com/docs/payments/reference/payment-statuses):
- login answers 201 {token, expires_at}; other calls need `Authorization: Bearer <token>`,
  else 401 {code: "unauthorized"}; wrong credentials give 401 {code: "credentials_invalid"}.
- a paid link turns `status` PAID and names `latest_successful_payment_intent_id`; the intent
  created by the hosted page carries `payment_link_id`.
- a failed attempt sends the intent back to REQUIRES_PAYMENT_METHOD, so the shopper may retry;
  the documented event for a declined card is `payment_attempt.authorization_failed`.
- refunds start RECEIVED, then ACCEPTED, then SETTLED (or FAILED), with `refund.<status>` events;
  reusing a request_id answers 400 `duplicate_request`.
Not documented, chosen here: the intent names its link in `payment_link_id` and copies the
link's `reference` into `merchant_order_id` and the link's `metadata` (a test hook makes it
carry none of these, as Airwallex may well do); an expired or deactivated link cannot be paid.
"""

from __future__ import annotations

import asyncio
import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from sessionbook_sandbox.airwallex_contract import SERVED_API_VERSION
from sessionbook_sandbox.airwallex_faults import FaultInjector
from sessionbook_sandbox.airwallex_store import (
    INTENT_REQUIRES_PAYMENT_METHOD,
    INTENT_SUCCEEDED,
    LINK_PAID,
    REFUND_ACCEPTED,
    REFUND_FAILED,
    REFUND_SETTLED,
    APIError,
    AttemptRecord,
    IntentRecord,
    LinkRecord,
    RefundRecord,
    Store,
    not_found,
    timestamp,
    utcnow,
)
from sessionbook_sandbox.airwallex_webhooks import WebhookDispatcher


@dataclass(frozen=True)
class SandboxConfig:
    client_id: str
    api_key: str
    webhook_url: str | None
    webhook_secret: str
    public_base_url: str
    site_name: str
    return_url: str | None
    token_ttl_seconds: float
    webhook_retry_delays: tuple[float, ...]
    webhook_timeout_seconds: float
    refund_step_seconds: float
    account_id: str = "acct_sandbox_sessionbook"
    webhook_version: str = SERVED_API_VERSION


class AirwallexSandbox:
    """State and behaviour of one stand-in; every change happens under `self.lock`."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.store = Store()
        self.lock = asyncio.Lock()
        self.faults = FaultInjector()
        self.webhooks = WebhookDispatcher(
            url=config.webhook_url,
            secret=config.webhook_secret,
            retry_delays=config.webhook_retry_delays,
            timeout_seconds=config.webhook_timeout_seconds,
            account_id=config.account_id,
            version=config.webhook_version,
        )

    # -- authentication ------------------------------------------------------------------

    async def login(self, client_id: str | None, api_key: str | None) -> dict[str, str | None]:
        if not client_id or not api_key:
            raise APIError(
                400, "validation_error", "x-client-id and x-api-key headers must be provided"
            )
        # Both compared in full, in constant time, so timing tells nothing about either.
        client_ok = hmac.compare_digest(client_id.encode(), self.config.client_id.encode())
        key_ok = hmac.compare_digest(api_key.encode(), self.config.api_key.encode())
        if not (client_ok and key_ok):
            raise APIError(401, "credentials_invalid", "The client id or API key is invalid")
        token = secrets.token_urlsafe(32)
        expires = time.time() + self.config.token_ttl_seconds
        async with self.lock:
            self.store.tokens[token] = expires
            self.store.logins += 1
        return {"token": token, "expires_at": timestamp(datetime.fromtimestamp(expires, UTC))}

    def check_bearer(self, authorization: str | None) -> None:
        scheme, _, token = (authorization or "").partition(" ")
        expires = self.store.tokens.get(token.strip()) if scheme.lower() == "bearer" else None
        if expires is None or expires <= time.time():
            raise APIError(401, "unauthorized", "Access denied, authentication failed")

    async def expire_tokens(self) -> int:
        async with self.lock:
            count = len(self.store.tokens)
            self.store.tokens.clear()
        return count

    # -- payment links -------------------------------------------------------------------

    async def create_link(
        self,
        *,
        title: str,
        description: str | None,
        amount: Decimal,
        currency: str,
        reusable: bool,
        reference: str | None,
        metadata: dict[str, str],
        expires_at: datetime | None,
    ) -> LinkRecord:
        link = LinkRecord(
            title=title,
            description=description,
            amount=amount,
            currency=currency,
            reusable=reusable,
            reference=reference,
            metadata=metadata,
            expires_at=expires_at,
            url_base=self.config.public_base_url,
        )
        async with self.lock:
            self.store.links[link.id] = link
        return link

    def get_link(self, link_id: str) -> LinkRecord:
        link = self.store.links.get(link_id)
        if link is None:
            raise not_found(link_id)
        return link

    async def set_link_active(self, link_id: str, active: bool) -> LinkRecord:
        async with self.lock:
            link = self.get_link(link_id)
            if link.active == active:
                state = "active" if active else "inactive"
                raise APIError(
                    400, "invalid_status_for_operation", f"The payment link is already {state}"
                )
            link.active = active
            link.updated_at = utcnow()
        return link

    # -- paying on the hosted page -------------------------------------------------------

    async def attempt_payment(self, link_id: str, *, succeed: bool) -> IntentRecord:
        """One try by the shopper; a decline leaves the link payable for another try."""
        async with self.lock:
            link = self.get_link(link_id)
            now = utcnow()
            problem = link.payable_problem(now)
            if problem is not None:
                raise APIError(400, "invalid_status_for_operation", problem)
            intent = self._open_intent(link)
            if succeed:
                attempt = AttemptRecord(
                    intent.id, intent.amount, intent.currency, "CAPTURE_REQUESTED"
                )
                intent.attempts.append(attempt)
                intent.status = INTENT_SUCCEEDED
                intent.captured_amount = intent.amount
                intent.updated_at = now
                link.status = LINK_PAID
                link.latest_successful_payment_intent_id = intent.id
                link.successful_payment_intent_count += 1
                link.open_intent_id = None
                link.updated_at = now
                self.webhooks.publish("payment_intent.succeeded", intent.to_json())
            else:
                attempt = AttemptRecord(
                    intent.id, intent.amount, intent.currency, "FAILED", "issuer_declined"
                )
                intent.attempts.append(attempt)
                intent.status = INTENT_REQUIRES_PAYMENT_METHOD
                intent.updated_at = now
                self.webhooks.publish("payment_attempt.authorization_failed", attempt.to_json())
            return intent

    def _open_intent(self, link: LinkRecord) -> IntentRecord:
        if link.open_intent_id is not None:
            return self.store.intents[link.open_intent_id]
        intent = IntentRecord(
            amount=link.amount,
            currency=link.currency,
            merchant_order_id=link.reference,
            metadata=dict(link.metadata),
            payment_link_id=link.id,
            names_its_link=self.store.intents_name_their_link,
        )
        self.store.intents[intent.id] = intent
        link.open_intent_id = intent.id
        self.webhooks.publish("payment_intent.created", intent.to_json())
        return intent

    def get_intent(self, intent_id: str) -> IntentRecord:
        intent = self.store.intents.get(intent_id)
        if intent is None:
            raise not_found(intent_id)
        return intent

    # -- refunds -------------------------------------------------------------------------

    async def create_refund(
        self,
        *,
        request_id: str,
        payment_intent_id: str | None,
        payment_attempt_id: str | None,
        amount: Decimal | None,
        reason: str | None,
        metadata: dict[str, str],
    ) -> RefundRecord:
        async with self.lock:
            if request_id in self.store.refund_ids_by_request:
                raise APIError(
                    400,
                    "duplicate_request",
                    f"The request ID {request_id} has been used previously.",
                )
            intent = self.intent_for_refund(payment_intent_id, payment_attempt_id)
            if intent.status != INTENT_SUCCEEDED:
                raise APIError(
                    400,
                    "invalid_status_for_operation",
                    f"Payment Intent {intent.id} is {intent.status}, not SUCCEEDED",
                )
            refundable = intent.captured_amount - self.store.refunded_amount(intent.id)
            chosen = refundable if amount is None else amount
            if chosen <= 0 or chosen > refundable:
                raise APIError(
                    400,
                    "amount_above_limit",
                    f"The operating amount {chosen} is above the limit {refundable}.",
                    source="amount",
                )
            refund = RefundRecord(
                request_id=request_id,
                payment_intent_id=intent.id,
                payment_attempt_id=intent.attempts[-1].id if intent.attempts else None,
                amount=chosen,
                currency=intent.currency,
                reason=reason,
                metadata=metadata,
            )
            self.store.refunds[refund.id] = refund
            self.store.refund_ids_by_request[request_id] = refund.id
            fail = self.store.refund_failures_pending > 0
            if fail:
                self.store.refund_failures_pending -= 1
            self.webhooks.publish("refund.received", refund.to_json())
        self.webhooks.spawn(self._progress_refund(refund.id, fail=fail))
        return refund

    def intent_for_refund(
        self, payment_intent_id: str | None, payment_attempt_id: str | None
    ) -> IntentRecord:
        if payment_intent_id:
            intent = self.store.intents.get(payment_intent_id)
            if intent is None:
                raise APIError(
                    400,
                    "resource_not_found",
                    f"The resource with ID {payment_intent_id} cannot be found",
                )
            return intent
        for intent in self.store.intents.values():
            if any(attempt.id == payment_attempt_id for attempt in intent.attempts):
                return intent
        raise APIError(
            400, "resource_not_found", f"The resource with ID {payment_attempt_id} cannot be found"
        )

    async def _progress_refund(self, refund_id: str, *, fail: bool) -> None:
        """Move a refund on as the processor would: accepted, then settled (or failed)."""
        for status in (REFUND_ACCEPTED, REFUND_FAILED if fail else REFUND_SETTLED):
            await asyncio.sleep(self.config.refund_step_seconds)
            async with self.lock:
                refund = self.store.refunds.get(refund_id)
                if refund is None:  # the sandbox was reset meanwhile
                    return
                refund.status = status
                refund.updated_at = utcnow()
                self.webhooks.publish(f"refund.{status.lower()}", refund.to_json())

    def get_refund(self, refund_id: str) -> RefundRecord:
        refund = self.store.refunds.get(refund_id)
        if refund is None:
            raise not_found(refund_id)
        return refund

    async def reset(self) -> None:
        async with self.lock:
            self.store = Store()
            self.faults.clear()
            self.webhooks.reset()
