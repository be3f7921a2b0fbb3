"""Fixtures for the browser tests: Chromium, a sandbox server on SQLite, fresh pages.

Chromium is Debian's (/usr/bin/chromium). Without it these tests skip on a workstation and
fail in CI (CI=true or REQUIRE_BROWSER=1), so a missing browser never passes unnoticed.

Playwright's synchronous API keeps an event loop running in the main thread while it is open,
so nothing here uses pytest-asyncio's loop: database work runs on a short loop in a worker
thread, and the browser is opened per module, closing before any async test of another
directory runs.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    Playwright,
    ViewportSize,
    sync_playwright,
)

from tests.conftest import DatabaseUnderTest, RunningServer, run_server
from tests.support.databases import new_sqlite_database

T = TypeVar("T")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DESKTOP: ViewportSize = {"width": 1280, "height": 900}
PHONE: ViewportSize = {"width": 375, "height": 740}
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "e2e"


def _browser_required() -> bool:
    return (
        os.environ.get("CI", "").lower() in ("true", "1")
        or os.environ.get("REQUIRE_BROWSER") == "1"
    )


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run async work (database, migrations) to completion from a synchronous browser test."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


@pytest.fixture(scope="session")
def test_db(tmp_path_factory: pytest.TempPathFactory) -> DatabaseUnderTest:
    """SQLite only: the pages are the same on PostgreSQL, and the suite must stay quick."""
    url = run(new_sqlite_database(tmp_path_factory.mktemp("e2e")))
    return DatabaseUnderTest("sqlite", url, url)


@pytest.fixture(scope="module")
def playwright_driver() -> Iterator[Playwright]:
    if not Path(CHROMIUM).exists():
        message = f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
        if _browser_required():
            pytest.fail(message)
        pytest.skip(message)
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright_driver: Playwright) -> Iterator[Browser]:
    launched = playwright_driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield launched
    launched.close()


@pytest.fixture(scope="module")
def site(test_db: DatabaseUnderTest) -> Iterator[RunningServer]:
    with run_server(test_db) as running:
        yield running


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    opened = browser.new_context(viewport=DESKTOP, timezone_id="Europe/Berlin", locale="en-GB")
    yield opened
    opened.close()


@pytest.fixture
def page(context: BrowserContext) -> Iterator[Page]:
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    yield opened
    assert not errors, f"script errors on the page: {errors}"


@pytest.fixture
def control(site: RunningServer) -> Iterator[httpx.Client]:
    """A plain HTTP client for what happens behind the page's back (API, sandbox hooks)."""
    with httpx.Client(base_url=site.url, timeout=30) as client:
        yield client


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
