"""`sessionbook doctor` against the stand-ins: all green, then every check made to fail once."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from aiosmtpd.smtp import AuthResult, LoginPassword
from typer.testing import CliRunner, Result

from sessionbook.cli.main import app
from sessionbook.core.settings import (
    PACKAGE_IDS,
    SANDBOX_AIRWALLEX_API_KEY,
    SANDBOX_AIRWALLEX_CLIENT_ID,
    SANDBOX_CAL_API_KEY,
    SANDBOX_EVENT_TYPE_IDS,
    SANDBOX_WEBHOOK_SECRET,
)
from sessionbook_sandbox.cal import EventTypeSpec, create_cal_sandbox
from tests.conftest import DatabaseUnderTest, RunningServer
from tests.support.databases import postgres_admin_url, with_database
from tests.support.live_server import free_port, live_server
from tests.support.smtp import smtp_server_on_loopback

LIVE_WEBHOOK_SECRET = "whsec_doctor_test_value_0123456789"
SMTP_USER, SMTP_PASSWORD = "coach", "smtp-password-never-shown"
CAL_TEST_KEY = "cal_doctor_test_key"
EVERY_CHECK = [
    "airwallex login",
    "airwallex webhook secret",
    *(f"cal.com event type {package_id}" for package_id in PACKAGE_IDS),
    "cal.com slots",
    "site url",
    "smtp",
    "database migrations",
    "database role",
]


@pytest.fixture(autouse=True)
def _suite_logging(monkeypatch: pytest.MonkeyPatch) -> None:
    # The command sets up process-wide logging; other tests rely on the suite's own set-up.
    monkeypatch.setattr("sessionbook.core.logs.configure_logging", lambda **_: None)


async def doctor(env: dict[str, str], *args: str, terminal: bool = False) -> Result:
    """`sessionbook doctor` with exactly these variables, as from a shell (or a terminal)."""
    runner = CliRunner()
    # In a worker thread: the command runs its own event loop, as it does from a shell.
    return await asyncio.to_thread(runner.invoke, app, ["doctor", *args], env=env, color=terminal)


def line(result: Result, name: str) -> str:
    """The report's line for one check."""
    pattern = re.compile(rf"^(ok|FAIL|skip)\s+{re.escape(name)}\s{{2}}")
    found = [text for text in result.stdout.splitlines() if pattern.match(text)]
    assert len(found) == 1, f"no single line for {name!r} in:\n{result.stdout}"
    return found[0]


def sandbox_env(test_db: DatabaseUnderTest, server: RunningServer, **extra: str) -> dict[str, str]:
    return {"DATABASE_URL": test_db.app_url, "SITE_URL": server.url, **extra}


def live_env(test_db: DatabaseUnderTest, server: RunningServer, **extra: str) -> dict[str, str]:
    """Live settings (real keys for real providers) pointed at the server's own stand-ins."""
    event_type_ids = {
        f"CAL_{package_id.upper()}_EVENT_TYPE_ID": str(SANDBOX_EVENT_TYPE_IDS[package_id])
        for package_id in PACKAGE_IDS
    }
    live = {
        "AIRWALLEX_BASE_URL": f"{server.url}/sandbox/airwallex",
        "AIRWALLEX_CLIENT_ID": SANDBOX_AIRWALLEX_CLIENT_ID,
        "AIRWALLEX_API_KEY": SANDBOX_AIRWALLEX_API_KEY,
        "AIRWALLEX_WEBHOOK_SECRET": LIVE_WEBHOOK_SECRET,
        "CAL_API_URL": f"{server.url}/sandbox/cal/v2",
        "CAL_API_KEY": SANDBOX_CAL_API_KEY,
        **event_type_ids,
    }
    return sandbox_env(test_db, server, **{**live, **extra})


@dataclass
class Mailbox:
    """What the SMTP server was sent; the doctor must never send anything."""

    messages: list[bytes] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope.content)
        return "250 Message accepted"


def _authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
    expected = (SMTP_USER.encode(), SMTP_PASSWORD.encode())
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == expected
    # handled=False: aiosmtpd itself answers a refusal with 535, as a real server does.
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def smtp_server() -> Iterator[tuple[Mailbox, int]]:
    """A plain SMTP server with AUTH and no STARTTLS, on loopback."""
    mailbox = Mailbox()
    with smtp_server_on_loopback(mailbox, _authenticate) as port:
        yield mailbox, port


def smtp_env(port: int, **extra: str) -> dict[str, str]:
    return {
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(port),
        "SMTP_FROM": "coach@example.com",
        "SMTP_STARTTLS": "false",
        "SMTP_USERNAME": SMTP_USER,
        "SMTP_PASSWORD": SMTP_PASSWORD,
        **extra,
    }


@pytest.fixture(scope="module")
def misconfigured_cal() -> Iterator[str]:
    """A Cal.com stand-in whose event types are wrong for the packages in three ways.

    discovery (1001) is right, with the host's default video app; single (1002) meets at an
    address, with no video; monthly (1003) lasts 45 minutes instead of 60; quarterly's 1004
    does not exist.
    """
    ids = SANDBOX_EVENT_TYPE_IDS
    stand_in = create_cal_sandbox(
        api_key=CAL_TEST_KEY,
        event_types={
            ids["discovery"]: EventTypeSpec(
                30, "Discovery call", "discovery", locations=({"type": "organizersDefaultApp"},)
            ),
            ids["single"]: EventTypeSpec(
                60,
                "Single session",
                "single",
                locations=({"type": "address", "address": "1 Coaching Street"},),
            ),
            ids["monthly"]: EventTypeSpec(45, "Monthly", "monthly"),
        },
    )
    with live_server(stand_in) as url:
        yield url


def cal_env(cal_url: str) -> dict[str, str]:
    return {
        "CAL_API_URL": f"{cal_url}/v2",
        "CAL_API_KEY": CAL_TEST_KEY,
        **{
            f"CAL_{package_id.upper()}_EVENT_TYPE_ID": str(SANDBOX_EVENT_TYPE_IDS[package_id])
            for package_id in PACKAGE_IDS
        },
    }


async def test_every_check_passes_against_the_stand_ins(
    test_db: DatabaseUnderTest, server: RunningServer, smtp_server: tuple[Mailbox, int]
) -> None:
    mailbox, port = smtp_server
    env = sandbox_env(test_db, server, **smtp_env(port))

    text = await doctor(env)
    as_json = await doctor(env, "--json")

    assert text.exit_code == 0, text.stdout
    assert as_json.exit_code == 0, as_json.stdout
    report = json.loads(as_json.stdout)
    assert [check["name"] for check in report] == EVERY_CHECK
    assert all(set(check) == {"name", "status", "ok", "detail"} for check in report)
    assert all(check["ok"] is True for check in report)
    role = "skip" if not test_db.is_postgres else "ok"
    assert {check["name"]: check["status"] for check in report}["database role"] == role
    assert "the sandbox stand-in" in line(text, "airwallex login")
    assert "cal-video" in line(text, "cal.com event type single")
    assert "60 minutes" in line(text, "cal.com event type single")
    assert f"logged in as {SMTP_USER}" in line(text, "smtp")
    assert line(text, "database migrations").startswith("ok")
    if test_db.is_postgres:
        assert "row-level security on bookings" in line(text, "database role")
    else:
        assert "does not apply" in line(text, "database role")
    assert text.stdout.splitlines()[-1] == f"{len(EVERY_CHECK)} checks: ready to go live"
    assert SMTP_PASSWORD not in text.stdout + as_json.stdout
    assert mailbox.messages == []  # EHLO and login only: no mail was sent


async def test_live_keys_log_in_at_the_configured_base_url(
    test_db: DatabaseUnderTest, server: RunningServer
) -> None:
    result = await doctor(live_env(test_db, server))

    assert line(result, "airwallex login").startswith("ok")
    assert f"{server.url}/sandbox/airwallex (not an Airwallex host)" in line(
        result, "airwallex login"
    )
    assert line(result, "airwallex webhook secret").startswith("ok")
    assert "/functions/v1/payment-webhook" in line(result, "airwallex webhook secret")
    assert line(result, "cal.com slots").startswith("ok")
    assert LIVE_WEBHOOK_SECRET not in result.stdout


async def test_a_refused_airwallex_key_names_the_base_url(
    test_db: DatabaseUnderTest, server: RunningServer
) -> None:
    wrong_key = "demo-key-used-against-production-4711"

    result = await doctor(live_env(test_db, server, AIRWALLEX_API_KEY=wrong_key))

    assert result.exit_code == 1
    refused = line(result, "airwallex login")
    assert refused.startswith("FAIL")
    assert "login refused" in refused
    assert "401" in refused
    assert "AIRWALLEX_BASE_URL" in refused
    assert f"{server.url}/sandbox/airwallex" in refused
    assert "https://api-demo.airwallex.com" in refused
    assert wrong_key not in result.stdout


async def test_a_live_webhook_secret_must_be_set_and_not_the_sandbox_one(
    test_db: DatabaseUnderTest, server: RunningServer
) -> None:
    without = live_env(test_db, server)
    del without["AIRWALLEX_WEBHOOK_SECRET"]

    missing = await doctor(without)
    missing_json = await doctor(without, "--json")
    sandbox_value = await doctor(
        live_env(test_db, server, AIRWALLEX_WEBHOOK_SECRET=SANDBOX_WEBHOOK_SECRET)
    )

    assert missing.exit_code == 1
    assert line(missing, "settings").startswith("FAIL")
    assert "AIRWALLEX_WEBHOOK_SECRET is required" in line(missing, "settings")
    assert missing_json.exit_code == 1
    assert json.loads(missing_json.stdout) == [
        {
            "name": "settings",
            "status": "fail",
            "ok": False,
            "detail": json.loads(missing_json.stdout)[0]["detail"],
        }
    ]
    assert sandbox_value.exit_code == 1
    assert line(sandbox_value, "airwallex webhook secret").startswith("FAIL")
    assert "public sandbox value" in line(sandbox_value, "airwallex webhook secret")


async def test_each_event_type_problem_names_its_package(
    test_db: DatabaseUnderTest, server: RunningServer, misconfigured_cal: str
) -> None:
    ids = SANDBOX_EVENT_TYPE_IDS

    result = await doctor(sandbox_env(test_db, server, **cal_env(misconfigured_cal)))

    assert result.exit_code == 1
    assert line(result, "cal.com event type discovery").startswith("ok")
    assert "video by organizersDefaultApp" in line(result, "cal.com event type discovery")
    no_video = line(result, "cal.com event type single")
    assert no_video.startswith("FAIL")
    assert f"event type {ids['single']} has no video location (locations: address)" in no_video
    too_short = line(result, "cal.com event type monthly")
    assert too_short.startswith("FAIL")
    assert "lasts 45 minutes but the package lasts 60" in too_short
    unknown = line(result, "cal.com event type quarterly")
    assert unknown.startswith("FAIL")
    assert f"Cal.com has no event type {ids['quarterly']}" in unknown
    assert "CAL_QUARTERLY_EVENT_TYPE_ID" in unknown
    assert line(result, "cal.com slots").startswith("ok")


async def test_refused_slots_name_the_key(
    test_db: DatabaseUnderTest, server: RunningServer, misconfigured_cal: str
) -> None:
    async with httpx.AsyncClient(base_url=misconfigured_cal) as cal:
        fault = {"path_prefix": "/v2/slots", "status": 403}
        (await cal.post("/_sandbox/faults", json=fault)).raise_for_status()
        try:
            result = await doctor(sandbox_env(test_db, server, **cal_env(misconfigured_cal)))
        finally:
            await cal.delete("/_sandbox/faults")

    assert result.exit_code == 1
    refused = line(result, "cal.com slots")
    assert refused.startswith("FAIL")
    assert "Cal.com refused to list slots (HTTP 403): check CAL_API_KEY" in refused
    assert CAL_TEST_KEY not in result.stdout


async def test_site_url_must_be_https_outside_the_sandbox(
    test_db: DatabaseUnderTest, server: RunningServer
) -> None:
    result = await doctor(live_env(test_db, server))

    assert result.exit_code == 1
    plain = line(result, "site url")
    assert plain.startswith("FAIL")
    assert "SITE_URL is not https" in plain
    assert "nothing answers" not in plain


async def test_an_unreachable_site_url_says_the_server_may_not_run(
    test_db: DatabaseUnderTest, server: RunningServer
) -> None:
    nobody = f"http://127.0.0.1:{free_port()}"

    result = await doctor({"DATABASE_URL": test_db.app_url, "SITE_URL": nobody})
    coloured = await doctor({"DATABASE_URL": test_db.app_url, "SITE_URL": nobody}, terminal=True)

    assert result.exit_code == 1
    unreachable = line(result, "site url")
    assert unreachable.startswith("FAIL")
    assert f"nothing answers at {nobody}/healthz" in unreachable
    assert "is `sessionbook serve` running" in unreachable
    assert "not https" not in unreachable  # plain http on loopback is fine in sandbox mode
    # The stand-ins live in that same server, so the providers' lines say so too.
    assert "is `sessionbook serve` running at SITE_URL" in line(result, "airwallex login")
    # Red and green on a terminal; plain words when piped (the lines above).
    assert "\x1b[31m" in coloured.stdout
    assert "\x1b[32m" in coloured.stdout
    assert "\x1b[" not in result.stdout


async def test_smtp_that_refuses_is_named(
    test_db: DatabaseUnderTest, server: RunningServer, smtp_server: tuple[Mailbox, int]
) -> None:
    mailbox, port = smtp_server
    closed_port = free_port()

    closed = await doctor(sandbox_env(test_db, server, **smtp_env(closed_port)))
    no_tls = await doctor(sandbox_env(test_db, server, **smtp_env(port, SMTP_STARTTLS="true")))
    wrong_password = await doctor(
        sandbox_env(test_db, server, **smtp_env(port, SMTP_PASSWORD="not-the-password"))
    )
    unset = await doctor(sandbox_env(test_db, server))

    assert closed.exit_code == 1
    assert line(closed, "smtp").startswith("FAIL")
    assert f"cannot talk to 127.0.0.1:{closed_port} (ConnectionRefusedError)" in line(
        closed, "smtp"
    )
    assert no_tls.exit_code == 1
    assert "offers no STARTTLS (SMTP_STARTTLS=true)" in line(no_tls, "smtp")
    assert wrong_password.exit_code == 1
    assert "refused SMTP_USERNAME/SMTP_PASSWORD (535)" in line(wrong_password, "smtp")
    assert "not-the-password" not in wrong_password.stdout
    # Without SMTP_HOST emails are only logged: said, but not a failure.
    assert unset.exit_code == 0, unset.stdout
    assert line(unset, "smtp").startswith("skip")
    assert "emails are only logged" in line(unset, "smtp")
    assert mailbox.messages == []


@pytest.fixture
async def empty_database(test_db: DatabaseUnderTest, tmp_path: Path) -> AsyncIterator[str]:
    """A database of the same backend that no migration has touched."""
    if not test_db.is_postgres:
        yield f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
        return
    admin_url = postgres_admin_url()
    assert admin_url is not None
    name = f"sb_doctor_{uuid.uuid4().hex[:12]}"
    plain = admin_url.replace("postgresql+asyncpg://", "postgresql://", 1)
    connection = await asyncpg.connect(plain)
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
        yield with_database(admin_url, name)
    finally:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await connection.close()


async def test_an_unmigrated_database_is_named(server: RunningServer, empty_database: str) -> None:
    result = await doctor({"DATABASE_URL": empty_database, "SITE_URL": server.url})

    assert result.exit_code == 1
    unmigrated = line(result, "database migrations")
    assert unmigrated.startswith("FAIL")
    assert "no migration at all" in unmigrated
    assert "run `sessionbook migrate`" in unmigrated
    assert "cannot read the packages" in line(result, "cal.com event types")


async def test_the_tables_owner_as_login_is_refused_on_postgresql(
    test_db: DatabaseUnderTest, server: RunningServer
) -> None:
    if not test_db.is_postgres:
        pytest.skip("row-level security and login roles exist only on PostgreSQL")

    result = await doctor({"DATABASE_URL": test_db.owner_url, "SITE_URL": server.url})

    assert result.exit_code == 1
    owner = line(result, "database role")
    assert owner.startswith("FAIL")
    assert "is a superuser" in owner
    assert "owns the tables (" in owner
    assert "alembic_version" in owner  # the first few tables by name are shown
    assert line(result, "database migrations").startswith("ok")
