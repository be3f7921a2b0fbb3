"""The in-process sweeper: runs on its interval, survives a failing pass, stops with the server."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sessionbook.core.db import Database
from sessionbook.monitoring.sweep import SweepReport
from sessionbook.monitoring.worker import SweepWorker
from tests.conftest import DatabaseUnderTest, run_server
from tests.operations.support import FREE, create, eventually
from tests.support.queries import audit_trail, booking_row, set_booking


async def test_a_failing_pass_never_stops_the_loop() -> None:
    calls: list[str] = []

    async def one_pass() -> SweepReport:
        calls.append("pass")
        if len(calls) == 2:
            raise RuntimeError("database went away for a moment")
        return SweepReport({"expired": 0})

    worker = SweepWorker(one_pass, interval_seconds=0.02)
    worker.start()
    await eventually(lambda: _count(calls), lambda n: n >= 4, timeout=5)
    await worker.stop()
    stopped_at = len(calls)
    await asyncio.sleep(0.1)

    assert worker.passes >= 4
    assert len(calls) == stopped_at  # nothing runs after stop()


async def test_interval_zero_starts_nothing() -> None:
    async def one_pass() -> SweepReport:
        raise AssertionError("must not run")

    worker = SweepWorker(one_pass, interval_seconds=0)
    worker.start()
    await asyncio.sleep(0.05)
    await worker.stop()
    assert worker.passes == 0


async def _count(calls: list[str]) -> int:
    return len(calls)


async def test_the_server_sweeps_by_itself(test_db: DatabaseUnderTest, owner_db: Database) -> None:
    with run_server(test_db, sweep_interval_seconds=1) as server:
        async with server.client() as client:
            created = await create(client, FREE)
            past = datetime.now(UTC) - timedelta(minutes=1)
            await set_booking(owner_db, created["bookingId"], expires_at=past)

            row = await eventually(
                lambda: booking_row(owner_db, created["bookingId"]),
                lambda booking: booking.status == "expired",
                timeout=10,
            )

    assert row.status == "expired"
    trail = await audit_trail(owner_db, created["bookingId"])
    assert [(e.event_type, e.source) for e in trail][-1] == ("booking_expired", "sweep")
