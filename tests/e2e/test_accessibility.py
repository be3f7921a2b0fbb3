"""axe-core on every page a customer can meet, on a phone and a desktop, in both languages."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect

from sessionbook.core.db import Database
from tests.conftest import RunningServer
from tests.e2e.accessibility import assert_no_serious_violations, serious_violations
from tests.e2e.conftest import DESKTOP, PHONE, run, shot
from tests.e2e.flows import choose_day_ahead, confirm_slot, expect_booked, pay_behind_the_page
from tests.support.queries import set_booking

pytestmark = pytest.mark.e2e

CUSTOMER = {"customerName": "Grace Hopper", "customerEmail": "grace@example.com"}
SCREENS = [("phone", PHONE), ("desktop", DESKTOP)]
LANGUAGES = [("en", "en-GB"), ("fr", "fr-FR")]


def create(control: httpx.Client, package_id: str) -> dict[str, Any]:
    response = control.post(
        "/functions/v1/booking-create", json={"packageId": package_id, **CUSTOMER}
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def _expire(database_url: str, booking_id: str) -> None:
    database = Database(database_url)
    try:
        await set_booking(database, booking_id, expires_at=datetime.now(UTC) - timedelta(minutes=1))
    finally:
        await database.dispose()


@pytest.fixture(params=SCREENS, ids=[name for name, _ in SCREENS])
def screen(request: pytest.FixtureRequest) -> tuple[str, ViewportSize]:
    chosen: tuple[str, ViewportSize] = request.param
    return chosen


@pytest.fixture(params=LANGUAGES, ids=[code for code, _ in LANGUAGES])
def language(request: pytest.FixtureRequest) -> str:
    chosen: str = request.param[1]
    return chosen


@pytest.fixture
def customer_page(
    browser: Browser, screen: tuple[str, ViewportSize], language: str
) -> Iterator[Page]:
    context = browser.new_context(viewport=screen[1], locale=language, timezone_id="Europe/Paris")
    yield context.new_page()
    context.close()


def check(page: Page, name: str, screen: tuple[str, ViewportSize], language: str) -> None:
    assert_no_serious_violations(page, f"{name} ({screen[0]}, {language})")
    shot(page, f"axe-{name}-{screen[0]}-{language[:2]}")


def test_choosing_giving_details_and_the_error_pages(
    customer_page: Page,
    site: RunningServer,
    screen: tuple[str, ViewportSize],
    language: str,
) -> None:
    page = customer_page
    page.goto(site.url + "/")
    check(page, "home", screen, language)
    page.locator("#package-single").check()
    page.locator(".package-form button[type=submit]").click()
    expect(page.locator("input[name=email]")).to_be_visible()
    check(page, "details", screen, language)
    # The form's own messages, as a customer who submits it empty meets them.
    page.locator("form button[type=submit]").last.click()
    expect(page.locator("[data-testid^=error-]").first).to_be_visible()
    check(page, "details-errors", screen, language)

    page.goto(site.url + "/no-such-page")
    check(page, "not-found", screen, language)
    page.goto(site.url + "/book?token=this-is-not-a-real-booking-link")
    check(page, "unknown-link", screen, language)


@pytest.mark.parametrize("outcome", ["waiting", "payment-failed", "expired"])
def test_the_states_of_a_paid_booking(
    customer_page: Page,
    site: RunningServer,
    control: httpx.Client,
    screen: tuple[str, ViewportSize],
    language: str,
    outcome: str,
) -> None:
    created = create(control, "single")
    prepare: dict[str, Callable[[], None]] = {
        "waiting": lambda: None,
        "payment-failed": lambda: pay_behind_the_page(
            control, created["paymentUrl"], succeed=False
        ),
        "expired": lambda: run(_expire(site.settings.database_url, created["bookingId"])),
    }
    prepare[outcome]()
    page = customer_page
    page.goto(f"{site.url}/book?token={created['bookingToken']}")
    expect(page.locator("main h1")).to_be_visible()
    check(page, outcome, screen, language)


def test_choosing_a_time_booked_and_cancelled(
    customer_page: Page,
    site: RunningServer,
    control: httpx.Client,
    screen: tuple[str, ViewportSize],
    language: str,
) -> None:
    created = create(control, "monthly")
    pay_behind_the_page(control, created["paymentUrl"])
    page = customer_page
    page.goto(f"{site.url}/book?token={created['bookingToken']}")
    times = choose_day_ahead(page, 3)
    times.first.click()
    check(page, "calendar", screen, language)

    confirm_slot(page, times.first)
    expect(page.get_by_test_id("session").first).to_be_visible(timeout=15_000)
    check(page, "sessions", screen, language)

    token = created["bookingToken"]
    cancelled = control.post(
        "/functions/v1/booking-cancel", json={"bookingToken": token, "reason": "axe"}
    )
    assert cancelled.status_code == 200, cancelled.text
    page.reload()
    expect(page.get_by_test_id("session")).to_have_count(0)
    check(page, "cancelled", screen, language)


def test_the_confirmation_of_a_single_session(
    customer_page: Page,
    site: RunningServer,
    control: httpx.Client,
    screen: tuple[str, ViewportSize],
    language: str,
) -> None:
    created = create(control, "discovery")
    page = customer_page
    page.goto(f"{site.url}/book?token={created['bookingToken']}")
    confirm_slot(page, choose_day_ahead(page, 3).first)
    if language.startswith("en"):
        expect_booked(page)
    expect(page.get_by_test_id("meeting-link")).to_be_visible(timeout=15_000)
    check(page, "confirmed", screen, language)


def test_the_check_finds_a_serious_violation_when_there_is_one(
    page: Page, site: RunningServer
) -> None:
    """The check itself can fail: an image without any text alternative is a critical one."""
    page.goto(site.url + "/")
    assert not serious_violations(page)
    page.evaluate(
        "() => { const image = document.createElement('img');"
        " image.src = '/favicon.ico'; document.querySelector('main').append(image); }"
    )
    assert [found["id"] for found in serious_violations(page)] == ["image-alt"]
