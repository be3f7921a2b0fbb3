"""`sessionbook bookings ...`, `webhooks` and `admin ...` against both databases."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any
from unittest.mock import patch

import httpx
from typer.testing import CliRunner, Result

from sessionbook.admin.auth import verify_password
from sessionbook.cli.main import app
from sessionbook.core.db import Database
from tests.conftest import DatabaseUnderTest, RunningServer
from tests.operations.support import FREE, PAID, add_session, create, later_today, pay
from tests.support.queries import set_booking


async def sessionbook(test_db: DatabaseUnderTest, *args: str, stdin: str | None = None) -> Result:
    """Run the CLI against the test database as the application's login would."""
    env = {"DATABASE_URL": test_db.app_url, "COACH_TIMEZONE": "Europe/London", "LOG_LEVEL": "error"}
    runner = CliRunner()
    # The command would set up logging for the whole test process (and cache its loggers, so
    # later tests could no longer capture log lines): in-process, logging stays as it is.
    with patch("sessionbook.core.logs.configure_logging", lambda **_: None):
        # In a worker thread: the command runs its own event loop, as it does from a shell.
        return await asyncio.to_thread(runner.invoke, app, list(args), input=stdin, env=env)


def as_json(result: Result) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


async def test_list_pending_unscheduled_and_today(
    test_db: DatabaseUnderTest, api: httpx.AsyncClient, server: RunningServer, owner_db: Database
) -> None:
    waiting = await create(api, {**PAID, "customerEmail": "cli-waiting@example.com"})
    paid = await create(api, {**PAID, "customerEmail": "cli-paid@example.com"})
    await pay(api, server.url + "/sandbox/airwallex", paid)
    # The list shows the longest waiting first, over a database other tests fill too.
    await set_booking(owner_db, paid["bookingId"], paid_at=datetime(2020, 1, 1, tzinfo=UTC))
    today = await create(api, {**FREE, "customerEmail": "cli-today@example.com"})
    start = later_today("Europe/London")  # the CLI's COACH_TIMEZONE below
    await set_booking(owner_db, today["bookingId"], status="scheduled")
    await add_session(owner_db, today["bookingId"], start, minutes=30)

    listed = as_json(await sessionbook(test_db, "bookings", "list", "--json", "--limit", "500"))
    pending = as_json(await sessionbook(test_db, "bookings", "pending", "--json"))
    unscheduled = as_json(await sessionbook(test_db, "bookings", "unscheduled", "--json"))
    scheduled = as_json(await sessionbook(test_db, "bookings", "today", "--json"))
    table = await sessionbook(test_db, "bookings", "list", "--status", "paid")

    ids = [row["id"] for row in listed]
    assert ids.index(today["bookingId"]) < ids.index(paid["bookingId"])
    assert ids.index(paid["bookingId"]) < ids.index(waiting["bookingId"])
    assert waiting["bookingId"] in {row["id"] for row in pending}
    assert paid["bookingId"] not in {row["id"] for row in pending}
    assert paid["bookingId"] in {row["id"] for row in unscheduled}
    assert {row["status"] for row in unscheduled} == {"paid"}
    assert today["bookingId"] in {row["id"] for row in scheduled}
    assert table.exit_code == 0
    assert table.stdout.splitlines()[0].split() == [
        "ID", "CREATED", "CUSTOMER", "PACKAGE", "STATUS", "PAYMENT", "AMOUNT", "SESSIONS",
        "VALID", "UNTIL", "SESSION"
    ]  # fmt: skip
    assert "cli-paid@example.com" in table.stdout
    assert "cli-waiting@example.com" not in table.stdout


async def test_show_prints_the_whole_audit_trail(
    test_db: DatabaseUnderTest, api: httpx.AsyncClient, server: RunningServer
) -> None:
    created = await create(api, PAID)
    await pay(api, server.url + "/sandbox/airwallex", created)

    shown = as_json(await sessionbook(test_db, "bookings", "show", created["bookingId"], "--json"))
    text = await sessionbook(test_db, "bookings", "show", created["bookingId"])
    missing = await sessionbook(test_db, "bookings", "show", "00000000-0000-0000-0000-000000000000")
    malformed = await sessionbook(test_db, "bookings", "show", "nope")

    assert shown["booking"]["status"] == "paid"
    kinds = [event["type"] for event in shown["events"]]
    assert kinds[0] == "booking_created"
    assert "payment_confirmed" in kinds
    assert any(hook["type"] == "payment_intent.succeeded" for hook in shown["webhooks"])
    assert "payment_confirmed" in text.stdout
    assert "webhook" in text.stdout
    assert missing.exit_code == 1
    assert malformed.exit_code == 2


async def test_search_finds_by_email(test_db: DatabaseUnderTest, api: httpx.AsyncClient) -> None:
    created = await create(api, {**FREE, "customerEmail": "Needle.In@Haystack.example"})

    found = as_json(await sessionbook(test_db, "bookings", "search", "needle.in@", "--json"))

    assert [row["id"] for row in found] == [created["bookingId"]]


async def test_webhooks_reports_health(
    test_db: DatabaseUnderTest, api: httpx.AsyncClient, server: RunningServer
) -> None:
    await pay(api, server.url + "/sandbox/airwallex", await create(api, PAID))

    result = await sessionbook(test_db, "webhooks", "--json")

    report = as_json(result)
    assert report["healthy"] is True
    assert report["byState"]["processed"] >= 1
    assert report["lastReceived"].endswith("Z")
    assert report["paymentsConfirmedBySource"].get("webhook", 0) >= 1


async def test_hash_password_prints_an_argon2_hash(test_db: DatabaseUnderTest) -> None:
    result = await sessionbook(
        test_db, "admin", "hash-password", "--stdin", stdin="a fine passphrase\n"
    )
    short = await sessionbook(test_db, "admin", "hash-password", "--stdin", stdin="short\n")

    assert result.exit_code == 0, result.output
    printed = result.stdout.strip()
    assert printed.startswith("$argon2id$")
    assert verify_password(printed, "a fine passphrase")
    assert "a fine passphrase" not in result.output
    assert short.exit_code == 2
