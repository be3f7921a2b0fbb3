"""The database going away while we run: 503 service_unavailable everywhere, then recovery.

PostgreSQL is reached through a TCP proxy of the test's own, which the test cuts (new
connections refused, open ones reset) and restores: the shared server is never touched.
SQLite has no server to lose while running (the file stays open), so its outage is covered
where it can happen, at start-up (tests/operations/test_database_startup.py), and by the
classification test below.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.exc import OperationalError, ProgrammingError

from sessionbook.core.db import database_unreachable
from sessionbook.monitoring.sweep import run_sweep
from sessionbook.monitoring.worker import SweepWorker
from sessionbook.payments.airwallex.signature import sign
from tests.conftest import DatabaseUnderTest, RunningServer, run_server
from tests.operations.support import FREE
from tests.support.tcp_proxy import TcpProxy, proxied_database

TOKEN = {"X-Booking-Token": "n" * 43}  # well formed, so it is looked up
PAGE = {"Accept": "text/html,application/xhtml+xml"}


@pytest.fixture(scope="module")
def outage(test_db: DatabaseUnderTest) -> Iterator[tuple[TcpProxy, RunningServer]]:
    if not test_db.is_postgres:
        pytest.skip("a SQLite file cannot become unreachable while it is open")
    with (
        proxied_database(test_db.app_url) as (proxy, url),
        run_server(test_db, database_url=url) as server,
    ):
        yield proxy, server


@pytest.fixture
def down(outage: tuple[TcpProxy, RunningServer]) -> Iterator[RunningServer]:
    """The server with its database cut off for the test; restored afterwards."""
    proxy, server = outage
    proxy.cut()
    try:
        yield server
    finally:
        proxy.restore()


def _signed_webhook(server: RunningServer) -> tuple[bytes, dict[str, str]]:
    body = json.dumps({"id": "evt_outage", "name": "payment_intent.succeeded", "data": {}})
    stamp = str(int(time.time() * 1000))
    secret = server.settings.webhook_secret
    headers = {
        "content-type": "application/json",
        "x-timestamp": stamp,
        "x-signature": sign(secret, stamp, body.encode()),
    }
    return body.encode(), headers


async def _every_route(client: httpx.AsyncClient, server: RunningServer) -> list[httpx.Response]:
    times = {"startTime": "2030-01-07T10:00:00Z", "endTime": "2030-01-07T10:30:00Z"}
    token = {"bookingToken": TOKEN["X-Booking-Token"]}
    webhook_body, webhook_headers = _signed_webhook(server)
    return [
        await client.post("/functions/v1/booking-create", json=FREE),
        await client.get("/functions/v1/booking-status", headers=TOKEN),
        await client.get(
            "/functions/v1/booking-slots",
            params={"start": "2030-01-07", "end": "2030-01-08"},
            headers=TOKEN,
        ),
        await client.post("/functions/v1/booking-schedule", json={**token, **times}),
        await client.post("/functions/v1/booking-reschedule", json={**token, **times}),
        await client.post("/functions/v1/booking-cancel", json=token),
        await client.post(
            "/functions/v1/payment-webhook", content=webhook_body, headers=webhook_headers
        ),
    ]


async def test_every_api_route_answers_503_with_retry_after(down: RunningServer) -> None:
    async with down.client() as client:
        answers = await _every_route(client, down)

    for answer in answers:
        assert answer.status_code == 503, f"{answer.request.url.path}: {answer.text}"
        assert answer.json()["error"]["code"] == "service_unavailable"
        assert int(answer.headers["Retry-After"]) > 0
        assert answer.headers["Cache-Control"] == "no-store"


async def test_pages_show_a_friendly_try_again_page(down: RunningServer) -> None:
    async with down.client() as client:
        home = await client.get("/", headers=PAGE)
        booking = await client.get("/book", headers={**PAGE, "Cookie": "sb_booking=" + "x" * 43})

    for page in (home, booking):
        assert page.status_code == 503, page.text
        assert page.headers["content-type"].startswith("text/html")
        assert int(page.headers["Retry-After"]) > 0
        assert "try again in a minute" in page.text
        assert "Traceback" not in page.text


async def test_readiness_fails_while_the_database_is_away(down: RunningServer) -> None:
    async with down.client() as client:
        ready = await client.get("/readyz")
        alive = await client.get("/healthz")

    assert ready.status_code == 503
    assert ready.json()["database"] == "unreachable"
    assert alive.status_code == 200


async def test_everything_recovers_when_the_database_returns(
    outage: tuple[TcpProxy, RunningServer],
) -> None:
    proxy, server = outage
    async with server.client() as client:
        before = await client.post("/functions/v1/booking-create", json=FREE)
        assert before.status_code == 201, before.text
        proxy.cut()
        try:
            during = await client.get(
                "/functions/v1/booking-status",
                headers={"X-Booking-Token": before.json()["bookingToken"]},
            )
            assert during.status_code == 503
        finally:
            proxy.restore()

        # Pooled connections died with the cut; pre-ping hands out fresh ones, no restart.
        status = await client.get(
            "/functions/v1/booking-status",
            headers={"X-Booking-Token": before.json()["bookingToken"]},
        )
        ready = await client.get("/readyz")
        home = await client.get("/", headers=PAGE)
        created = await client.post("/functions/v1/booking-create", json=FREE)

    assert status.status_code == 200, status.text
    assert ready.status_code == 200, ready.text
    assert home.status_code == 200
    assert created.status_code == 201, created.text


async def test_the_sweep_worker_logs_and_keeps_going(
    outage: tuple[TcpProxy, RunningServer],
) -> None:
    proxy, server = outage
    async with server.local_services() as services:
        worker = SweepWorker(lambda: run_sweep(services.sweep_duties), interval_seconds=60)
        proxy.cut()
        try:
            await worker.run_once()
            report_down = await run_sweep(services.sweep_duties)
        finally:
            proxy.restore()
        report_up = await run_sweep(services.sweep_duties)
        await worker.run_once()

    assert worker.passes == 2
    assert report_down.counts == {"expired_failed": 1}  # stopped at the first duty
    assert not [duty for duty in report_up.counts if duty.endswith("_failed")]


def test_outages_are_told_from_bugs(tmp_path: Path) -> None:
    missing_dir = tmp_path / "gone" / "x.db"
    try:
        sqlite3.connect(missing_dir).execute("SELECT 1")
    except sqlite3.OperationalError as exc:
        unopenable: BaseException = exc
    wrapped = OperationalError("SELECT 1", {}, unopenable)
    wrapped.__cause__ = unopenable
    syntax = ProgrammingError("SELEC 1", {}, Exception("syntax error"))

    assert database_unreachable(unopenable)
    assert database_unreachable(wrapped)
    assert database_unreachable(ConnectionRefusedError(111, "Connect call failed"))
    assert not database_unreachable(syntax)
    assert not database_unreachable(FileNotFoundError("template.html"))
    assert not database_unreachable(ValueError("bad"))
    assert not database_unreachable(sqlite3.OperationalError("no such table: bookings"))
