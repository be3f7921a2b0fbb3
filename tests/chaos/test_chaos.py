"""Chaos: 50 bookings booked, paid and scheduled while the server is SIGKILLed and providers fail.

A driver acts as customers would (retrying what fails, a bounded number of times), a killer
SIGKILLs the one `sessionbook serve` at random moments and starts it again on the same port, and
a faulter makes the Airwallex and Cal.com stand-ins fail, lose answers or hang. Afterwards
`sessionbook sweep` must have nothing left to repair, and our database must agree with the
stand-ins' own records: every payment applied exactly once, every session one Cal.com booking.

CHAOS_SEED replays a run's random choices (timing still differs from run to run).
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from sessionbook_sandbox.airwallex_store import INTENT_SUCCEEDED
from tests.chaos.checks import (
    CalBooking,
    OurBooking,
    OurSession,
    payment_problems,
    session_problems,
)
from tests.chaos.rig import (
    OPEN_FROM,
    OPEN_UNTIL,
    WEBHOOK_RETRY_DELAYS,
    Stage,
    run_sweep,
    stage,
)
from tests.conftest import fresh_test_database

pytestmark = pytest.mark.postgres

BOOKINGS = 50
# (package, sessions the customer books, weight): monthly buys 4, the customer books 2 now.
PLANS = (("single", 1, 5), ("monthly", 2, 3), ("discovery", 1, 2))
WORKERS = 8
MIN_KILLS = 5
CHAOS_SECONDS = 30.0  # kills and faults happen in this window (more kills if it is not enough)
SWEEP_SECONDS = 1
# Sweep duties that repair something; the last pass must report zero for each of them.
REPAIR_DUTIES = (
    "expired",
    "webhooks_retried",
    "payments_reconciled",
    "payment_links_deactivated",
    "refunds_followed",
    "scheduling_recovered",
    "calendar_cancelled",
)
SWEEP_PASSES = 5
ATTEMPTS = 40  # per request, as a patient client would
RETRY_PAUSE_SECONDS = 0.5
# A request cut off by a kill leaves its scheduling lease (60 s) to lapse before recovery.
SCHEDULE_SECONDS = 110.0
REQUEST_TIMEOUT_SECONDS = 30.0
RETRIED_STATUSES = {502, 503, 504}


@dataclass
class Figures:
    kills: int = 0
    faults: Counter[str] = field(default_factory=Counter)
    retries: Counter[str] = field(default_factory=Counter)


@dataclass(frozen=True)
class Plan:
    package: str
    sessions: int


@dataclass
class Driven:
    """What the driver got: the booking, and how far it came."""

    plan: Plan
    booking_id: str
    token: str
    paid: bool = False
    sessions: int = 0


class SlotPool:
    """Hourly starts on the days ahead; shared by all customers, so some of them collide."""

    def __init__(self, rng: random.Random) -> None:
        first = (datetime.now(UTC) + timedelta(days=2)).replace(
            hour=0, minute=0, second=0, microsecond=0
        )
        self.free = [
            first + timedelta(days=day, hours=hour)
            for day in range(8)
            for hour in range(OPEN_FROM, OPEN_UNTIL)
        ]
        self.rng = rng

    def pick(self) -> datetime:
        assert self.free, "the slot pool ran dry"
        return self.rng.choice(self.free)

    def taken(self, start: datetime) -> None:
        if start in self.free:
            self.free.remove(start)


class Customer:
    """Calls as a client makes them: no connection, a 502/503/504 or a timeout is retried."""

    def __init__(self, http: httpx.AsyncClient, figures: Figures) -> None:
        self.http = http
        self.figures = figures

    async def call(
        self, name: str, send: Callable[[], Awaitable[httpx.Response]], accept: set[int]
    ) -> httpx.Response:
        for _ in range(ATTEMPTS):
            try:
                answer = await send()
            except httpx.TransportError:
                self.figures.retries[f"{name}:unreachable"] += 1
            else:
                if answer.status_code in accept:
                    return answer
                if answer.status_code not in RETRIED_STATUSES:
                    raise AssertionError(f"{name}: {answer.status_code} {answer.text}")
                self.figures.retries[f"{name}:{answer.status_code}"] += 1
            await asyncio.sleep(RETRY_PAUSE_SECONDS)
        raise AssertionError(f"{name}: no answer after {ATTEMPTS} attempts")

    async def status(self, server: str, token: str) -> dict[str, Any]:
        answer = await self.call(
            "status",
            lambda: self.http.get(
                f"{server}/functions/v1/booking-status", headers={"X-Booking-Token": token}
            ),
            {200},
        )
        body: dict[str, Any] = answer.json()
        return body


async def drive(
    plan: Plan, stage_: Stage, customer: Customer, pool: SlotPool, driven: list[Driven]
) -> None:
    """One customer: create, pay (when the package costs), then book the planned sessions."""
    server, http = stage_.server.url, customer.http
    body = {
        "packageId": plan.package,
        "customerName": "Chaos Customer",
        "customerEmail": "chaos@example.com",
    }
    created = (
        await customer.call(
            "create", lambda: http.post(f"{server}/functions/v1/booking-create", json=body), {201}
        )
    ).json()
    booking = Driven(plan=plan, booking_id=created["bookingId"], token=created["bookingToken"])
    driven.append(booking)
    if created["requiresPayment"]:
        link_id = created["paymentUrl"].rsplit("/", 1)[-1]
        await customer.call(
            "pay",
            lambda: http.post(
                f"{stage_.airwallex}/_sandbox/pay/{link_id}", json={"outcome": "succeeded"}
            ),
            {200},
        )
    deadline = time.monotonic() + SCHEDULE_SECONDS
    while time.monotonic() < deadline:
        status = await customer.status(server, booking.token)
        booking.paid = status["status"] in ("paid", "scheduled")
        booking.sessions = len(status["sessions"])
        if booking.sessions >= plan.sessions:
            return
        if not booking.paid:
            await asyncio.sleep(RETRY_PAUSE_SECONDS)
            continue
        await _schedule_one(booking, server, customer, pool)
    raise AssertionError(f"booking {booking.booking_id} not scheduled in time: {booking}")


async def _schedule_one(booking: Driven, server: str, customer: Customer, pool: SlotPool) -> None:
    """One attempt to book one more session; the caller re-reads the status either way."""
    start = pool.pick()
    length = 30 if booking.plan.package == "discovery" else 60
    request = {
        "bookingToken": booking.token,
        "startTime": start.isoformat().replace("+00:00", "Z"),
        "endTime": (start + timedelta(minutes=length)).isoformat().replace("+00:00", "Z"),
    }
    try:
        answer = await customer.http.post(f"{server}/functions/v1/booking-schedule", json=request)
    except httpx.TransportError:
        # Maybe booked, maybe not: the status read that follows tells.
        customer.figures.retries["schedule:unreachable"] += 1
        await asyncio.sleep(RETRY_PAUSE_SECONDS)
        return
    code = answer.json().get("error", {}).get("code") if answer.status_code != 200 else None
    if answer.status_code == 200 or code == "slot_unavailable":
        pool.taken(start)
        return
    if answer.status_code in RETRIED_STATUSES or code == "booking_not_schedulable":
        # A provider failed, or another attempt (perhaps one cut off by a kill) holds the lease.
        customer.figures.retries[f"schedule:{code or answer.status_code}"] += 1
        await asyncio.sleep(RETRY_PAUSE_SECONDS * 2)
        return
    raise AssertionError(f"schedule: {answer.status_code} {answer.text}")


async def killer(stage_: Stage, rng: random.Random, figures: Figures, until: float) -> None:
    """SIGKILL the server at random moments, then start it again on the same port."""
    while figures.kills < MIN_KILLS or time.monotonic() < until:
        await asyncio.sleep(rng.uniform(1.0, 5.0))
        stage_.server.kill()
        figures.kills += 1
        await asyncio.sleep(rng.uniform(0.0, 1.0))
        stage_.server.start()
        await stage_.server.wait_ready()


# Each fault: where, and what the stand-in's fault hook is told.
AIRWALLEX_FAULTS: dict[str, dict[str, Any]] = {
    "airwallex_5xx": {"path_prefix": "/api/v1/pa/", "status": 503, "count": 2},
    "airwallex_500": {"path_prefix": "/api/v1/pa/", "status": 500, "count": 1},
    "airwallex_answer_lost": {"path_prefix": "/api/v1/pa/", "status": 500, "when": "after"},
    "airwallex_hang": {"path_prefix": "/api/v1/pa/", "status": None, "delay_seconds": 11},
}
CAL_FAULTS: dict[str, dict[str, Any]] = {
    "cal_5xx": {"path_prefix": "/v2/bookings", "status": 503, "count": 2},
    "cal_500": {"path_prefix": "/v2/bookings", "status": 500, "count": 1},
    "cal_answer_lost": {
        "path_prefix": "/v2/bookings",
        "method": "POST",
        "status": 500,
        "after_success": True,
    },
    "cal_hang": {"path_prefix": "/v2/bookings", "delay_seconds": 11},
    "cal_slots_5xx": {"path_prefix": "/v2/slots", "status": 503, "count": 2},
}


async def faulter(
    stage_: Stage, http: httpx.AsyncClient, rng: random.Random, figures: Figures, until: float
) -> None:
    """Tell the stand-ins to fail, lose an answer or hang, now and then, at random."""
    kinds = [*AIRWALLEX_FAULTS, *CAL_FAULTS]
    while time.monotonic() < until:
        await asyncio.sleep(rng.uniform(0.3, 1.5))
        kind = rng.choice(kinds)
        if kind in AIRWALLEX_FAULTS:
            answer = await http.post(
                f"{stage_.airwallex}/_sandbox/faults", json=AIRWALLEX_FAULTS[kind]
            )
        else:
            answer = await http.post(f"{stage_.cal}/_sandbox/faults", json=CAL_FAULTS[kind])
        assert answer.status_code == 201, answer.text
        figures.faults[kind] += 1
    await http.delete(f"{stage_.airwallex}/_sandbox/faults")
    await http.delete(f"{stage_.cal}/_sandbox/faults")


async def webhooks_settled(stage_: Stage, http: httpx.AsyncClient) -> bool:
    """Every event delivered, or all its attempts spent (then the sweep must find the payment)."""
    events = (await http.get(f"{stage_.airwallex}/_sandbox/webhook-events")).json()["items"]
    deliveries = (await http.get(f"{stage_.airwallex}/_sandbox/webhook-deliveries")).json()["items"]
    attempts = Counter(d["event_id"] for d in deliveries)
    return all(e["delivered"] or attempts[e["id"]] >= len(WEBHOOK_RETRY_DELAYS) for e in events)


async def wait_for(probe: Callable[[], Awaitable[bool]], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not await probe():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not reached within {timeout}s")
        await asyncio.sleep(0.5)


async def sweep_until_clean(stage_: Stage) -> list[dict[str, Any]]:
    """`sessionbook sweep` until a pass repairs nothing; every report, last one clean."""
    reports: list[dict[str, Any]] = []
    for _ in range(SWEEP_PASSES):
        report = await run_sweep(stage_.sweep_env)
        reports.append(report)
        if not _repairs(report):
            return reports
        await asyncio.sleep(SWEEP_SECONDS)
    raise AssertionError(f"sweep still repairing after {SWEEP_PASSES} passes: {reports}")


def _repairs(report: dict[str, Any]) -> dict[str, Any]:
    return {
        duty: count
        for duty, count in report.items()
        if (duty in REPAIR_DUTIES and count) or duty.endswith("_failed")
    }


async def test_bookings_survive_kills_and_provider_faults(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seed = int(os.environ.get("CHAOS_SEED") or time.time_ns() % 1_000_000)
    with capsys.disabled():  # shown in CI's log even when the run passes
        print(f"\nchaos seed: {seed} (replay with CHAOS_SEED={seed})")
    rng = random.Random(seed)
    figures = Figures()
    began = time.monotonic()
    async with fresh_test_database("postgres", tmp_path) as database:
        with stage(database.app_url, tmp_path, sweep_seconds=SWEEP_SECONDS) as running:
            try:
                await running.server.wait_ready()
                driven = await _run_chaos(running, rng, figures)
                await running.server.wait_ready()
                reports = await _settle(running, database.owner_url)
                bookings_checked, sessions_checked = await _check(
                    running, database.owner_url, driven
                )
            except BaseException:
                print(f"chaos seed {seed} failed; {_figures(figures)}")
                print(running.server.log_tail())
                raise
    with capsys.disabled():
        print(
            f"chaos figures: seed={seed} kills={figures.kills} "
            f"faults_injected={sum(figures.faults.values())} bookings_checked={bookings_checked} "
            f"sessions_checked={sessions_checked} sweep_passes={len(reports)} "
            f"elapsed_seconds={time.monotonic() - began:.1f}"
        )
        print(_figures(figures))


def _figures(figures: Figures) -> str:
    return f"faults: {dict(figures.faults)}; client retries: {dict(figures.retries)}"


async def _run_chaos(running: Stage, rng: random.Random, figures: Figures) -> list[Driven]:
    plans = [
        Plan(package, sessions)
        for package, sessions, _ in rng.choices(PLANS, weights=[w for *_, w in PLANS], k=BOOKINGS)
    ]
    pool = SlotPool(rng)
    driven: list[Driven] = []
    until = time.monotonic() + CHAOS_SECONDS
    gate = asyncio.Semaphore(WORKERS)
    async with httpx.AsyncClient(timeout=REQUEST_TIMEOUT_SECONDS) as http:
        customer = Customer(http, figures)

        async def one(plan: Plan) -> None:
            async with gate:
                await drive(plan, running, customer, pool, driven)

        chaos = [
            asyncio.create_task(killer(running, rng, figures, until)),
            asyncio.create_task(faulter(running, http, rng, figures, until)),
        ]
        try:
            await asyncio.gather(*(one(plan) for plan in plans))
            await asyncio.gather(*chaos)
        finally:
            for task in chaos:
                task.cancel()
    return driven


async def _settle(running: Stage, owner_url: str) -> list[dict[str, Any]]:
    """Let the last webhooks and leases run out, then sweep until nothing is left to repair."""
    async with httpx.AsyncClient(timeout=10) as http:
        await wait_for(lambda: webhooks_settled(running, http), 30, "webhooks delivered")
    connection = await asyncpg.connect(_plain(owner_url))
    try:

        async def no_lease_held() -> bool:
            held = await connection.fetchval(
                "SELECT count(*) FROM bookings WHERE schedule_lease_until > now()"
            )
            return bool(held == 0)

        await wait_for(no_lease_held, 70, "scheduling leases released or lapsed")
    finally:
        await connection.close()
    return await sweep_until_clean(running)


async def _check(running: Stage, owner_url: str, driven: list[Driven]) -> tuple[int, int]:
    """Our records against the stand-ins'; returns (bookings checked, sessions checked)."""
    sandbox = running.airwallex_sandbox
    links = dict(sandbox.store.links)
    succeeded: dict[str, list[str]] = defaultdict(list)  # booking id -> succeeded intent ids
    for intent in list(sandbox.store.intents.values()):
        if intent.status == INTENT_SUCCEEDED:
            link = links[intent.payment_link_id or ""]
            succeeded[link.metadata["booking_id"]].append(intent.id)
    async with httpx.AsyncClient(timeout=10) as http:
        answer = await http.get(f"{running.cal}/_sandbox/bookings")
    at_cal = [
        CalBooking(
            uid=event["uid"],
            start=_instant(event["start"]),
            end=_instant(event["end"]),
            booking_id=event["metadata"].get("booking_id"),
            session_id=event["metadata"].get("session_id"),
        )
        for event in answer.json()["data"]
        if event["status"] in ("accepted", "pending")
    ]
    ours, claims_in_flight = await _our_records(owner_url)

    problems = payment_problems(ours, succeeded) + session_problems(ours, at_cal)
    for item in driven:
        booking = ours[item.booking_id]
        if booking.payment_status != "paid" or len(booking.sessions) < item.plan.sessions:
            problems.append(f"{item.booking_id}: the customer did not get {item.plan}")
    if claims_in_flight:
        problems.append(f"{claims_in_flight} slot claims still in flight")
    assert not problems, "\n".join(problems)
    return len(ours), sum(len(b.sessions) for b in ours.values())


async def _our_records(owner_url: str) -> tuple[dict[str, OurBooking], int]:
    """Every booking with its live sessions, read as the owner; and the claims still in flight."""
    connection = await asyncpg.connect(_plain(owner_url))
    try:
        confirmed = Counter(
            str(row["booking_id"])
            for row in await connection.fetch(
                "SELECT booking_id FROM booking_events WHERE event_type = 'payment_confirmed'"
            )
        )
        sessions: dict[str, list[OurSession]] = defaultdict(list)
        for row in await connection.fetch(
            "SELECT id, booking_id, cal_uid, start_time, end_time FROM sessions"
            " WHERE state = 'booked' ORDER BY start_time"
        ):
            sessions[str(row["booking_id"])].append(
                OurSession(
                    id=str(row["id"]),
                    cal_uid=row["cal_uid"],
                    start=row["start_time"],
                    end=row["end_time"],
                )
            )
        ours = {
            str(row["id"]): OurBooking(
                id=str(row["id"]),
                status=row["status"],
                payment_status=row["payment_status"],
                payment_intent_id=row["payment_intent_id"],
                amount_cents=row["amount_cents"],
                sessions_total=row["sessions_total"],
                sessions_lapsed=row["sessions_lapsed"],
                confirmations=confirmed[str(row["id"])],
                sessions=sessions[str(row["id"])],
            )
            for row in await connection.fetch(
                "SELECT id, status, payment_status, payment_intent_id, amount_cents,"
                " sessions_total, sessions_lapsed FROM bookings"
            )
        }
        in_flight = await connection.fetchval(
            "SELECT count(*) FROM slot_claims WHERE session_id IS NULL"
        )
    finally:
        await connection.close()
    return ours, int(in_flight)


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _plain(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)
