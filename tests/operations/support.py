"""Helpers for the operations tests: an admin-enabled server, a signed-in browser, paying."""

from __future__ import annotations

import asyncio
import base64
import json
import re
import secrets
import time
import uuid
import zlib
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import httpx
from argon2 import PasswordHasher

from sessionbook.bookings.models import Booking, BookingSession, SessionState
from sessionbook.core.db import SERVICE, Database

T = TypeVar("T")

ADMIN_PASSWORD = "a long admin password for tests"
# Cheap argon2 parameters (the hash carries them): sign-in stays a real argon2 check, fast.
ADMIN_SETTINGS: dict[str, Any] = {
    "admin_password_hash": PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(
        ADMIN_PASSWORD
    ),
    "session_secret": "s" * 48,
}
PAID = {"packageId": "single", "customerName": "Paula Payer", "customerEmail": "paula@example.com"}
FREE = {"packageId": "discovery", "customerName": "Fred Free", "customerEmail": "fred@example.com"}
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def later_today(zone_name: str) -> datetime:
    """A moment a minute away that is still today in `zone_name`, as an aware UTC time."""
    local = datetime.now(ZoneInfo(zone_name)).replace(second=0, microsecond=0)
    local = local + timedelta(minutes=1) if local.hour < 23 else local - timedelta(minutes=59)
    return local.astimezone(UTC)


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "the page has no CSRF field"
    return found.group(1)


async def sign_in(client: httpx.AsyncClient, password: str = ADMIN_PASSWORD) -> httpx.Response:
    """Open the login page (which sets the anonymous session) and post the password."""
    page = await client.get("/admin/login")
    assert page.status_code == 200, page.text
    return await client.post(
        "/admin/login", data={"csrf_token": csrf_of(page.text), "password": password}
    )


async def admin_post(client: httpx.AsyncClient, path: str, **fields: str) -> httpx.Response:
    """Submit a form the way the page would: fetch it, take its CSRF token, post."""
    page = await client.get(path)
    assert page.status_code == 200, page.text
    return await client.post(path, data={"csrf_token": csrf_of(page.text), **fields})


async def eventually(
    probe: Callable[[], Awaitable[T]], accept: Callable[[T], bool], *, timeout: float = 10.0
) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = await probe()
        if accept(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached within {timeout}s; last value: {value!r}")
        await asyncio.sleep(0.05)


async def create(client: httpx.AsyncClient, body: dict[str, Any] = PAID) -> dict[str, Any]:
    answer = await client.post("/functions/v1/booking-create", json=body)
    assert answer.status_code == 201, answer.text
    created: dict[str, Any] = answer.json()
    return created


async def status(client: httpx.AsyncClient, token: str) -> dict[str, Any]:
    answer = await client.get("/functions/v1/booking-status", headers={"X-Booking-Token": token})
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def pay(client: httpx.AsyncClient, sandbox_root: str, created: dict[str, Any]) -> None:
    """Pay on the Airwallex stand-in (it then sends its webhook) and wait for `paid`."""
    link_id = created["paymentUrl"].rstrip("/").rsplit("/", 1)[-1]
    answer = await client.post(
        f"{sandbox_root}/_sandbox/pay/{link_id}", json={"outcome": "succeeded"}
    )
    assert answer.status_code < 300, answer.text
    await eventually(
        lambda: status(client, created["bookingToken"]), lambda s: s["status"] == "paid"
    )


def with_changed_payload(cookie: str, **changes: Any) -> str:
    """The signed cookie with its payload changed but its timestamp and signature kept.

    Still well-formed, so only the signature check can refuse it. itsdangerous marks a
    zlib-compressed payload with a leading "."; the forgery is written uncompressed, which
    it reads just as well.
    """
    compressed = cookie.startswith(".")
    payload_part, timestamp, signature = cookie.removeprefix(".").split(".")
    raw = base64.urlsafe_b64decode(payload_part + "=" * (-len(payload_part) % 4))
    payload = json.loads(zlib.decompress(raw) if compressed else raw)
    payload.update(changes)
    encoded = base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode())
    return f"{encoded.rstrip(b'=').decode()}.{timestamp}.{signature}"


async def add_session(
    database: Database,
    booking_id: str | uuid.UUID,
    start: datetime,
    *,
    minutes: int = 60,
    state: str = SessionState.BOOKED,
    meeting_url: str | None = "https://meet.example/room",
) -> uuid.UUID:
    """A session row behind the API's back, as if booked in Cal.com; its id."""
    async with database.transaction(SERVICE) as session:
        booking = await session.get(Booking, uuid.UUID(str(booking_id)))
        assert booking is not None
        row = BookingSession(
            booking_id=booking.id,
            state=state,
            start_time=start,
            end_time=start + timedelta(minutes=minutes),
            cal_event_type_id=booking.cal_event_type_id,
            cal_booking_id=secrets.randbelow(10**8) + 10**8,
            cal_uid=f"uid-{uuid.uuid4().hex}",
            meeting_url=meeting_url,
        )
        session.add(row)
        await session.flush()
        return row.id
