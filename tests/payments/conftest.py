"""Fixtures: the Airwallex stand-in, a webhook receiver, and the whole app serving payments."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route

from sessionbook.core.db import Database
from sessionbook.payments.airwallex.client import AirwallexClient
from sessionbook.payments.airwallex.gateway import PaymentLink
from sessionbook_sandbox.airwallex import create_airwallex_sandbox
from tests.conftest import DatabaseUnderTest, RunningServer, run_server
from tests.payments.shop import Shop, in_app_airwallex, make_fast
from tests.support.live_server import free_port, live_server

CLIENT_ID = "test-client-id"
API_KEY = "test-api-key-do-not-log"
WEBHOOK_SECRET = "whsec-test-secret"
RETURN_URL = "http://shop.example/book"
MOUNT = "/sandbox/airwallex"  # mounted like the app mounts it, so prefixes are exercised too


@dataclass(frozen=True)
class ReceivedWebhook:
    headers: dict[str, str]
    body: bytes

    @property
    def payload(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.body)
        return data

    @property
    def name(self) -> str:
        return str(self.payload["name"])


@dataclass
class Receiver:
    """A stand-in for our webhook endpoint; answers 200 unless told to fail."""

    url: str = ""
    received: list[ReceivedWebhook] = field(default_factory=list)
    failures: dict[str, int] = field(default_factory=dict)  # event name -> deliveries to refuse

    def named(self, name: str) -> list[ReceivedWebhook]:
        return [hook for hook in self.received if hook.name == name]

    async def wait_for(
        self, name: str, count: int = 1, timeout: float = 5.0
    ) -> list[ReceivedWebhook]:
        deadline = asyncio.get_running_loop().time() + timeout
        while len(self.named(name)) < count:
            if asyncio.get_running_loop().time() > deadline:
                seen = [hook.name for hook in self.received]
                raise AssertionError(f"{count} x {name} not delivered in {timeout}s; saw {seen}")
            await asyncio.sleep(0.02)
        return self.named(name)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    async def hook(request: Request) -> Response:
        hook = ReceivedWebhook(dict(request.headers), await request.body())
        state.received.append(hook)
        if state.failures.get(hook.name, 0) > 0:
            state.failures[hook.name] -= 1
            return Response(status_code=500)
        return Response(status_code=200)

    with live_server(Starlette(routes=[Route("/hook", hook, methods=["POST"])])) as url:
        state.url = f"{url}/hook"
        yield state


@dataclass
class Sandbox:
    """The running stand-in, driven through its sandbox-only HTTP hooks."""

    base_url: str
    http: httpx.AsyncClient

    async def hook(self, method: str, path: str, body: Any = None) -> httpx.Response:
        return await self.http.request(method, f"{self.base_url}{path}", json=body)

    async def stats(self) -> dict[str, Any]:
        data: dict[str, Any] = (await self.hook("GET", "/_sandbox/stats")).json()
        return data

    async def requests_to(self, method: str, path_prefix: str) -> int:
        log = (await self.stats())["requests"]
        return sum(1 for r in log if r["method"] == method and r["path"].startswith(path_prefix))

    async def fault(self, path_prefix: str, **options: Any) -> None:
        answer = await self.hook(
            "POST", "/_sandbox/faults", {"path_prefix": path_prefix, **options}
        )
        assert answer.status_code == 201, answer.text

    async def pay(self, link_id: str, outcome: str = "succeeded") -> httpx.Response:
        return await self.hook("POST", f"/_sandbox/pay/{link_id}", {"outcome": outcome})

    async def deliveries(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = (
            await self.hook("GET", "/_sandbox/webhook-deliveries")
        ).json()["items"]
        return items


SandboxFactory = Callable[..., Awaitable[Sandbox]]


@pytest.fixture
async def make_sandbox(receiver: Receiver) -> AsyncIterator[SandboxFactory]:
    """Start stand-ins with chosen options; all stop when the test ends."""
    servers: list[Any] = []
    clients: list[httpx.AsyncClient] = []

    async def start(**overrides: Any) -> Sandbox:
        port = free_port()
        base_url = f"http://127.0.0.1:{port}{MOUNT}"
        options: dict[str, Any] = {
            "client_id": CLIENT_ID,
            "api_key": API_KEY,
            "webhook_url": receiver.url,
            "webhook_secret": WEBHOOK_SECRET,
            "public_base_url": base_url,
            "return_url": RETURN_URL,
            "webhook_retry_delays": (0.0, 0.05, 0.05, 0.05, 0.05, 0.05),
            "refund_step_seconds": 0.05,
        }
        options.update(overrides)
        app = Starlette(routes=[Mount(MOUNT, create_airwallex_sandbox(**options))])
        server = live_server(app, port=port)
        server.__enter__()
        servers.append(server)
        http = httpx.AsyncClient(timeout=10)
        clients.append(http)
        return Sandbox(base_url, http)

    yield start
    for http in clients:
        await http.aclose()
    for server in reversed(servers):
        server.__exit__(None, None, None)


@pytest.fixture
async def sandbox(make_sandbox: SandboxFactory) -> Sandbox:
    return await make_sandbox()


ClientFactory = Callable[..., AirwallexClient]


@pytest.fixture
async def make_client(sandbox: Sandbox) -> AsyncIterator[ClientFactory]:
    made: list[AirwallexClient] = []

    def build(base_url: str | None = None, **overrides: Any) -> AirwallexClient:
        options: dict[str, Any] = {"backoff_seconds": 0.01, "max_backoff_seconds": 0.05}
        options.update(overrides)
        api_key = options.pop("api_key", API_KEY)
        client = AirwallexClient(base_url or sandbox.base_url, CLIENT_ID, api_key, **options)
        made.append(client)
        return client

    yield build
    for client in made:
        await client.aclose()


@pytest.fixture
def client(make_client: ClientFactory) -> AirwallexClient:
    return make_client()


async def new_link(
    client: AirwallexClient,
    *,
    booking_id: str = "bk_0001",
    amount_cents: int = 1999,
    currency: str = "USD",
    title: str = "Single session",
    expires_in: timedelta = timedelta(hours=24),
) -> PaymentLink:
    return await client.create_payment_link(
        booking_id=booking_id,
        amount_cents=amount_cents,
        currency=currency,
        title=title,
        description="One 60-minute session",
        expires_at=datetime.now(UTC) + expires_in,
        request_id=f"booking-{booking_id}-link",
    )


@pytest.fixture
async def link(client: AirwallexClient) -> PaymentLink:
    """A fresh 19.99 USD link for booking bk_0001."""
    return await new_link(client)


@pytest.fixture(scope="module")
def shop_server(test_db: DatabaseUnderTest) -> Iterator[RunningServer]:
    """The whole app in sandbox mode, its stand-in tuned to redeliver and settle quickly."""
    with run_server(test_db) as running:
        make_fast(in_app_airwallex(running))
        yield running


@pytest.fixture
async def shop(shop_server: RunningServer, owner_db: Database) -> AsyncIterator[Shop]:
    async with shop_server.client() as http:
        driven = Shop(shop_server, http, owner_db)
        yield driven
        await driven.clear_faults()
