"""The in-process sweeper: runs on its interval, survives a failing pass, stops with the server."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from sessionbook.core.db import SERVICE, Database
from sessionbook.core.wakeup import Wakeup
from sessionbook.monitoring.sweep import SweepReport
from sessionbook.monitoring.worker import FIRST_PASS_MAX_DELAY_SECONDS, SweepWorker
from sessionbook.notifications.models import OutboxMessage
from tests.conftest import DatabaseUnderTest, run_server
from tests.operations.support import FREE, PAID, create, eventually, pay
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


async def test_a_ring_brings_the_next_pass_forward() -> None:
    calls: list[str] = []

    async def one_pass() -> SweepReport:
        calls.append("pass")
        return SweepReport({"emails_sent": 0})

    wakeup = Wakeup()
    # An hour between passes: only the ring can make the second one come soon.
    worker = SweepWorker(one_pass, interval_seconds=3600, wakeup=wakeup)
    worker.start()
    await eventually(lambda: _count(calls), lambda n: n >= 1, timeout=15)
    wakeup.ring()
    await eventually(lambda: _count(calls), lambda n: n >= 2, timeout=5)
    await worker.stop()

    assert len(calls) == 2


async def test_a_ring_runs_only_what_it_rang_for() -> None:
    calls: list[str] = []

    async def whole_pass() -> SweepReport:
        calls.append("pass")
        return SweepReport({"expired": 0})

    async def emails_only() -> SweepReport:
        calls.append("emails")
        return SweepReport({"emails_sent": 0})

    wakeup = Wakeup()
    worker = SweepWorker(whole_pass, interval_seconds=3600, wakeup=wakeup, run_rung=emails_only)
    worker.start()
    await eventually(lambda: _count(calls), lambda n: n >= 1, timeout=15)
    wakeup.ring()
    await eventually(lambda: _count(calls), lambda n: n >= 2, timeout=5)
    wakeup.ring()
    await eventually(lambda: _count(calls), lambda n: n >= 3, timeout=5)
    await worker.stop()

    # The first (whole) pass on its own clock; each ring sent the emails, and nothing else.
    assert calls == ["pass", "emails", "emails"]


async def test_rings_do_not_hold_back_the_whole_pass() -> None:
    calls: list[str] = []

    async def whole_pass() -> SweepReport:
        calls.append("pass")
        return SweepReport({"expired": 0})

    async def emails_only() -> SweepReport:
        calls.append("emails")
        return SweepReport({"emails_sent": 0})

    wakeup = Wakeup()
    worker = SweepWorker(whole_pass, interval_seconds=1.5, wakeup=wakeup, run_rung=emails_only)
    worker.start()
    # Steady traffic: a ring more often than the interval, for a few intervals.
    for _ in range(40):
        wakeup.ring()
        await asyncio.sleep(0.2)
    await worker.stop()

    assert calls.count("emails") >= 3
    assert calls.count("pass") >= 3  # about every 1.5 s, rings or not


async def test_a_queued_email_leaves_within_seconds_not_at_the_next_interval(
    test_db: DatabaseUnderTest, owner_db: Database
) -> None:
    # The regular pass comes within the first 10 s, then not for an hour: the payment's
    # email, queued later, must still leave at once.
    with run_server(test_db, sweep_interval_seconds=3600) as server:
        async with server.client() as client:
            await asyncio.sleep(FIRST_PASS_MAX_DELAY_SECONDS + 1)
            created = await create(client, PAID)
            await pay(client, server.url + "/sandbox/airwallex", created)

            sent = await eventually(
                lambda: _outbox_states(owner_db, created["bookingId"]),
                lambda states: states.get("payment_received") == "sent",
                timeout=10,
            )

    assert sent["payment_received"] == "sent"


async def _outbox_states(database: Database, booking_id: str) -> dict[str, str]:
    async with database.transaction(SERVICE) as session:
        rows = await session.scalars(
            select(OutboxMessage).where(OutboxMessage.booking_id == uuid.UUID(booking_id))
        )
        return {row.kind: row.state for row in rows}


async def test_stopping_while_rings_arrive_always_ends_the_worker() -> None:
    """A stop that lands as a ring wakes the worker must still end it (it once hung)."""

    async def emails_only() -> SweepReport:
        return SweepReport({"emails_sent": 0})

    for _ in range(200):
        wakeup = Wakeup()
        worker = SweepWorker(emails_only, interval_seconds=3600, wakeup=wakeup)
        worker.start()
        await asyncio.sleep(0)
        wakeup.ring()
        await asyncio.wait_for(worker.stop(), timeout=5)
