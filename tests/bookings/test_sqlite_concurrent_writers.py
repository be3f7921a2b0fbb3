"""Concurrent booking-creates on the embedded SQLite database all succeed.

SQLite has one write lock per file. The server lets its writers at the file one at a time, in
order, and each begins with BEGIN IMMEDIATE; SQLite's busy timeout then only has to cover
writers of other processes. Here the busy timeout is cut to a few milliseconds, so any two
writers of the server that met at the file's lock would fail with "database is locked" (503):
16 creates at once, 2 write transactions each, pass only if they queue inside the process.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from sessionbook.core import db
from sessionbook.core.db import Database
from tests.conftest import DatabaseUnderTest, RunningServer, fresh_test_database, run_server
from tests.support.queries import booking_row

CLIENTS = 16
PAID = {"packageId": "single", "customerName": "Queue Tester", "customerEmail": "q@example.com"}


@pytest.fixture(scope="module")
async def sqlite_db(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[DatabaseUnderTest]:
    async with fresh_test_database("sqlite", tmp_path_factory.mktemp("writers")) as database:
        yield database


@pytest.fixture
def impatient_server(
    sqlite_db: DatabaseUnderTest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[RunningServer]:
    """A server whose SQLite connections give up on a held write lock after 5 ms."""
    monkeypatch.setattr(db, "SQLITE_BUSY_TIMEOUT_MS", 5)
    with run_server(sqlite_db) as running:
        yield running


async def test_sixteen_concurrent_creates_all_succeed(
    impatient_server: RunningServer, sqlite_db: DatabaseUnderTest, tmp_path: Path
) -> None:
    async with impatient_server.client() as api:
        # Warm the server's connection pool first, so the creates start together.
        await asyncio.gather(*(api.get("/functions/v1/packages") for _ in range(CLIENTS)))
        responses = await asyncio.gather(
            *(api.post("/functions/v1/booking-create", json=PAID) for _ in range(CLIENTS))
        )

    failed = [(r.status_code, r.text[:200]) for r in responses if r.status_code != 201]
    assert failed == []
    created = [response.json() for response in responses]
    assert all(body["requiresPayment"] and body["paymentUrl"] for body in created)
    owner = Database(sqlite_db.owner_url)
    try:
        ids = {body["bookingId"] for body in created}
        assert len(ids) == CLIENTS
        for booking_id in ids:
            row = await booking_row(owner, booking_id)
            assert (row.status, row.payment_status) == ("pending", "pending")
    finally:
        await owner.dispose()


async def test_a_writer_waits_its_turn_instead_of_failing(tmp_path: Path) -> None:
    """The queue, not SQLite's busy handler, holds the second writer while the first writes."""
    async with fresh_test_database("sqlite", tmp_path) as database:
        database_ = Database(database.app_url, sqlite_busy_timeout_ms=5)
        try:
            order: list[str] = []

            async def writer(name: str, hold: float) -> None:
                async with database_.transaction(db.SERVICE) as session:
                    await session.execute(text("SELECT 1"))
                    order.append(f"{name} in")
                    await asyncio.sleep(hold)
                    order.append(f"{name} out")

            await asyncio.gather(writer("first", 0.2), writer("second", 0))
        finally:
            await database_.dispose()
    assert order == ["first in", "first out", "second in", "second out"]


async def test_two_processes_never_lose_an_update(tmp_path: Path) -> None:
    """Writers of two processes (two engines, two queues) on one file: read, then write.

    BEGIN IMMEDIATE makes the second wait in SQLite's busy handler until the first commits,
    then read the first one's value. A deferred BEGIN would let both read 0, and the one that
    wrote second would fail with "database is locked" (its snapshot is stale).
    """
    async with fresh_test_database("sqlite", tmp_path) as database:
        first, second = Database(database.app_url), Database(database.app_url)
        try:
            async with first.transaction(db.SERVICE) as session:
                await session.execute(text("CREATE TABLE counter (n INTEGER NOT NULL)"))
                await session.execute(text("INSERT INTO counter (n) VALUES (0)"))
            first_has_read = asyncio.Event()

            async def increment(engine: Database, *, first_in: bool) -> None:
                if not first_in:
                    await first_has_read.wait()
                async with engine.transaction(db.SERVICE) as session:
                    n = (await session.execute(text("SELECT n FROM counter"))).scalar_one()
                    if first_in:
                        first_has_read.set()
                        await asyncio.sleep(0.3)  # the other process tries to write meanwhile
                    await session.execute(text("UPDATE counter SET n = :n"), {"n": n + 1})

            await asyncio.gather(increment(first, first_in=True), increment(second, first_in=False))
            async with first.transaction(db.SERVICE) as session:
                assert (await session.execute(text("SELECT n FROM counter"))).scalar_one() == 2
        finally:
            await first.dispose()
            await second.dispose()


async def test_a_transaction_inside_another_fails_as_before_instead_of_waiting_for_itself(
    tmp_path: Path,
) -> None:
    """The inner one meets the outer one's lock in SQLite, and fails after the busy timeout.

    Queued instead, it would wait for its own outer transaction until the queue's 30 s ran out.
    """
    async with fresh_test_database("sqlite", tmp_path) as database:
        nested = Database(database.app_url, sqlite_busy_timeout_ms=50)
        try:
            async with nested.transaction(db.SERVICE) as outer:
                await outer.execute(text("SELECT 1"))

                async def inner() -> None:
                    async with nested.transaction(db.SERVICE) as session:
                        await session.execute(text("SELECT 1"))

                with pytest.raises(OperationalError, match="database is locked"):
                    await asyncio.wait_for(inner(), 10)
        finally:
            await nested.dispose()
