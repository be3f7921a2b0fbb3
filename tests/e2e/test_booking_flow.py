"""The whole booking in a browser: free, paid, declined then paid, on a phone, by keyboard."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.conftest import RunningServer
from tests.e2e.conftest import PHONE, shot
from tests.e2e.flows import (
    PAY_PAGE,
    assert_token_hidden,
    choose_day_ahead,
    choose_package,
    confirm_slot,
    expect_booked,
    give_details,
    pay_behind_the_page,
    same_instant,
    wait_for_slots,
)

pytestmark = pytest.mark.e2e


def booking_cookie(context: BrowserContext) -> dict[str, object]:
    cookies = [c for c in context.cookies() if c["name"] == "sb_booking"]
    assert len(cookies) == 1
    return dict(cookies[0])


def test_free_call_from_choice_to_calendar_file(
    page: Page, context: BrowserContext, site: RunningServer
) -> None:
    choose_package(page, site.url, "Discovery call")
    expect(page.get_by_test_id("sandbox-banner")).to_be_visible()
    give_details(page)
    page.get_by_role("button", name="Book the free call").click()

    expect(page).to_have_url(site.url + "/book")
    expect(page.get_by_role("heading", name="Choose a time")).to_be_visible()
    expect(page.get_by_test_id("timezone")).to_have_value("Europe/Berlin")  # from Intl
    shot(page, "desktop-free-slots")
    start = confirm_slot(page, wait_for_slots(page).first)

    expect_booked(page)
    assert same_instant(
        page.get_by_test_id("confirmed-time").get_attribute("data-start") or "", start
    )
    expect(page.get_by_text("(Europe/Berlin)")).to_be_visible()
    shot(page, "desktop-free-confirmed")
    cookie = booking_cookie(context)
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Lax"
    assert_token_hidden(page, str(cookie["value"]))
    with page.expect_download() as download_info:
        page.get_by_test_id("ics-link").click()
    download = download_info.value
    assert download.suggested_filename == "session.ics"
    ics = download.path().read_bytes()
    assert ics.startswith(b"BEGIN:VCALENDAR\r\n")
    assert b"BEGIN:VEVENT\r\n" in ics
    assert re.search(rb"\r\nDTSTART:\d{8}T\d{6}Z\r\n", ics)
    assert re.search(rb"\r\nDTEND:\d{8}T\d{6}Z\r\n", ics)
    assert b"\r\nSUMMARY:Discovery call\r\n" in ics
    assert all(len(line) <= 75 for line in ics.split(b"\r\n"))


def test_paid_session_through_the_sandbox_pay_page(
    page: Page, context: BrowserContext, site: RunningServer
) -> None:
    choose_package(page, site.url, "Single session")
    expect(page.get_by_test_id("summary-price")).to_have_text("$150.00")
    give_details(page)
    page.get_by_role("button", name="Continue to payment").click()

    expect(page).to_have_url(PAY_PAGE)
    token = str(booking_cookie(context)["value"])
    assert token not in page.url
    shot(page, "desktop-paid-pay-page")
    page.get_by_role("button", name=re.compile(r"^Pay ")).click()

    expect(page).to_have_url(site.url + "/book")
    expect(page.get_by_role("heading", name="Choose a time")).to_be_visible(timeout=15_000)
    expect(page.get_by_test_id("schedule-intro")).to_contain_text("Payment received")
    confirm_slot(page, wait_for_slots(page).nth(1))
    expect_booked(page)
    assert_token_hidden(page, token)
    shot(page, "desktop-paid-confirmed")


def test_declined_payment_then_paying_again_moves_on_by_itself(
    page: Page, site: RunningServer, control: httpx.Client
) -> None:
    choose_package(page, site.url, "Monthly package")
    give_details(page, "Grace Hopper", "grace@example.com")
    page.get_by_role("button", name="Continue to payment").click()
    expect(page).to_have_url(PAY_PAGE)
    payment_url = page.url
    page.get_by_role("button", name="Decline").click()
    expect(page.get_by_text("The card was declined")).to_be_visible()

    page.goto(site.url + "/book")
    expect(page.get_by_role("heading", name="Your payment didn't go through")).to_be_visible(
        timeout=15_000
    )
    pay_again = page.get_by_test_id("pay-again")
    expect(pay_again).to_have_attribute("href", payment_url)
    expect(pay_again).to_have_attribute("rel", "noreferrer")
    shot(page, "desktop-payment-failed")

    # Paid in another tab: this page notices on its own, without a click or a reload.
    pay_behind_the_page(control, payment_url)
    # A monthly package has four sessions: the page offers the first of them.
    expect(page.get_by_role("heading", name="Book your sessions")).to_be_visible(timeout=15_000)
    confirm_slot(page, wait_for_slots(page).first)
    expect(page.get_by_test_id("sessions-summary")).to_contain_text("1 of 4 sessions booked")
    expect(page.get_by_test_id("session-meeting-link")).to_have_attribute(
        "href", re.compile(r"/sandbox/cal/video/")
    )


def test_phone_sized_paid_booking(browser: Browser, site: RunningServer) -> None:
    context = browser.new_context(viewport=PHONE, timezone_id="America/New_York", locale="en-US")
    page = context.new_page()
    try:
        choose_package(page, site.url, "Quarterly package")
        shot(page, "phone-details")
        give_details(page)
        page.get_by_role("button", name="Continue to payment").click()
        expect(page).to_have_url(PAY_PAGE)
        page.get_by_role("button", name=re.compile(r"^Pay ")).click()
        # A quarterly package has twelve sessions, booked one at a time.
        expect(page.get_by_role("heading", name="Book your sessions")).to_be_visible(timeout=15_000)
        expect(page.get_by_test_id("timezone")).to_have_value("America/New_York")
        slots = wait_for_slots(page)
        assert_fits_width(page)
        shot(page, "phone-slots")
        confirm_slot(page, slots.first)
        expect(page.get_by_test_id("sessions-summary")).to_contain_text("1 of 12 sessions booked")
        session = page.get_by_test_id("session")
        expect(session.locator("[data-local-time]")).to_contain_text(re.compile(r"[AP]M"))
        assert_fits_width(page)
        shot(page, "phone-confirmed")
    finally:
        context.close()


def assert_fits_width(page: Page) -> None:
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"page is {overflow}px wider than the phone"


def test_keyboard_only_booking(page: Page, site: RunningServer) -> None:
    page.goto(site.url + "/")
    tab_until(page, "input[name=package]")
    page.keyboard.press("ArrowDown")  # Discovery -> Single session
    page.keyboard.press("ArrowUp")  # and back: arrows move within the radio group
    assert page.evaluate("() => document.activeElement.value") == "discovery"
    assert_focus_visible(page, "outline of the checked package", "+ label")
    page.keyboard.press("Enter")  # submits the form around the radio group

    expect(page.get_by_role("heading", name="Your details")).to_be_visible()
    tab_until(page, "#field-name")
    page.keyboard.type("Alan Turing")
    page.keyboard.press("Tab")
    page.keyboard.type("alan@example.com")
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", name="Choose a time")).to_be_visible()
    wait_for_slots(page)
    # The month grid holds one tab stop (the chosen day); arrows move, Enter picks.
    tab_until(page, 'button.day[tabindex="0"]')
    assert_focus_visible(page, "outline of the focused day", "")
    start_day = page.evaluate("() => document.activeElement.dataset.day")
    page.keyboard.press("ArrowRight")  # on the last day of a month this pages on, too
    expect(page.locator("button.day:focus")).not_to_have_attribute("data-day", start_day)
    page.keyboard.press("Enter")
    picked_day = page.evaluate("() => document.activeElement.dataset.day")
    expect(page.locator('[aria-selected="true"] > .day')).to_have_attribute("data-day", picked_day)
    tab_until(page, "input[name=slot]")
    page.keyboard.press("Space")
    page.keyboard.press("ArrowRight")
    assert page.evaluate("() => document.activeElement.checked") is True
    assert_focus_visible(page, "outline of the focused slot", "+ span")
    chosen = page.evaluate("() => document.activeElement.value")
    assert chosen.startswith(picked_day) or picked_day
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.dataset.testid") == "confirm-slot"
    assert_focus_visible(page, "outline of the confirm button", "")
    page.keyboard.press("Enter")

    expect_booked(page)
    assert chosen
    shot(page, "desktop-keyboard-confirmed")


def tab_until(page: Page, selector: str, limit: int = 40) -> None:
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"Tab never reached {selector}")


def assert_focus_visible(page: Page, what: str, sibling: str) -> None:
    style = page.evaluate(
        """(sibling) => {
            const target = sibling
                ? document.querySelector(`:focus-visible ${sibling}`)
                : document.querySelector(":focus-visible");
            const computed = getComputedStyle(target);
            return [computed.outlineStyle, computed.outlineWidth];
        }""",
        sibling,
    )
    assert style[0] != "none", f"no {what}"
    assert style[1] != "0px", f"no {what}"


def test_move_then_cancel_a_booked_session(page: Page, site: RunningServer) -> None:
    choose_package(page, site.url, "Discovery call")
    give_details(page, "Barbara Liskov", "barbara@example.com")
    page.get_by_role("button", name="Book the free call").click()
    expect(page.get_by_role("heading", name="Choose a time")).to_be_visible()
    confirm_slot(page, choose_day_ahead(page, 7).first)  # well beyond the change cutoff
    expect_booked(page)
    booked_at = page.get_by_test_id("confirmed-time").inner_text()

    page.get_by_test_id("change-time").click()
    panel = page.locator("#reschedule-panel")
    expect(panel.get_by_role("heading", name="Pick a new time")).to_be_focused()
    later = choose_day_ahead(page, 20, panel)
    later.nth(later.count() - 1).click()
    shot(page, "desktop-reschedule")
    panel.get_by_role("button", name="Move my session to this time").click()
    expect(page.get_by_role("heading", name="You're booked")).to_be_visible()
    expect(page.get_by_test_id("confirmed-time")).not_to_have_text(booked_at)

    page.get_by_test_id("cancel-booking").click()
    expect(page.locator("#reschedule-panel")).to_be_hidden()
    page.get_by_test_id("cancel-confirm").click()
    expect(page.get_by_role("heading", name="This booking is cancelled")).to_be_visible()
    shot(page, "desktop-cancelled")
