"""Two `sessionbook serve` processes on one PostgreSQL stay correct under split, racing traffic."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from sessionbook.bookings.models import BookingEvent
from sessionbook.core.db import SERVICE, Database
from sessionbook.notifications.models import OutboxMessage
from sessionbook.payments.models import WebhookEvent
from tests.conftest import DatabaseUnderTest
from tests.operations.cluster import Cluster, cluster
from tests.operations.support import FREE, PAID, eventually

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def servers(
    test_db: DatabaseUnderTest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    if not test_db.is_postgres:
        pytest.skip("several servers share one database only on PostgreSQL")
    with cluster(test_db.app_url, Path(tmp_path_factory.mktemp("cluster"))) as running:
        yield running


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=30) as client:
        yield client


async def events_of(owner_db: Database, ids: list[str]) -> list[BookingEvent]:
    async with owner_db.transaction(SERVICE) as session:
        statement = select(BookingEvent).where(
            BookingEvent.booking_id.in_([uuid.UUID(i) for i in ids])
        )
        return list((await session.execute(statement)).scalars().all())


async def first_free_slots(
    http: httpx.AsyncClient, server: str, token: str, count: int, *, days_ahead: int = 2
) -> list[dict[str, str]]:
    # Each scenario asks for its own day: the servers cache slots for a few seconds.
    day = (datetime.now(UTC) + timedelta(days=days_ahead)).date().isoformat()
    answer = await http.get(
        f"{server}/functions/v1/booking-slots",
        params={"start": day, "end": day, "timezone": "UTC"},
        headers={"X-Booking-Token": token},
    )
    assert answer.status_code == 200, answer.text
    slots: list[dict[str, str]] = answer.json()["slots"]
    assert len(slots) >= count
    return slots[:count]


async def schedule(
    http: httpx.AsyncClient, server: str, token: str, slot: dict[str, str]
) -> httpx.Response:
    return await http.post(
        f"{server}/functions/v1/booking-schedule",
        json={"bookingToken": token, "startTime": slot["start"], "endTime": slot["end"]},
    )


async def cal_bookings(http: httpx.AsyncClient, servers: Cluster) -> list[dict[str, Any]]:
    answer = await http.get(f"{servers.cal}/_sandbox/bookings")
    data: list[dict[str, Any]] = answer.json()["data"]
    return [booking for booking in data if booking["status"] in ("accepted", "pending")]


async def test_webhooks_delivered_to_both_servers_change_each_booking_once(
    servers: Cluster, http: httpx.AsyncClient, owner_db: Database
) -> None:
    created = [await create_on(http, servers.server(i), PAID) for i in range(8)]
    await asyncio.gather(
        *(
            http.post(
                f"{servers.airwallex}/_sandbox/pay/{booking['paymentUrl'].rsplit('/', 1)[-1]}",
                json={"outcome": "succeeded"},
            )
            for booking in created
        )
    )

    # Wait for the webhooks themselves (not a status read, which would confirm on its own).
    await eventually(
        _delivered(servers, "payment_intent.succeeded"), lambda n: n >= len(created), timeout=20
    )
    states = [
        (await status_on(http, servers.server(i), b["bookingToken"]))["status"]
        for i, b in enumerate(created)
    ]
    assert set(states) == {"paid"}

    ids = [booking["bookingId"] for booking in created]
    confirmed = Counter(
        str(e.booking_id)
        for e in await events_of(owner_db, ids)
        if e.event_type == "payment_confirmed"
    )
    assert confirmed == dict.fromkeys(ids, 1), servers.log_tail()
    assert {code for _, _, code in servers.fanout.answers} == {200}
    # Whoever got there first (a webhook on either server, or either server's sweep), the
    # payment was applied once: one audit row each, above.
    async with owner_db.transaction(SERVICE) as session:
        per_event = (
            await session.execute(
                select(WebhookEvent.event_id, func.count()).group_by(WebhookEvent.event_id)
            )
        ).all()
        stored = set((await session.execute(select(WebhookEvent.state))).scalars())
        received = (
            (
                await session.execute(
                    select(OutboxMessage.booking_id).where(OutboxMessage.kind == "payment_received")
                )
            )
            .scalars()
            .all()
        )
    assert {count for _, count in per_event} == {1}
    assert stored <= {"processed", "ignored"}
    assert Counter(str(b) for b in received if str(b) in ids) == dict.fromkeys(ids, 1)


async def test_racing_schedule_requests_for_one_booking_make_one_cal_booking(
    servers: Cluster, http: httpx.AsyncClient
) -> None:
    same_slot = await create_on(http, servers.server(0), FREE)
    other_slots = await create_on(http, servers.server(1), FREE)
    slot = (await first_free_slots(http, servers.server(0), same_slot["bookingToken"], 1))[0]
    slots = await first_free_slots(http, servers.server(1), other_slots["bookingToken"], 8)
    slots = slots[2:8]  # keep clear of the first slot, raced for above

    same = await asyncio.gather(
        *(schedule(http, servers.server(i), same_slot["bookingToken"], slot) for i in range(6))
    )
    different = await asyncio.gather(
        *(
            schedule(http, servers.server(i), other_slots["bookingToken"], s)
            for i, s in enumerate(slots)
        )
    )

    for answers, booking in ((same, same_slot), (different, other_slots)):
        codes = sorted(answer.status_code for answer in answers)
        assert codes == [200] + [409] * 5, [a.text for a in answers]
        made = [
            b
            for b in await cal_bookings(http, servers)
            if b["metadata"].get("booking_id") == booking["bookingId"]
        ]
        assert len(made) == 1, made
        final = await status_on(http, servers.server(1), booking["bookingToken"])
        assert final["status"] == "scheduled"
        assert final["calBookingId"] == made[0]["id"]


async def test_racing_bookings_for_one_slot_get_it_once(
    servers: Cluster, http: httpx.AsyncClient
) -> None:
    bookings = [await create_on(http, servers.server(i), FREE) for i in range(6)]
    token = bookings[0]["bookingToken"]
    slot = (await first_free_slots(http, servers.server(0), token, 2, days_ahead=3))[1]

    answers = await asyncio.gather(
        *(
            schedule(http, servers.server(i), b["bookingToken"], slot)
            for i, b in enumerate(bookings)
        )
    )

    codes = sorted(answer.status_code for answer in answers)
    assert codes == [200] + [409] * 5, [a.text for a in answers]
    refused = {a.json()["error"]["code"] for a in answers if a.status_code == 409}
    assert refused == {"slot_unavailable"}
    at_slot = [
        b for b in await cal_bookings(http, servers) if b["start"].startswith(slot["start"][:16])
    ]
    assert len(at_slot) == 1, at_slot


def _delivered(servers: Cluster, event_name: str) -> Callable[[], Awaitable[int]]:
    async def count() -> int:
        return servers.fanout.delivered(event_name)

    return count


async def create_on(http: httpx.AsyncClient, server: str, body: dict[str, Any]) -> dict[str, Any]:
    answer = await http.post(f"{server}/functions/v1/booking-create", json=body)
    assert answer.status_code == 201, answer.text
    created: dict[str, Any] = answer.json()
    return created


async def status_on(http: httpx.AsyncClient, server: str, token: str) -> dict[str, Any]:
    answer = await http.get(
        f"{server}/functions/v1/booking-status", headers={"X-Booking-Token": token}
    )
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body
