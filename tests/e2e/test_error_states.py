"""Every error a customer can meet, shown as a human message with a way forward."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, Route, expect

from sessionbook.core.db import Database
from tests.conftest import RunningServer
from tests.e2e.conftest import DESKTOP, run, shot
from tests.e2e.flows import (
    SLOT,
    confirm_slot,
    expect_booked,
    pay_behind_the_page,
    wait_for_slots,
)
from tests.support.queries import set_booking

pytestmark = pytest.mark.e2e

CUSTOMER = {"customerName": "Edsger Dijkstra", "customerEmail": "edsger@example.com"}


def create(control: httpx.Client, package_id: str) -> dict[str, Any]:
    response = control.post(
        "/functions/v1/booking-create", json={"packageId": package_id, **CUSTOMER}
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def open_link(page: Page, site: RunningServer, token: str) -> None:
    page.goto(f"{site.url}/book?token={token}")
    assert page.url == site.url + "/book"  # traded for the cookie, gone from the address bar


def test_slot_taken_between_listing_and_confirming(
    page: Page, site: RunningServer, control: httpx.Client
) -> None:
    mine = create(control, "discovery")
    open_link(page, site, mine["bookingToken"])
    first = wait_for_slots(page).first
    taken_start = first.locator("input").get_attribute("data-start")
    taken_end = first.locator("input").get_attribute("data-end")

    rival = create(control, "discovery")
    behind = control.post(
        "/functions/v1/booking-schedule",
        json={
            "bookingToken": rival["bookingToken"],
            "startTime": taken_start,
            "endTime": taken_end,
        },
    )
    assert behind.status_code == 200, behind.text
    confirm_slot(page, first)

    message = page.get_by_test_id("picker-message")
    expect(message).to_contain_text("that time was just taken")
    expect(message).to_have_attribute("role", "alert")
    expect(page.locator(f'{SLOT} input[data-start="{taken_start}"]')).to_have_count(0)
    shot(page, "desktop-slot-taken")
    confirm_slot(page, wait_for_slots(page).first)
    expect_booked(page)


def test_expired_link_offers_to_start_again(
    page: Page, site: RunningServer, control: httpx.Client
) -> None:
    created = create(control, "single")
    run(_expire(site.settings.database_url, created["bookingId"]))

    open_link(page, site, created["bookingToken"])

    expect(page.get_by_role("heading", name="This booking has expired")).to_be_visible()
    expect(page.get_by_test_id("expired-reason")).to_contain_text("Nothing was charged")
    shot(page, "desktop-expired")
    page.get_by_test_id("start-again").click()
    expect(page.get_by_role("heading", name="Your details")).to_be_visible()
    expect(page.get_by_test_id("summary-price")).to_have_text("$150.00")


async def _expire(database_url: str, booking_id: str) -> None:
    database = Database(database_url)
    try:
        past = datetime.now(UTC) - timedelta(minutes=1)
        await set_booking(database, booking_id, expires_at=past)
    finally:
        await database.dispose()


def test_unknown_or_mistyped_link(page: Page, site: RunningServer) -> None:
    page.goto(f"{site.url}/book?token=this-is-not-a-real-booking-link")

    expect(page.get_by_role("heading", name="We can't find this booking")).to_be_visible()
    expect(page.get_by_test_id("missing-reason")).to_contain_text("incomplete or mistyped")
    page.get_by_role("link", name="Start a new booking").click()
    expect(page.get_by_role("heading", name="Book a coaching session")).to_be_visible()


def test_calendar_down_then_try_again(
    browser: Browser, site: RunningServer, control: httpx.Client
) -> None:
    # A zone of its own, so no earlier test's cached slot answer hides the outage.
    context = browser.new_context(viewport=DESKTOP, timezone_id="Pacific/Auckland")
    page = context.new_page()
    fault = {"path_prefix": "/v2/slots", "status": 503, "count": 100}
    try:
        assert control.post("/sandbox/cal/_sandbox/faults", json=fault).status_code == 201
        open_link(page, site, create(control, "discovery")["bookingToken"])
        message = page.get_by_test_id("picker-message")
        expect(message).to_contain_text(
            "isn't answering right now. Nothing was lost", timeout=15_000
        )
        shot(page, "desktop-calendar-down")
        control.delete("/sandbox/cal/_sandbox/faults")
        message.get_by_role("button", name="Try again").click()
        expect(message).to_be_hidden()
        confirm_slot(page, wait_for_slots(page).first)
        expect_booked(page)
    finally:
        control.delete("/sandbox/cal/_sandbox/faults")
        context.close()


def test_network_error_on_confirm_then_retry(
    page: Page, site: RunningServer, control: httpx.Client
) -> None:
    open_link(page, site, create(control, "discovery")["bookingToken"])
    slot = wait_for_slots(page).first

    def offline(route: Route) -> None:
        route.abort("internetdisconnected")

    page.route("**/book/api/schedule", offline)
    confirm_slot(page, slot)
    message = page.get_by_test_id("picker-message")
    expect(message).to_contain_text("We can't reach the booking site")
    page.unroute("**/book/api/schedule", offline)
    message.get_by_role("button", name="Try again").click()
    expect_booked(page)


def test_waiting_page_stops_polling_and_offers_check_again(
    page: Page, site: RunningServer, control: httpx.Client
) -> None:
    created = create(control, "single")
    page.clock.install()
    open_link(page, site, created["bookingToken"])
    expect(page.get_by_role("heading", name="Waiting for your payment")).to_be_visible()
    expect(page.get_by_test_id("pay-link")).to_have_attribute("rel", "noreferrer")

    page.clock.fast_forward("03:30")  # past the polling window, without waiting for it
    check_again = page.get_by_role("button", name="Check again")
    expect(check_again).to_be_visible()
    shot(page, "desktop-check-again")

    pay_behind_the_page(control, created["paymentUrl"])
    _wait_until_paid(control, created["bookingToken"])
    check_again.click()
    expect(page.get_by_role("heading", name="Choose a time")).to_be_visible(timeout=15_000)


def _wait_until_paid(control: httpx.Client, token: str) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        status = control.get("/functions/v1/booking-status", headers={"X-Booking-Token": token})
        if status.json()["status"] == "paid":
            return
        time.sleep(0.2)
    raise AssertionError("the payment was never confirmed")
