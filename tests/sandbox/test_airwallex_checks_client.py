"""The Airwallex stand-in, written from Airwallex's docs, holds our client to those docs.

Each test would fail if the stand-in and our client agreed on something the docs do not say:
its webhook signatures must pass our real verifier and match a vector computed from the
documented recipe, and it refuses what Airwallex refuses (no token, another API version).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sessionbook.payments.airwallex.client import AirwallexClient
from sessionbook.payments.airwallex.errors import PaymentProviderError
from sessionbook.payments.airwallex.signature import sign, verify
from sessionbook_sandbox.airwallex import create_airwallex_sandbox
from sessionbook_sandbox.airwallex_signing import webhook_signature
from tests.support.live_server import live_server

CLIENT_ID = "standin-client"
API_KEY = "standin-api-key"
SECRET = "whsec_standin"
SANDBOX_URL = "http://airwallex.sandbox.test"
LOGIN = "/api/v1/authentication/login"
CREATE_LINK = "/api/v1/pa/payment_links/create"

# From the docs' recipe, computed outside Python:
#   printf '%s' '1357872222592{"id":"evt_doc","name":"payment_intent.succeeded"}' \
#     | openssl dgst -sha256 -hmac whsec_documented
DOC_SECRET = "whsec_documented"
DOC_TIMESTAMP_MS = 1357872222592  # the docs' own example x-timestamp
DOC_BODY = b'{"id":"evt_doc","name":"payment_intent.succeeded"}'
DOC_SIGNATURE = "e031e4069257b69021ce73aecbd7c51b717c8235f888e50f17bd720aaee98088"


@dataclass(frozen=True)
class Delivery:
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    url: str = ""
    deliveries: list[Delivery] = field(default_factory=list)

    async def first(self, timeout: float = 5.0) -> Delivery:
        deadline = time.monotonic() + timeout
        while not self.deliveries:
            assert time.monotonic() < deadline, "the stand-in delivered no webhook"
            await asyncio.sleep(0.02)
        return self.deliveries[0]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    async def accept(request: Request) -> Response:
        state.deliveries.append(Delivery(dict(request.headers), await request.body()))
        return Response(status_code=200)

    with live_server(Starlette(routes=[Route("/hook", accept, methods=["POST"])])) as url:
        state.url = f"{url}/hook"
        yield state


def stand_in(receiver: Receiver, *, webhook_secret: str = SECRET) -> Starlette:
    return create_airwallex_sandbox(
        client_id=CLIENT_ID,
        api_key=API_KEY,
        webhook_url=receiver.url,
        webhook_secret=webhook_secret,
        public_base_url=SANDBOX_URL,
        webhook_retry_delays=(0.0,),
    )


def raw_http(app: Starlette) -> httpx.AsyncClient:
    """Plain HTTP to the stand-in, in process, as any Airwallex caller would send it."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=SANDBOX_URL)


@pytest.fixture
def app(receiver: Receiver) -> Starlette:
    return stand_in(receiver)


@pytest.fixture
async def http(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with raw_http(app) as client:
        yield client


def our_client(app: Starlette, **options: Any) -> AirwallexClient:
    return AirwallexClient(
        SANDBOX_URL,
        CLIENT_ID,
        API_KEY,
        transport=httpx.ASGITransport(app=app),
        backoff_seconds=0.0,
        **options,
    )


async def pay_a_link(app: Starlette, *, amount_cents: int = 1999, currency: str = "USD") -> str:
    """Create a link with our client and pay it on the stand-in; returns the link id."""
    async with our_client(app) as client:
        link = await client.create_payment_link(
            booking_id="bk_standin",
            amount_cents=amount_cents,
            currency=currency,
            title="Single session",
            description=None,
            expires_at=datetime.now(UTC) + timedelta(hours=1),
            request_id="standin-link-1",
        )
    async with raw_http(app) as http:
        paid = await http.post(f"/_sandbox/pay/{link.id}", json={"outcome": "succeeded"})
        assert paid.status_code == 200, paid.text
    return link.id


def now_ms() -> int:
    return int(time.time() * 1000)


# -- webhook signatures ------------------------------------------------------------------


def test_both_sides_match_the_documented_vector() -> None:
    assert webhook_signature(DOC_SECRET, DOC_TIMESTAMP_MS, DOC_BODY) == DOC_SIGNATURE
    assert sign(DOC_SECRET, str(DOC_TIMESTAMP_MS), DOC_BODY) == DOC_SIGNATURE


async def test_a_delivered_webhook_passes_our_verifier(receiver: Receiver) -> None:
    await pay_a_link(stand_in(receiver))
    delivery = await receiver.first()

    stamp = delivery.headers["x-timestamp"]
    assert stamp.isdigit()
    assert abs(int(stamp) - now_ms()) < 60_000, "x-timestamp must be Unix milliseconds"
    signature = delivery.headers["x-signature"]
    expected = hmac.new(SECRET.encode(), stamp.encode() + delivery.body, hashlib.sha256)
    assert signature == expected.hexdigest()
    assert verify(SECRET, stamp, signature, delivery.body, now_ms=now_ms())


async def test_our_verifier_refuses_the_delivery_under_another_secret(
    receiver: Receiver,
) -> None:
    await pay_a_link(stand_in(receiver))
    delivery = await receiver.first()

    stamp, signature = delivery.headers["x-timestamp"], delivery.headers["x-signature"]
    assert not verify("whsec_someone_else", stamp, signature, delivery.body, now_ms=now_ms())
    assert not verify(SECRET, stamp, signature, delivery.body + b" ", now_ms=now_ms())


async def test_without_a_secret_nothing_is_signed_and_our_verifier_refuses(
    receiver: Receiver,
) -> None:
    await pay_a_link(stand_in(receiver, webhook_secret=""))
    delivery = await receiver.first()

    assert "x-signature" not in delivery.headers
    assert not verify(SECRET, delivery.headers["x-timestamp"], None, delivery.body, now_ms=now_ms())


def _hex(secret: str, message: bytes, digest: str = "sha256") -> str:
    return hmac.new(secret.encode(), message, digest).hexdigest()


def _b64(secret: str, message: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest()).decode()


@pytest.mark.parametrize(
    "misformat",
    [
        "timestamp_in_seconds",
        "body_before_timestamp",
        "dot_between",
        "base64_digest",
        "sha1",
        "api_key_as_secret",
    ],
)
def test_our_verifier_refuses_signatures_not_made_the_documented_way(misformat: str) -> None:
    """What a stand-in (or Airwallex) signing another way would send; none may pass."""
    body = DOC_BODY
    stamp = str(now_ms())
    made: dict[str, tuple[str, str]] = {
        "timestamp_in_seconds": (
            str(int(stamp) // 1000),
            _hex(SECRET, str(int(stamp) // 1000).encode() + body),
        ),
        "body_before_timestamp": (stamp, _hex(SECRET, body + stamp.encode())),
        "dot_between": (stamp, _hex(SECRET, stamp.encode() + b"." + body)),
        "base64_digest": (stamp, _b64(SECRET, stamp.encode() + body)),
        "sha1": (stamp, _hex(SECRET, stamp.encode() + body, "sha1")),
        "api_key_as_secret": (stamp, _hex(API_KEY, stamp.encode() + body)),
    }
    sent_stamp, signature = made[misformat]
    assert verify(SECRET, stamp, _hex(SECRET, stamp.encode() + body), body, now_ms=now_ms())
    assert not verify(SECRET, sent_stamp, signature, body, now_ms=now_ms())


# -- what the API refuses -----------------------------------------------------------------


async def _token(http: httpx.AsyncClient) -> str:
    answer = await http.post(LOGIN, headers={"x-client-id": CLIENT_ID, "x-api-key": API_KEY})
    assert answer.status_code == 201, answer.text
    token: str = answer.json()["token"]
    return token


def _link_body() -> dict[str, Any]:
    return {
        "title": "Single session",
        "reusable": False,
        "amount": 19.99,
        "currency": "USD",
        "reference": "bk_raw",
    }


@pytest.mark.parametrize("authorization", [None, "", "Bearer", "Token abc", "Bearer forged"])
async def test_calls_without_a_valid_bearer_token_are_refused(
    http: httpx.AsyncClient, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    answer = await http.post(CREATE_LINK, json=_link_body(), headers=headers)
    assert answer.status_code == 401
    assert answer.json()["code"] == "unauthorized"
    assert (await http.get("/_sandbox/stats")).json()["links"] == 0


async def test_login_without_the_api_key_header_is_refused(http: httpx.AsyncClient) -> None:
    answer = await http.post(LOGIN, headers={"x-client-id": CLIENT_ID})
    assert (answer.status_code, answer.json()["code"]) == (400, "validation_error")


@pytest.mark.parametrize("version", ["2019-09-09", "2099-01-01", "latest", ""])
async def test_another_api_version_is_refused_on_login_and_calls(
    http: httpx.AsyncClient, version: str
) -> None:
    login = await http.post(
        LOGIN,
        headers={"x-client-id": CLIENT_ID, "x-api-key": API_KEY, "x-api-version": version},
    )
    assert login.status_code == 400
    assert login.json()["code"] == "validation_error"
    assert login.json()["source"] == "x-api-version"

    token = await _token(http)
    create = await http.post(
        CREATE_LINK,
        json=_link_body(),
        headers={"Authorization": f"Bearer {token}", "x-api-version": version},
    )
    assert (create.status_code, create.json()["source"]) == (400, "x-api-version")
    assert (await http.get("/_sandbox/stats")).json()["links"] == 0


async def test_without_a_version_header_the_account_version_applies(
    http: httpx.AsyncClient,
) -> None:
    token = await _token(http)
    answer = await http.post(
        CREATE_LINK, json=_link_body(), headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.status_code == 200, answer.text


async def test_our_client_pinned_to_another_version_gets_nowhere(
    app: Starlette, http: httpx.AsyncClient
) -> None:
    async with our_client(app, api_version="2024-09-27") as client:
        with pytest.raises(PaymentProviderError) as refused:
            await client.create_payment_link(
                booking_id="bk_version",
                amount_cents=1999,
                currency="USD",
                title="Single session",
                description=None,
                expires_at=datetime.now(UTC) + timedelta(hours=1),
                request_id="standin-version-1",
            )
    assert refused.value.code == "validation_error"
    assert (await http.get("/_sandbox/stats")).json()["links"] == 0


# -- money --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount_cents", "currency", "major_units", "shown"),
    [
        (1999, "USD", "19.99", "19.99 USD"),
        (5000, "JPY", "5000", "5,000 JPY"),
        (12345, "KWD", "12.345", "12.345 KWD"),
    ],
)
async def test_our_cents_arrive_as_the_documented_major_units(
    app: Starlette,
    http: httpx.AsyncClient,
    amount_cents: int,
    currency: str,
    major_units: str,
    shown: str,
) -> None:
    """The stand-in never sees cents: a client that sent 1999 for 19.99 USD shows up here."""
    link_id = await pay_a_link(app, amount_cents=amount_cents, currency=currency)
    token = await _token(http)

    link = await http.get(
        f"/api/v1/pa/payment_links/{link_id}", headers={"Authorization": f"Bearer {token}"}
    )
    events = (await http.get("/_sandbox/webhook-events")).json()["items"]
    paid = next(event for event in events if event["name"] == "payment_intent.succeeded")
    page = await http.get(f"/pay/{link_id}")

    assert json.loads(link.content, parse_float=Decimal)["amount"] == Decimal(major_units)
    assert Decimal(str(paid["payload"]["data"]["object"]["amount"])) == Decimal(major_units)
    assert shown in page.text


@pytest.mark.parametrize(("amount", "currency"), [(1.5, "JPY"), (10.005, "EUR"), (1.2345, "KWD")])
async def test_amounts_finer_than_the_currency_allows_are_refused(
    http: httpx.AsyncClient, amount: float, currency: str
) -> None:
    token = await _token(http)
    body = {**_link_body(), "amount": amount, "currency": currency}
    answer = await http.post(CREATE_LINK, json=body, headers={"Authorization": f"Bearer {token}"})
    assert (answer.status_code, answer.json()["source"]) == (400, "amount")
