"""The admin on a phone: wide tables scroll inside their box; the page never gets wider."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, Page

from tests.conftest import DatabaseUnderTest, RunningServer, run_server
from tests.e2e.conftest import PHONE, shot
from tests.operations.support import ADMIN_PASSWORD, ADMIN_SETTINGS, PAID

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def admin_site(test_db: DatabaseUnderTest) -> Iterator[RunningServer]:
    with run_server(test_db, **ADMIN_SETTINGS) as running:
        yield running


@pytest.fixture
def phone_page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport=PHONE, locale="en-GB")
    yield context.new_page()
    context.close()


def test_admin_tables_scroll_inside_their_box_on_a_phone(
    phone_page: Page, admin_site: RunningServer
) -> None:
    with httpx.Client(base_url=admin_site.url, timeout=30) as control:
        created = control.post("/functions/v1/booking-create", json=PAID).json()
    page = phone_page
    page.goto(admin_site.url + "/admin/login")
    page.get_by_label("Admin password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(admin_site.url + "/admin")

    for path, name in (
        ("/admin", "dashboard"),
        ("/admin/bookings?q=paula%40example.com", "bookings"),
        (f"/admin/bookings/{created['bookingId']}", "booking"),
        ("/admin/packages", "packages"),
        ("/admin/sessions", "sessions"),
    ):
        page.goto(admin_site.url + path)
        shot(page, f"edges-admin-phone-{name}")
        page_width = page.evaluate("() => document.documentElement.scrollWidth")
        assert page_width <= PHONE["width"], f"{path} is {page_width}px wide on a phone"
        tables = page.locator("table")
        for index in range(tables.count()):
            box = tables.nth(index).evaluate(
                "table => { const box = table.parentElement; "
                "return getComputedStyle(box).overflowX; }"
            )
            assert box == "auto", f"a table of {path} has no scrolling box"
        if name == "bookings":
            scrolls = page.evaluate(
                "() => Array.from(document.querySelectorAll('table')).some("
                "t => t.parentElement.scrollWidth > t.parentElement.clientWidth)"
            )
            assert scrolls  # the list really is wider than a phone, and scrolls in its box
