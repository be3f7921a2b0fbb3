"""The insights page in a browser, at phone and desktop widths: screenshots to look at."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect

from sessionbook.core.db import Database
from tests.conftest import DatabaseUnderTest, RunningServer, run_server
from tests.e2e.conftest import ARTIFACTS, DESKTOP, PHONE, run, shot
from tests.operations import insights_data as known
from tests.operations.support import ADMIN_PASSWORD, ADMIN_SETTINGS
from tests.support.databases import new_sqlite_database

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def insights_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A database of its own holding the known bookings, and an admin-enabled server."""
    url = run(new_sqlite_database(tmp_path_factory.mktemp("insights")))
    database = DatabaseUnderTest("sqlite", url, url)
    with run_server(database, coach_timezone=known.ZONE, **ADMIN_SETTINGS) as running:

        async def seed() -> None:
            owner = Database(url)
            try:
                await known.seed_known_bookings(owner)
            finally:
                await owner.dispose()

        run(seed())
        yield running


def open_insights(browser: Browser, site: RunningServer, viewport: ViewportSize) -> Page:
    context = browser.new_context(viewport=viewport, locale="en-GB")
    page = context.new_page()
    page.goto(f"{site.url}/admin/login")
    page.get_by_label("Admin password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{site.url}/admin")
    page.goto(f"{site.url}/admin/insights?from={known.FIRST_DAY}&to={known.LAST_DAY}")
    expect(page.get_by_role("heading", name="Insights", exact=True)).to_be_visible()
    return page


@pytest.mark.parametrize(("viewport", "name"), [(PHONE, "phone"), (DESKTOP, "desktop")])
def test_insights_page_reads_at_phone_and_desktop_widths(
    browser: Browser, insights_site: RunningServer, viewport: ViewportSize, name: str
) -> None:
    page = open_insights(browser, insights_site, viewport)
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text))
    page.reload()

    charts = page.get_by_role("img", name="Bookings per week")
    expect(charts).to_be_visible()
    expect(page.get_by_role("img")).to_have_count(5)
    # The page itself never scrolls sideways; a wide chart or table scrolls inside its box.
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    box = charts.bounding_box()
    assert box is not None
    assert box["width"] >= min(viewport["width"] - 80, 500)
    expect(page.locator("#weekly-bookings tbody tr")).to_have_count(3)
    assert not [error for error in errors if "Content Security Policy" in error]
    shot(page, f"{name}-admin-insights")
    # Up close, the way it reads on the device: the chart with its labels.
    page.locator("#weekly-revenue figure").screenshot(
        path=str(ARTIFACTS / f"{name}-admin-insights-revenue-chart.png")
    )
    page.context.close()
