"""Driving the whole app and its in-process Airwallex stand-in over HTTP, for payment tests."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import httpx
from sqlalchemy import func, select, update
from starlette.routing import Mount

from sessionbook.bootstrap import AIRWALLEX_SANDBOX_PATH
from sessionbook.core.db import SERVICE, Database
from sessionbook.payments.airwallex.signature import sign
from sessionbook.payments.models import PaymentRefund, WebhookEvent
from sessionbook_sandbox.airwallex_core import AirwallexSandbox
from tests.conftest import RunningServer

T = TypeVar("T")
SINGLE = {"packageId": "single", "customerName": "Pay Tester", "customerEmail": "pay@example.com"}
WEBHOOK_PATH = "/functions/v1/payment-webhook"


def in_app_airwallex(server: RunningServer) -> AirwallexSandbox:
    """The stand-in object the server mounted; only its plain settings are touched from here."""
    for route in server.app.routes:
        if isinstance(route, Mount) and route.path == AIRWALLEX_SANDBOX_PATH:
            sandbox: AirwallexSandbox = route.app.state.airwallex  # type: ignore[attr-defined]
            return sandbox
    raise AssertionError("the server mounts no Airwallex stand-in")


def make_fast(sandbox: AirwallexSandbox) -> None:
    """Redeliver failed webhooks within a fraction of a second and settle refunds quickly."""
    sandbox.webhooks.retry_delays = (0.0, 0.3, 0.3, 0.3)
    sandbox.config = replace(sandbox.config, refund_step_seconds=0.05)


async def eventually(
    probe: Callable[[], Awaitable[T]], accept: Callable[[T], bool], *, timeout: float = 5.0
) -> T:
    """Poll `probe` until `accept` likes its answer; fail with the last answer after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = await probe()
        if accept(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s; last value: {value!r}")
        await asyncio.sleep(0.05)


@dataclass
class Shop:
    """The running app, its stand-in, and the owner's view of the database."""

    server: RunningServer
    http: httpx.AsyncClient
    db: Database

    @property
    def airwallex(self) -> AirwallexSandbox:
        return in_app_airwallex(self.server)

    @property
    def secret(self) -> str:
        return self.server.settings.webhook_secret

    # -- customer side -------------------------------------------------------------------

    async def book(self, body: dict[str, Any] | None = None) -> dict[str, Any]:
        answer = await self.http.post("/functions/v1/booking-create", json=body or SINGLE)
        assert answer.status_code == 201, answer.text
        created: dict[str, Any] = answer.json()
        created["linkId"] = created["paymentUrl"].rsplit("/", 1)[-1]
        return created

    async def status(self, booking: dict[str, Any]) -> dict[str, Any]:
        answer = await self.http.get(
            "/functions/v1/booking-status", headers={"X-Booking-Token": booking["bookingToken"]}
        )
        assert answer.status_code == 200, answer.text
        data: dict[str, Any] = answer.json()
        return data

    async def wait_status(
        self, booking: dict[str, Any], *, timeout: float = 5.0, **expected: str
    ) -> dict[str, Any]:
        return await eventually(
            lambda: self.status(booking),
            lambda seen: all(seen[key] == value for key, value in expected.items()),
            timeout=timeout,
        )

    # -- the stand-in's test hooks -------------------------------------------------------

    async def hook(self, method: str, path: str, body: Any = None) -> httpx.Response:
        return await self.http.request(
            method, f"{AIRWALLEX_SANDBOX_PATH}/_sandbox{path}", json=body
        )

    async def pay(self, link_id: str, outcome: str = "succeeded") -> dict[str, Any]:
        answer = await self.hook("POST", f"/pay/{link_id}", {"outcome": outcome})
        assert answer.status_code == 200, answer.text
        paid: dict[str, Any] = answer.json()
        return paid

    async def fault(self, path_prefix: str, **options: Any) -> None:
        answer = await self.hook("POST", "/faults", {"path_prefix": path_prefix, **options})
        assert answer.status_code == 201, answer.text

    async def clear_faults(self) -> None:
        (await self.hook("DELETE", "/faults")).raise_for_status()

    async def sent_events(self, name: str, object_id: str) -> list[dict[str, Any]]:
        """Events the stand-in published about one object (intent, attempt or refund)."""
        items = (await self.hook("GET", "/webhook-events")).json()["items"]
        return [
            item
            for item in items
            if item["name"] == name and item["payload"]["data"]["object"]["id"] == object_id
        ]

    async def deliveries(self, event_id: str) -> list[dict[str, Any]]:
        items = (await self.hook("GET", "/webhook-deliveries")).json()["items"]
        return [item for item in items if item["event_id"] == event_id]

    async def wait_deliveries(self, event_id: str, count: int) -> list[dict[str, Any]]:
        """The stand-in's deliveries of one event, once `count` have come back.

        A delivery is logged when our answer reaches the stand-in, a moment after the booking
        already changed: reading the log at once would race that answer.
        """
        return await eventually(lambda: self.deliveries(event_id), lambda seen: len(seen) >= count)

    async def resend(self, event_id: str) -> None:
        answer = await self.hook("POST", f"/webhook-events/{event_id}/resend")
        assert answer.status_code == 202, answer.text

    async def requests_to(self, method: str, path_prefix: str) -> int:
        """How many API calls the stand-in has seen with this method and path prefix."""
        seen = (await self.hook("GET", "/stats")).json()["requests"]
        return sum(1 for r in seen if r["method"] == method and r["path"].startswith(path_prefix))

    async def refund_count(self) -> int:
        stats: dict[str, int] = (await self.hook("GET", "/stats")).json()
        return stats["refunds"]

    @asynccontextmanager
    async def webhooks_lost(self) -> AsyncIterator[None]:
        """The stand-in keeps publishing events but delivers none, as if they were lost."""
        dispatcher = self.airwallex.webhooks
        url = dispatcher.url
        dispatcher.url = None
        try:
            yield
            # Let every delivery task see the missing URL before it is put back.
            await eventually(self._undelivered, lambda left: not left)
        finally:
            dispatcher.url = url

    async def _undelivered(self) -> set[str]:
        events = (await self.hook("GET", "/webhook-events")).json()["items"]
        deliveries = (await self.hook("GET", "/webhook-deliveries")).json()["items"]
        tried = {item["event_id"] for item in deliveries}
        return {event["id"] for event in events} - tried

    async def pay_quietly(self, link_id: str, outcome: str = "succeeded") -> dict[str, Any]:
        """Pay, with every webhook about it lost on the way."""
        async with self.webhooks_lost():
            return await self.pay(link_id, outcome)

    async def wait_webhook_state(
        self, event_id: str, state: str, *, timeout: float = 5.0
    ) -> WebhookEvent:
        rows = await eventually(
            lambda: self.webhook_rows(event_id),
            lambda found: len(found) == 1 and found[0].state == state,
            timeout=timeout,
        )
        return rows[0]

    async def extra_link(self, booking_id: str, amount_cents: int, currency: str) -> str:
        """Another link naming this booking (in reference and metadata), at another price."""
        async with self.server.local_services() as services:
            link = await services.payment_gateway.create_payment_link(
                booking_id=booking_id,
                amount_cents=amount_cents,
                currency=currency,
                title="Another price",
                description=None,
                expires_at=datetime.now(UTC) + timedelta(hours=1),
                request_id=f"extra-{uuid.uuid4().hex}",
            )
        return link.id

    # -- posting our own signed deliveries -----------------------------------------------

    async def deliver(
        self,
        payload: dict[str, Any] | bytes,
        *,
        timestamp_ms: int | None = None,
        signature: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        stamp = str(timestamp_ms if timestamp_ms is not None else int(time.time() * 1000))
        sent = {
            "content-type": "application/json",
            "x-timestamp": stamp,
            "x-signature": signature if signature is not None else sign(self.secret, stamp, body),
        }
        if headers is not None:
            sent = headers
        return await self.http.post(WEBHOOK_PATH, content=body, headers=sent)

    # -- what the database holds ---------------------------------------------------------

    async def webhook_rows(self, event_id: str) -> Sequence[WebhookEvent]:
        async with self.db.transaction(SERVICE) as session:
            statement = select(WebhookEvent).where(WebhookEvent.event_id == event_id)
            return (await session.execute(statement)).scalars().all()

    async def webhook_row(self, event_id: str) -> WebhookEvent:
        rows = await self.webhook_rows(event_id)
        assert len(rows) == 1, f"{len(rows)} rows stored for {event_id}"
        return rows[0]

    async def webhook_row_count(self) -> int:
        async with self.db.transaction(SERVICE) as session:
            count = await session.scalar(select(func.count()).select_from(WebhookEvent))
            return int(count or 0)

    async def refunds_of(self, booking_id: str) -> Sequence[PaymentRefund]:
        async with self.db.transaction(SERVICE) as session:
            statement = (
                select(PaymentRefund)
                .where(PaymentRefund.booking_id == uuid.UUID(booking_id))
                .order_by(PaymentRefund.created_at)
            )
            return (await session.execute(statement)).scalars().all()

    async def wait_refund(self, booking_id: str, request_id: str, status: str) -> PaymentRefund:
        rows = await eventually(
            lambda: self.refunds_of(booking_id),
            lambda found: any(r.request_id == request_id and r.status == status for r in found),
        )
        return next(row for row in rows if row.request_id == request_id)

    async def age_refunds(self, booking_id: str) -> None:
        """Make a booking's refunds look untouched for minutes, so the sweep looks at them."""
        async with self.db.transaction(SERVICE) as session:
            await session.execute(
                update(PaymentRefund)
                .where(PaymentRefund.booking_id == uuid.UUID(booking_id))
                .values(updated_at=datetime.now(UTC) - timedelta(minutes=5))
            )


def signed_event(name: str, obj: dict[str, Any], *, event_id: str | None = None) -> dict[str, Any]:
    """An event shaped like Airwallex's, for deliveries the stand-in would not make itself."""
    return {
        "id": event_id or f"evt_test_{uuid.uuid4().hex}",
        "name": name,
        "account_id": "acct_sandbox_sessionbook",
        "data": {"object": obj},
        "created_at": "2026-11-25T12:00:00+0000",
        "version": "2025-06-30",
    }
