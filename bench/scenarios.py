"""The measured requests: booking-status, booking-create, payment-webhook and booking-schedule.

Each scenario prepares its data through the public API first (bookings, payments at the
Airwallex stand-in, free slots), so that every measured request does real work: a webhook
confirms a payment nobody confirmed before, a schedule books a slot nobody booked.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import httpx

from bench.client import Answer, Connection
from bench.standins import WEBHOOK_SECRET
from sessionbook.payments.airwallex.signature import sign

API = "/functions/v1"
JSON_HEADERS = {"Content-Type": "application/json"}
PREPARE_CONCURRENCY = 16


@dataclass
class Target:
    """The server under test and the Airwallex stand-in it talks to."""

    server_url: str
    server_port: int
    airwallex_url: str


class Scenario(Protocol):
    name: str
    expected_status: int

    async def missing_route(self, target: Target) -> str | None:
        """The route this scenario needs that the server does not serve yet, if any."""
        ...

    async def prepare(self, target: Target, count: int) -> int:
        """Make data for up to `count` requests; returns how many requests it can serve."""
        ...

    async def request(self, number: int, connection: Connection) -> Answer: ...


async def _route_missing(target: Target, method: str, path: str) -> bool:
    """An unknown path answers 404 `not_found`; a known route answers anything else."""
    async with httpx.AsyncClient(base_url=target.server_url, timeout=10) as http:
        response = await http.request(method, path, content=b"{}", headers=JSON_HEADERS)
    if response.status_code != 404:
        return False
    try:
        return bool(response.json()["error"]["code"] == "not_found")
    except (ValueError, KeyError, TypeError):
        return True


async def _bounded(count: int, work: Callable[[int], Awaitable[Any]]) -> list[Any]:
    """Run work(0..count-1) with at most PREPARE_CONCURRENCY at once, keeping the order."""
    limit = asyncio.Semaphore(PREPARE_CONCURRENCY)

    async def one(number: int) -> Any:
        async with limit:
            return await work(number)

    return list(await asyncio.gather(*(one(number) for number in range(count))))


async def create_bookings(
    http: httpx.AsyncClient, count: int, packages: tuple[str, ...]
) -> list[dict[str, Any]]:
    """`count` bookings through the API, cycling through `packages`."""

    async def create(number: int) -> dict[str, Any]:
        response = await http.post(
            f"{API}/booking-create",
            json={
                "packageId": packages[number % len(packages)],
                "customerName": f"Bench Customer {number}",
                "customerEmail": f"bench-{number}@example.com",
            },
        )
        if response.status_code != 201:
            raise RuntimeError(f"booking-create answered {response.status_code}: {response.text}")
        body: dict[str, Any] = response.json()
        return body

    return await _bounded(count, create)


class StatusScenario:
    """GET booking-status with the token in the X-Booking-Token header, over a pool of bookings."""

    name = "status"
    expected_status = 200

    def __init__(self, pool_size: int = 200) -> None:
        self.pool_size = pool_size
        self.tokens: list[str] = []

    async def missing_route(self, target: Target) -> str | None:
        return None

    async def prepare(self, target: Target, count: int) -> int:
        if not self.tokens:
            async with httpx.AsyncClient(base_url=target.server_url, timeout=30) as http:
                created = await create_bookings(http, self.pool_size, ("discovery", "single"))
            self.tokens = [booking["bookingToken"] for booking in created]
        return count

    def use_tokens(self, tokens: list[str]) -> None:
        self.tokens = tokens

    async def request(self, number: int, connection: Connection) -> Answer:
        token = self.tokens[number % len(self.tokens)]
        return await connection.request(
            "GET", f"{API}/booking-status", headers={"X-Booking-Token": token}
        )


class CreateScenario:
    """POST booking-create of a paid package: one row, one Airwallex payment link, one update."""

    name = "create"
    expected_status = 201

    async def missing_route(self, target: Target) -> str | None:
        return None

    async def prepare(self, target: Target, count: int) -> int:
        self.run = uuid.uuid4().hex[:8]
        return count

    async def request(self, number: int, connection: Connection) -> Answer:
        body = json.dumps(
            {
                "packageId": "single",
                "customerName": "Bench Customer",
                "customerEmail": f"bench-{self.run}-{number}@example.com",
            }
        ).encode()
        return await connection.request(
            "POST", f"{API}/booking-create", headers=JSON_HEADERS, body=body
        )


@dataclass
class WebhookScenario:
    """POST payment-webhook: a signed payment_intent.succeeded for a booking paid at the stand-in.

    The server stores the event, confirms the payment with the (stand-in) Airwallex API and
    marks the booking paid: the whole path a real payment takes.
    """

    name: str = "webhook"
    expected_status: int = 200
    bodies: list[bytes] = field(default_factory=list)

    async def missing_route(self, target: Target) -> str | None:
        if await _route_missing(target, "POST", f"{API}/payment-webhook"):
            return "POST /functions/v1/payment-webhook"
        return None

    async def prepare(self, target: Target, count: int) -> int:
        async with (
            httpx.AsyncClient(base_url=target.server_url, timeout=30) as http,
            httpx.AsyncClient(base_url=target.airwallex_url, timeout=30) as airwallex,
        ):
            created = await create_bookings(http, count, ("single", "monthly"))

            async def pay(number: int) -> bytes:
                link_id = created[number]["paymentUrl"].rstrip("/").rsplit("/", 1)[-1]
                paid = await airwallex.post(f"/_sandbox/pay/{link_id}", json={})
                paid.raise_for_status()
                return event_body("payment_intent.succeeded", paid.json()["payment_intent"])

            self.bodies = await _bounded(count, pay)
        return len(self.bodies)

    async def request(self, number: int, connection: Connection) -> Answer:
        body = self.bodies[number]
        sent_at = str(int(time.time() * 1000))
        headers = {
            "Content-Type": "application/json",
            "x-timestamp": sent_at,
            "x-signature": sign(WEBHOOK_SECRET, sent_at, body),
        }
        return await connection.request(
            "POST", f"{API}/payment-webhook", headers=headers, body=body
        )


def event_body(name: str, obj: dict[str, Any]) -> bytes:
    """An Airwallex event as Airwallex shapes it: {id, name, account_id, data, created_at, ...}."""
    payload = {
        "id": f"evt_bench_{uuid.uuid4().hex}",
        "name": name,
        "account_id": "acct_bench",
        "data": {"object": obj},
        "created_at": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "version": "2025-06-30",
    }
    return json.dumps(payload, separators=(",", ":")).encode()


@dataclass
class ScheduleScenario:
    """POST booking-schedule: a free booking takes a free slot (Cal.com stand-in booking)."""

    name: str = "schedule"
    expected_status: int = 200
    bodies: list[bytes] = field(default_factory=list)

    async def missing_route(self, target: Target) -> str | None:
        for method, path in (("GET", "booking-slots"), ("POST", "booking-schedule")):
            if await _route_missing(target, method, f"{API}/{path}"):
                return f"{method} /functions/v1/{path}"
        return None

    async def prepare(self, target: Target, count: int) -> int:
        async with httpx.AsyncClient(base_url=target.server_url, timeout=60) as http:
            created = await create_bookings(http, count, ("discovery",))
            slots = await free_slots(http, created[0]["bookingToken"], count)
        self.bodies = [
            json.dumps(
                {
                    "bookingToken": booking["bookingToken"],
                    "startTime": slot["start"],
                    "endTime": slot["end"],
                    "timezone": "UTC",
                }
            ).encode()
            for booking, slot in zip(created, slots, strict=False)
        ]
        return len(self.bodies)

    async def request(self, number: int, connection: Connection) -> Answer:
        return await connection.request(
            "POST", f"{API}/booking-schedule", headers=JSON_HEADERS, body=self.bodies[number]
        )


async def free_slots(http: httpx.AsyncClient, token: str, wanted: int) -> list[dict[str, str]]:
    """At least `wanted` free slots if the calendar has them, asked 30 days at a time."""
    found: list[dict[str, str]] = []
    first_day = datetime.now(UTC).date() + timedelta(days=1)
    for window in itertools.islice(itertools.count(), 12):  # a year at most
        start = first_day + timedelta(days=31 * window)
        end = start + timedelta(days=30)
        response = await http.get(
            f"{API}/booking-slots",
            params={"start": start.isoformat(), "end": end.isoformat(), "timezone": "UTC"},
            headers={"X-Booking-Token": token},
        )
        if response.status_code != 200:
            raise RuntimeError(f"booking-slots answered {response.status_code}: {response.text}")
        found.extend(response.json()["slots"])
        if len(found) >= wanted:
            break
    return found[:wanted]


def all_scenarios() -> dict[str, Callable[[], Scenario]]:
    return {
        "status": StatusScenario,
        "create": CreateScenario,
        "webhook": WebhookScenario,
        "schedule": ScheduleScenario,
    }
