"""A monthly package in a browser: pay once, book sessions one after another, move and cancel."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import RunningServer
from tests.e2e.conftest import shot
from tests.e2e.flows import (
    PAY_PAGE,
    choose_day_ahead,
    choose_package,
    confirm_slot,
    give_details,
    wait_for_slots,
)

pytestmark = pytest.mark.e2e


def book_next(page: Page, booked_before: int) -> None:
    """Book the next session a week ahead (beyond the change cutoff); the page reloads."""
    confirm_slot(page, choose_day_ahead(page, 7 * (booked_before + 1)).first)
    expect(page.get_by_test_id("sessions-summary")).to_contain_text(
        f"{booked_before + 1} of 4 sessions booked", timeout=15_000
    )


def test_monthly_package_books_three_sessions_moves_one_and_cancels_one(
    page: Page, site: RunningServer
) -> None:
    choose_package(page, site.url, "Monthly package")
    give_details(page, "Katherine Johnson", "katherine@example.com")
    page.get_by_role("button", name="Continue to payment").click()
    expect(page).to_have_url(PAY_PAGE)
    page.get_by_role("button", name=re.compile(r"^Pay ")).click()

    expect(page.get_by_role("heading", name="Book your sessions")).to_be_visible(timeout=15_000)
    summary = page.get_by_test_id("sessions-summary")
    expect(summary).to_have_text(
        re.compile(r"0 of 4 sessions booked · book the rest by \d{1,2} \w+ \d{4}")
    )
    for booked_before in range(3):
        book_next(page, booked_before)
        sessions = page.get_by_test_id("session")
        expect(sessions).to_have_count(booked_before + 1)
        expect(page.get_by_test_id("next-session-heading")).to_have_text(
            f"Choose a time for session {booked_before + 2} of 4"
        )
    expect(page.get_by_role("heading", name="Book your next session")).to_be_visible()
    expect(page.get_by_test_id("session-meeting-link")).to_have_count(3)
    shot(page, "desktop-sessions-three-booked")

    # Move the first session: the shared panel names it and the request carries its id.
    first = page.get_by_test_id("session").first
    first_id = first.get_attribute("data-session-id")
    first_time = first.locator(".session-when").inner_text()
    first.get_by_test_id("move-session").click()
    panel = page.locator("#reschedule-panel")
    expect(panel.get_by_role("heading", name=re.compile("Move your session of"))).to_be_focused()
    expect(panel.locator(".slot.current")).to_have_count(1)
    later = choose_day_ahead(page, 25, panel)
    expect(later.first).to_be_visible()
    later.nth(later.count() - 1).click()
    shot(page, "desktop-sessions-move-panel")
    panel.get_by_role("button", name="Move my session to this time").click()
    moved = page.locator(f'[data-session-id="{first_id}"][data-testid="session"]')
    expect(moved.locator(".session-when")).not_to_have_text(first_time, timeout=15_000)
    expect(summary).to_contain_text("3 of 4 sessions booked")

    # Cancel the (now) second session: its credit comes back, nothing else changes.
    second = page.get_by_test_id("session").nth(1)
    cancelled_id = second.get_attribute("data-session-id")
    second.get_by_test_id("cancel-session").click()
    cancel_panel = page.locator("#cancel-panel")
    expect(
        cancel_panel.get_by_role("heading", name=re.compile("Cancel your session"))
    ).to_be_focused()
    expect(cancel_panel).to_contain_text("It goes back into your package")
    shot(page, "desktop-sessions-cancel-panel")
    page.get_by_test_id("cancel-confirm").click()

    expect(summary).to_contain_text("2 of 4 sessions booked", timeout=15_000)
    expect(page.get_by_test_id("session")).to_have_count(2)
    expect(page.locator(f'[data-session-id="{cancelled_id}"]')).to_have_count(0)
    expect(page.get_by_test_id("next-session-heading")).to_have_text(
        "Choose a time for session 3 of 4"
    )
    wait_for_slots(page)
    shot(page, "desktop-sessions-credit-back")

    with page.expect_download() as download_info:
        page.get_by_test_id("ics-link").click()
    ics = download_info.value.path().read_bytes()
    assert ics.count(b"BEGIN:VEVENT\r\n") == 2
