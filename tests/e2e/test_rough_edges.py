"""Rough edges found in a walkthrough, pinned in a real browser."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.conftest import RunningServer
from tests.e2e.conftest import DESKTOP, shot
from tests.e2e.flows import choose_day_ahead, choose_package, give_details, wait_for_slots

pytestmark = pytest.mark.e2e


def test_one_click_on_continue_counts_when_a_field_message_appears(
    page: Page, site: RunningServer
) -> None:
    choose_package(page, site.url, "Single session")
    give_details(page, email="ada@example")  # no top-level domain: the email rule refuses it
    button = page.get_by_role("button", name="Continue to payment")

    # The click blurs the email field; its message must not move the button out from under
    # the pointer and swallow the click, which the form's own check then answers.
    button.click()

    expect(page.get_by_test_id("error-email")).to_be_visible()
    expect(page.get_by_label("Email")).to_be_focused()
    page.get_by_label("Email").fill("ada@example.com")
    button.click()
    expect(page).to_have_url(re.compile(r"/sandbox/airwallex/pay/"))


def test_please_choose_a_time_goes_away_once_a_time_is_picked(
    page: Page, site: RunningServer
) -> None:
    choose_package(page, site.url, "Discovery call")
    give_details(page)
    page.get_by_role("button", name="Book the free call").click()
    slots = wait_for_slots(page)

    page.get_by_role("button", name="Confirm this time").click()
    message = page.get_by_test_id("picker-message")
    expect(message).to_have_text("Please choose a time first.")
    slots.first.click()

    expect(message).to_be_hidden()
    shot(page, "edges-time-picked")


def book_a_free_call_beyond_the_cutoff(page: Page, site: RunningServer) -> str:
    """A booked discovery call far enough ahead to move; the time as the picker labelled it."""
    choose_package(page, site.url, "Discovery call")
    give_details(page, "Grace Hopper", "grace@example.com")
    page.get_by_role("button", name="Book the free call").click()
    slot = choose_day_ahead(page, 7).first
    label = slot.inner_text()
    slot.click()
    page.get_by_role("button", name="Confirm this time").click()
    expect(page.get_by_role("heading", name="You're booked")).to_be_visible(timeout=15_000)
    return label


def test_moving_marks_the_current_time_and_then_says_it_moved(
    page: Page, site: RunningServer
) -> None:
    booked = book_a_free_call_beyond_the_cutoff(page, site)
    expect(page.get_by_test_id("moved-notice")).to_be_hidden()

    page.get_by_test_id("change-time").click()
    panel = page.locator("#reschedule-panel")
    # The Move panel opens on the session's own day, its present time marked among the free ones.
    current = panel.locator(".slot.current")
    expect(current).to_have_count(1)
    expect(current).to_contain_text(booked)
    expect(current).to_contain_text("current")
    expect(current.locator("input")).to_be_disabled()
    shot(page, "edges-reschedule-current")
    panel.locator(".slot:not(.current)").last.click()
    panel.get_by_role("button", name="Move my session to this time").click()

    notice = page.get_by_test_id("moved-notice")
    expect(notice).to_be_visible(timeout=15_000)
    expect(notice).to_contain_text("Your session has been moved")
    shot(page, "edges-moved")
    page.reload()
    expect(page.get_by_test_id("moved-notice")).to_be_hidden()  # said once, not on every visit


def line_counts(page: Page, selector: str) -> list[int]:
    """How many lines of text each matching element wraps onto, measured in the browser."""
    counts: list[int] = page.eval_on_selector_all(
        selector,
        """elements => elements.map(element => {
             const range = document.createRange();
             range.selectNodeContents(element);
             return new Set(Array.from(range.getClientRects()).map(r => Math.round(r.top))).size;
           })""",
    )
    return counts


def test_reschedule_times_stay_on_one_line_at_desktop_width(
    browser: Browser, site: RunningServer
) -> None:
    context = browser.new_context(viewport=DESKTOP, timezone_id="America/New_York", locale="en-US")
    try:
        page = context.new_page()
        book_a_free_call_beyond_the_cutoff(page, site)
        page.get_by_test_id("change-time").click()
        panel = page.locator("#reschedule-panel")
        wait_for_slots(page, panel)
        shot(page, "edges-reschedule-desktop-en-us")

        counts = line_counts(page, "#reschedule-panel .slot span.slot-time")
        assert counts
        assert any(text.endswith("AM") for text in panel.locator(".slot").all_inner_texts())
        assert set(counts) == {1}
    finally:
        context.close()
