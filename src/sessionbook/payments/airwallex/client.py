"""AirwallexClient: the PaymentGateway adapter, talking to Airwallex (or its stand-in) over httpx.

Facts from the API reference (https://www.airwallex.com/docs/api and the OpenAPI spec in
github.com/airwallex/airwallex-openapi) that shape this module:

- Auth: POST /api/v1/authentication/login with headers `x-client-id` and `x-api-key` answers
  201 {token, expires_at}; the token is a Bearer token valid about 30 minutes, "can be reused
  until it expires" and Airwallex asks not to log in before each request. We cache it until
  shortly before `expires_at`, share one login between concurrent callers, and on a 401 log in
  again once and repeat the call once.
- `x-api-version` pins the contract per call; we send API_VERSION on every request.
- Errors are JSON {code, message, source?}; 404/`resource_not_found` = no such object,
  `validation_error` = bad input, `duplicate_request` = a request_id used before.
- Create a Payment Link takes no request_id, so a lost response cannot be replayed safely; we
  store our request_id in the link's metadata and, after an ambiguous failure, look for the link
  in GET /api/v1/pa/payment_links before creating again. Refunds do take a request_id; a replay
  answers `duplicate_request`, after which we fetch the refund we made via GET /api/v1/pa/refunds.

Retries: GETs and request_id-carrying POSTs retry on network errors, timeouts, 5xx and 429 with
exponential backoff and jitter; other POSTs retry only when the request never left (connect
errors) or was refused unprocessed (429). Credentials and the bearer token are never logged.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx
import structlog

from sessionbook.core.http_client import ProviderClient, RetryPolicy, exponential_backoff
from sessionbook.payments.airwallex import objects
from sessionbook.payments.airwallex.errors import (
    PaymentAuthenticationFailed,
    PaymentNotFound,
    PaymentProviderError,
    PaymentProviderUnavailable,
    PaymentRejected,
)
from sessionbook.payments.airwallex.gateway import PaymentIntent, PaymentLink, Refund
from sessionbook.payments.airwallex.money import cents_to_amount, json_number, normalise_currency
from sessionbook.payments.airwallex.responses import (
    error_from,
    json_body,
    network_failure,
    retry_after_seconds,
)

# A dated version documented by Airwallex (and pinned by its own Node SDK); bump deliberately.
API_VERSION = "2025-06-30"

LOGIN_PATH = "/api/v1/authentication/login"
PAYMENT_LINKS_PATH = "/api/v1/pa/payment_links"
PAYMENT_INTENTS_PATH = "/api/v1/pa/payment_intents"
REFUNDS_PATH = "/api/v1/pa/refunds"

_LIST_PAGE_SIZE = 100
_LIST_MAX_PAGES = 20
_REFUND_REASON_MAX = 128  # documented maximum length of `reason`
_LOST_LINK_LOOKBACK = timedelta(minutes=10)

log = structlog.get_logger(__name__)


class AirwallexClient(ProviderClient):
    """Airwallex Payment Links, Payment Intents and Refunds behind the PaymentGateway port."""

    def __init__(
        self,
        base_url: str,
        client_id: str,
        api_key: str,
        *,
        api_version: str = API_VERSION,
        timeout: float = 10.0,
        max_retries: int = 2,
        transport: httpx.AsyncBaseTransport | None = None,
        backoff_seconds: float = 0.2,
        max_backoff_seconds: float = 5.0,
        token_refresh_margin_seconds: float = 60.0,
    ) -> None:
        self._client_id = client_id
        self._api_key = api_key
        self._max_retries = max(0, max_retries)
        self._backoff_seconds = backoff_seconds
        self._max_backoff_seconds = max_backoff_seconds
        self._token_margin = token_refresh_margin_seconds
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            timeout=timeout,
            transport=transport,
            follow_redirects=False,
            headers={"x-api-version": api_version, "Accept": "application/json"},
        )
        self._token: str | None = None
        self._token_refresh_at = 0.0  # time.monotonic() after which we log in again
        self._login_lock = asyncio.Lock()

    # -- payment links -------------------------------------------------------------------

    async def create_payment_link(
        self,
        *,
        booking_id: str,
        amount_cents: int,
        currency: str,
        title: str,
        description: str | None,
        expires_at: datetime,
        request_id: str,
    ) -> PaymentLink:
        """A single-use, fixed-price link whose reference and metadata carry the booking id.

        Within this call a lost response is recovered without creating a second link. A caller
        retrying much later should check the link it may have stored first.
        """
        currency = normalise_currency(currency)
        if amount_cents <= 0:
            raise ValueError("a payment link needs a positive amount")
        body: dict[str, Any] = {
            "title": title,
            "reusable": False,
            "amount": json_number(cents_to_amount(amount_cents, currency)),
            "currency": currency,
            "reference": booking_id,
            "metadata": {"booking_id": booking_id, "request_id": request_id},
            "expires_at": objects.format_time(expires_at),
        }
        if description:
            body["description"] = description
        since = datetime.now(UTC) - _LOST_LINK_LOOKBACK
        tried = False

        async def look_then_create() -> PaymentLink:
            nonlocal tried
            if tried:
                # The link may exist even though its answer was lost: look before creating again.
                existing = await self._recover_link(booking_id, request_id, since)
                if existing is not None:
                    return existing
            tried = True
            data = await self._call("POST", f"{PAYMENT_LINKS_PATH}/create", body=body)
            # Decoded outside the retry: a 2xx means the link exists, so never create again.
            return objects.decode(objects.payment_link, data)

        try:
            return await self._retry_policy(replay_safe=False, creating_link=True).run(
                look_then_create, operation="create_payment_link"
            )
        except PaymentAuthenticationFailed:
            raise
        except PaymentProviderUnavailable:
            # The last answer may have been lost too.
            existing = await self._recover_link(booking_id, request_id, since)
            if existing is None:
                raise
            return existing

    async def _recover_link(
        self, booking_id: str, request_id: str, since: datetime
    ) -> PaymentLink | None:
        existing = await self._find_link(booking_id, request_id, since)
        if existing is not None:
            log.info("airwallex_link_recovered", booking_id=booking_id, link_id=existing.id)
        return existing

    async def get_payment_link(self, link_id: str) -> PaymentLink:
        data = await self._call("GET", f"{PAYMENT_LINKS_PATH}/{_segment(link_id)}")
        return objects.decode(objects.payment_link, data)

    async def deactivate_payment_link(self, link_id: str) -> None:
        path = f"{PAYMENT_LINKS_PATH}/{_segment(link_id)}/deactivate"
        try:
            # Deactivating twice changes nothing, so a replay after a lost answer is harmless.
            await self._call("POST", path, idempotent=True)
        except PaymentRejected as exc:
            if exc.code != "invalid_status_for_operation":
                raise
            if (await self.get_payment_link(link_id)).active:
                raise

    # -- payment intents -----------------------------------------------------------------

    async def get_payment_intent(self, intent_id: str) -> PaymentIntent:
        data = await self._call("GET", f"{PAYMENT_INTENTS_PATH}/{_segment(intent_id)}")
        return objects.decode(objects.payment_intent, data)

    async def find_payment_intents(self, *, merchant_order_id: str) -> list[PaymentIntent]:
        items = await self._list(PAYMENT_INTENTS_PATH, {"merchant_order_id": merchant_order_id})
        return [objects.decode(objects.payment_intent, item) for item in items]

    # -- refunds -------------------------------------------------------------------------

    async def create_refund(
        self,
        *,
        payment_intent_id: str,
        amount_cents: int,
        currency: str,
        request_id: str,
        reason: str,
    ) -> Refund:
        if amount_cents <= 0:
            raise ValueError("a refund needs a positive amount")
        body = {
            "request_id": request_id,
            "payment_intent_id": payment_intent_id,
            "amount": json_number(cents_to_amount(amount_cents, normalise_currency(currency))),
            "reason": reason[:_REFUND_REASON_MAX],
        }
        try:
            data = await self._call("POST", f"{REFUNDS_PATH}/create", body=body, idempotent=True)
        except PaymentRejected as exc:
            if exc.code != "duplicate_request":
                raise
            # Our earlier attempt got through; answer with the refund it made.
            existing = await self._find_refund(payment_intent_id, request_id)
            if existing is None:
                raise
            return existing
        return objects.decode(objects.refund, data)

    async def get_refund(self, refund_id: str) -> Refund:
        data = await self._call("GET", f"{REFUNDS_PATH}/{_segment(refund_id)}")
        return objects.decode(objects.refund, data)

    # -- lookups after ambiguous failures ------------------------------------------------

    async def _find_link(
        self, booking_id: str, request_id: str, since: datetime
    ) -> PaymentLink | None:
        items = await self._list(
            PAYMENT_LINKS_PATH, {"from_created_at": objects.format_time(since)}
        )
        for item in items:
            metadata = objects.string_map(item.get("metadata"))
            if metadata.get("request_id") == request_id and item.get("reference") == booking_id:
                return objects.decode(objects.payment_link, item)
        return None

    async def _find_refund(self, payment_intent_id: str, request_id: str) -> Refund | None:
        items = await self._list(REFUNDS_PATH, {"payment_intent_id": payment_intent_id})
        for item in items:
            if item.get("request_id") == request_id:
                return objects.decode(objects.refund, item)
        return None

    async def _list(self, path: str, params: dict[str, str]) -> list[Mapping[str, Any]]:
        collected: list[Mapping[str, Any]] = []
        for page in range(_LIST_MAX_PAGES):
            query = {**params, "page_num": str(page), "page_size": str(_LIST_PAGE_SIZE)}
            items, has_more = objects.list_items(await self._call("GET", path, params=query))
            collected.extend(items)
            if not has_more:
                break
        return collected

    # -- transport -----------------------------------------------------------------------

    async def _call(
        self,
        method: str,
        path: str,
        *,
        body: Mapping[str, Any] | None = None,
        params: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
    ) -> Any:
        """One API call with auth, retries and error mapping; returns the decoded JSON."""
        replay_safe = method == "GET" if idempotent is None else idempotent
        content = json.dumps(body).encode("utf-8") if body is not None else None
        headers = {"Content-Type": "application/json"} if content is not None else {}
        token = await self._bearer()
        response = await self._exchange(
            method, path, {**headers, "Authorization": f"Bearer {token}"}, content, params,
            replay_safe=replay_safe,
        )  # fmt: skip
        if response.status_code == 401:
            # Expired or revoked early: one fresh login, one more try. A 401 was not processed.
            token = await self._login_again(rejected=token)
            response = await self._exchange(
                method, path, {**headers, "Authorization": f"Bearer {token}"}, content, params,
                replay_safe=replay_safe,
            )  # fmt: skip
        if response.is_success:
            return json_body(response)
        raise error_from(response)

    async def _exchange(
        self,
        method: str,
        path: str,
        headers: Mapping[str, str],
        content: bytes | None,
        params: Mapping[str, str] | None,
        *,
        replay_safe: bool,
    ) -> httpx.Response:
        """Send with bounded retries; returns the first answer that is not worth retrying."""

        async def send() -> httpx.Response:
            response = await self._http.request(
                method, path, headers=headers, content=content, params=params
            )
            if response.status_code == 429 or response.status_code >= 500:
                raise _RefusedAnswer(response)
            return response

        try:
            return await self._retry_policy(replay_safe=replay_safe).run(
                send, operation=f"{method} {path}"
            )
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            failure: PaymentProviderError = network_failure(exc, "network")
        except httpx.TimeoutException as exc:
            failure = network_failure(exc, "timeout")
        except httpx.TransportError as exc:
            failure = network_failure(exc, "network")
        except _RefusedAnswer as refused:
            failure = error_from(refused.response)
        log.warning(
            "airwallex_call_failed",
            method=method,
            path=path,
            code=failure.code,
            status_code=failure.status_code,
        )
        raise failure

    def _retry_policy(self, *, replay_safe: bool, creating_link: bool = False) -> RetryPolicy:
        """Airwallex's retry policy, the one place that says what is tried again and when.

        A call is repeated when the request never left (connect errors), was refused unprocessed
        (429), or, for calls safe to replay, on any network error, timeout or 5xx. Creating a link
        is repeated after any unavailability, because each new try first looks for the link.
        Waits grow exponentially with jitter; a Retry-After is honoured up to our ceiling.
        """

        def worth_retrying(failure: BaseException) -> bool:
            if creating_link:
                return isinstance(failure, PaymentProviderUnavailable) and not isinstance(
                    failure, PaymentAuthenticationFailed
                )
            if isinstance(failure, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout):
                return True  # nothing reached Airwallex
            if isinstance(failure, _RefusedAnswer):
                return replay_safe or failure.response.status_code == 429
            return replay_safe and isinstance(failure, httpx.TransportError)

        def wait_for(failure: BaseException, attempt: int) -> float:
            backoff = exponential_backoff(
                attempt,
                base_seconds=self._backoff_seconds,
                ceiling_seconds=self._max_backoff_seconds,
                jitter_floor=0.5,
            )
            retry_after = (
                retry_after_seconds(failure.response)
                if isinstance(failure, _RefusedAnswer)
                else 0.0
            )
            return max(backoff, min(retry_after, self._max_backoff_seconds))

        return RetryPolicy(
            provider="airwallex",
            attempts=1 + self._max_retries,
            worth_retrying=worth_retrying,
            wait_for=wait_for,
            retry_event="airwallex_call_failed",
        )

    # -- login ---------------------------------------------------------------------------

    async def log_in(self) -> None:
        async with self._login_lock:
            self._token = None
            await self._login()

    async def _bearer(self) -> str:
        token = self._token
        if token is not None and time.monotonic() < self._token_refresh_at:
            return token
        async with self._login_lock:
            # Another caller may have logged in while we waited for the lock.
            if self._token is not None and time.monotonic() < self._token_refresh_at:
                return self._token
            return await self._login()

    async def _login_again(self, *, rejected: str) -> str:
        async with self._login_lock:
            if self._token is not None and self._token != rejected:
                return self._token  # someone already replaced the rejected token
            self._token = None
            return await self._login()

    async def _login(self) -> str:
        response = await self._exchange(
            "POST",
            LOGIN_PATH,
            {"x-client-id": self._client_id, "x-api-key": self._api_key},
            None,
            None,
            replay_safe=True,  # a login creates nothing
        )
        if not response.is_success:
            error = error_from(response)
            if isinstance(error, PaymentProviderUnavailable):
                raise error
            raise PaymentAuthenticationFailed(
                f"Airwallex refused our credentials: {error.message}",
                code=error.code,
                status_code=error.status_code,
            )
        data = json_body(response)
        token = data.get("token") if isinstance(data, Mapping) else None
        if not isinstance(token, str) or not token:
            raise PaymentProviderUnavailable("Airwallex login gave no token", code="bad_response")
        self._token = token
        self._token_refresh_at = time.monotonic() + self._reuse_seconds(data.get("expires_at"))
        log.info("airwallex_login")
        return token

    def _reuse_seconds(self, expires_at: object) -> float:
        try:
            expiry = objects.parse_time(expires_at)
        except ValueError:
            expiry = None
        lifetime = (expiry - datetime.now(UTC)).total_seconds() if expiry else 300.0
        # Keep a margin so a request never leaves with a token about to die in flight.
        return max(0.0, lifetime - min(self._token_margin, lifetime / 2))


class _RefusedAnswer(Exception):
    """A 429 or 5xx answer, raised inside the retry loop so the policy can judge it."""

    def __init__(self, response: httpx.Response) -> None:
        super().__init__(response.status_code)
        self.response = response


def _segment(identifier: str) -> str:
    """An id as one path segment, so a strange id cannot reach another endpoint."""
    if not identifier:
        raise PaymentNotFound("empty id", code="resource_not_found")
    return quote(identifier, safe="")
