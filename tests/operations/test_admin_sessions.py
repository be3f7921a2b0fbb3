"""Admin sessions on the server and the sign-in backoff, over HTTP on both databases."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import update
from typer.testing import CliRunner, Result

from sessionbook.admin.auth import ADMIN_ACCOUNT, DeviceSigner
from sessionbook.admin.models import AdminSessionRecord
from sessionbook.admin.pages import AdminSite
from sessionbook.cli.main import app
from sessionbook.core.db import ADMIN, Database
from tests.conftest import DatabaseUnderTest, RunningServer, run_server
from tests.operations.support import ADMIN_PASSWORD, ADMIN_SETTINGS, csrf_of, sign_in

_SESSION_ROW = re.compile(r'<tr data-session="([0-9a-f]+)">(.*?)</tr>', re.DOTALL)


class FakeClock:
    """The throttle's clock, moved by the tests instead of sleeping."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture(scope="module")
def admin_server(test_db: DatabaseUnderTest) -> Iterator[RunningServer]:
    with run_server(test_db, **ADMIN_SETTINGS) as running:
        yield running


@pytest.fixture(scope="module")
def guarded_server(test_db: DatabaseUnderTest) -> Iterator[RunningServer]:
    """Rate limits on, and X-Forwarded-For believed from loopback so tests choose addresses."""
    settings = {**ADMIN_SETTINGS, "rate_limits": "on", "trusted_proxies": "127.0.0.1/32"}
    with run_server(test_db, **settings) as running:
        yield running


@pytest.fixture(scope="module")
def module_clock(guarded_server: RunningServer) -> FakeClock:
    clock = FakeClock()
    site: AdminSite = guarded_server.app.state.admin
    site.throttle.clock = clock
    return clock


@pytest.fixture
def clock(module_clock: FakeClock) -> FakeClock:
    # A day later for each test: every counter an earlier test left is long forgotten.
    module_clock.advance(24 * 60 * 60)
    return module_clock


def browser_at(server: RunningServer, address: str) -> httpx.AsyncClient:
    return server.client(headers={"X-Forwarded-For": address})


@pytest.fixture
async def browser(admin_server: RunningServer) -> AsyncIterator[httpx.AsyncClient]:
    async with admin_server.client() as client:
        yield client


async def session_rows(client: httpx.AsyncClient) -> dict[str, str]:
    """Public id -> the row's HTML, from the Admin sessions page."""
    page = await client.get("/admin/sessions")
    assert page.status_code == 200, page.text
    return dict(_SESSION_ROW.findall(page.text))


async def test_sign_out_ends_a_copied_cookie_too(
    browser: httpx.AsyncClient, admin_server: RunningServer
) -> None:
    assert (await sign_in(browser)).status_code == 303
    async with admin_server.client() as thief:
        thief.cookies.set("sb_admin", browser.cookies["sb_admin"], path="/admin")
        assert (await thief.get("/admin")).status_code == 200

        dashboard = await browser.get("/admin")
        signed_out = await browser.post(
            "/admin/logout", data={"csrf_token": csrf_of(dashboard.text)}
        )
        assert signed_out.status_code == 303

        copy = await thief.get("/admin")
        assert copy.status_code == 303
        assert copy.headers["location"] == "/admin/login"


async def test_the_sessions_page_lists_and_revokes_sessions(
    browser: httpx.AsyncClient, admin_server: RunningServer
) -> None:
    await sign_in(browser)
    async with (
        admin_server.client(headers={"User-Agent": "The other laptop"}) as other,
        admin_server.client() as third,
    ):
        await sign_in(other)
        await sign_in(third)
        rows = await session_rows(browser)
        mine = [public_id for public_id, row in rows.items() if "this session" in row]
        assert len(mine) == 1
        other_id = next(public_id for public_id, row in rows.items() if "The other laptop" in row)
        assert "127.0.0.1" in rows[other_id]

        page = await browser.get("/admin/sessions")
        answer = await browser.post(
            f"/admin/sessions/{other_id}/revoke", data={"csrf_token": csrf_of(page.text)}
        )
        assert answer.status_code == 303
        assert (await other.get("/admin")).status_code == 303
        assert other_id not in await session_rows(browser)
        assert (await third.get("/admin")).status_code == 200

        page = await browser.get("/admin/sessions")
        everywhere = await browser.post(
            "/admin/sessions/others/revoke", data={"csrf_token": csrf_of(page.text)}
        )
        assert everywhere.status_code == 303
        assert (await third.get("/admin")).status_code == 303
        assert (await browser.get("/admin")).status_code == 200
        assert list(await session_rows(browser)) == mine


async def test_revoking_needs_the_session_csrf_token(
    browser: httpx.AsyncClient, admin_server: RunningServer
) -> None:
    async with admin_server.client() as other:
        await sign_in(browser)
        await sign_in(other)
        other_page = await other.get("/admin/sessions")
        other_id = next(
            public_id
            for public_id, row in _SESSION_ROW.findall(other_page.text)
            if "this session" in row
        )
        forged = await browser.post(
            f"/admin/sessions/{other_id}/revoke", data={"csrf_token": "x" * 43}
        )
        assert forged.status_code == 403
        assert (await other.get("/admin")).status_code == 200


async def test_an_expired_session_is_refused_whatever_its_cookie_says(
    browser: httpx.AsyncClient, owner_db: Database
) -> None:
    await sign_in(browser)
    rows = await session_rows(browser)
    mine = next(public_id for public_id, row in rows.items() if "this session" in row)
    async with owner_db.transaction(ADMIN) as session:
        await session.execute(
            update(AdminSessionRecord)
            .where(AdminSessionRecord.public_id == mine)
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    assert (await browser.get("/admin")).status_code == 303


async def test_a_locked_out_address_waits_twice_as_long_each_time(
    guarded_server: RunningServer, clock: FakeClock
) -> None:
    async with browser_at(guarded_server, "198.51.100.7") as client:
        answers = [await sign_in(client, password="guess") for _ in range(6)]
        assert [a.status_code for a in answers] == [401] * 5 + [429]
        waits = [int(answers[-1].headers["retry-after"])]
        for _ in range(3):
            clock.advance(waits[-1])
            assert (await sign_in(client, password="guess")).status_code == 401
            locked = await sign_in(client, password="guess")
            assert locked.status_code == 429
            waits.append(int(locked.headers["retry-after"]))
        # Locked out, even the right password gets the same answer: nothing about it leaks.
        right = await sign_in(client)
    assert waits == [1, 2, 4, 8]
    assert right.status_code == 429
    assert right.headers["retry-after"] == "8"
    assert "Too many sign-in attempts. Please try again after" in right.text
    assert "That password is not right." not in right.text


async def test_a_success_forgets_the_address_count(
    guarded_server: RunningServer, clock: FakeClock
) -> None:
    async with browser_at(guarded_server, "198.51.100.8") as client:
        for _ in range(4):
            assert (await sign_in(client, password="guess")).status_code == 401
        assert (await sign_in(client)).status_code == 303
        client.cookies.clear()
        answers = [await sign_in(client, password="guess") for _ in range(5)]
    assert [a.status_code for a in answers] == [401] * 5


async def test_a_flood_from_one_address_does_not_lock_the_coach_out(
    guarded_server: RunningServer, clock: FakeClock
) -> None:
    async with (
        browser_at(guarded_server, "192.0.2.10") as coach,
        browser_at(guarded_server, "203.0.113.66") as attacker,
        browser_at(guarded_server, "2001:db8:5::1") as stranger,
    ):
        # The coach signed in from this browser before: it holds a known-device cookie.
        assert (await sign_in(coach)).status_code == 303
        assert "sb_admin_device" in coach.cookies
        # The attacker waits out every lock, so each of these guesses counts on the account.
        counted = 0
        while counted < 20:
            answer = await sign_in(attacker, password="guess")
            if answer.status_code == 429:
                clock.advance(int(answer.headers["retry-after"]))
            else:
                assert answer.status_code == 401
                counted += 1

        # The account is locked for browsers it does not know, from any address ...
        from_elsewhere = await sign_in(stranger)
        assert from_elsewhere.status_code == 429
        # ... but the coach's own browser, from its own address, still gets in.
        coach.cookies.delete("sb_admin")
        assert (await sign_in(coach)).status_code == 303
        assert (await coach.get("/admin")).status_code == 200


async def test_a_forged_known_device_cookie_does_not_skip_the_account_limit(
    guarded_server: RunningServer, clock: FakeClock
) -> None:
    async with (
        browser_at(guarded_server, "203.0.113.90") as attacker,
        browser_at(guarded_server, "203.0.113.91") as second,
    ):
        counted = 0
        while counted < 20:
            answer = await sign_in(attacker, password="guess")
            if answer.status_code == 429:
                clock.advance(int(answer.headers["retry-after"]))
            else:
                counted += 1
        # Well-formed, for the right account, but not signed with this server's secret.
        forged = DeviceSigner("another server's secret, long enough").dumps(ADMIN_ACCOUNT)
        second.cookies.set("sb_admin_device", forged, path="/admin")
        answer = await sign_in(second, password=ADMIN_PASSWORD)
    assert answer.status_code == 429


async def sessionbook(test_db: DatabaseUnderTest, *args: str) -> Result:
    """The CLI against the test database, as the application's login would run it."""
    env = {"DATABASE_URL": test_db.app_url, "COACH_TIMEZONE": "Europe/London", "LOG_LEVEL": "error"}
    # In a worker thread: the command runs its own event loop, as it does from a shell.
    return await asyncio.to_thread(CliRunner().invoke, app, list(args), env=env)


async def test_the_cli_lists_and_revokes_admin_sessions(
    browser: httpx.AsyncClient, test_db: DatabaseUnderTest
) -> None:
    await sign_in(browser)
    mine = next(
        public_id
        for public_id, row in (await session_rows(browser)).items()
        if "this session" in row
    )

    listed = await sessionbook(test_db, "admin", "sessions", "--json")
    assert listed.exit_code == 0, listed.output
    assert mine in {row["id"] for row in json.loads(listed.stdout)}
    revoked = await sessionbook(test_db, "admin", "sessions", "--revoke", mine)
    again = await sessionbook(test_db, "admin", "sessions", "--revoke", mine)

    assert revoked.exit_code == 0, revoked.output
    assert (await browser.get("/admin")).status_code == 303
    assert again.exit_code == 1
    assert "no live admin session" in again.output
