"""Steps a customer takes in the browser, shared by the scenarios."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import httpx
from playwright.sync_api import Locator, Page, expect

PICKER = ".slot-picker:visible"
SLOT = ".slot-picker:visible .slot:not(.current)"
PAY_PAGE = re.compile(r"/sandbox/airwallex/pay/[^/?]+")


def choose_package(page: Page, base_url: str, title: str) -> None:
    page.goto(base_url + "/")
    page.get_by_label(title).check()
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="Your details")).to_be_visible()


def give_details(page: Page, name: str = "Ada Lovelace", email: str = "ada@example.com") -> None:
    page.get_by_label("Full name").fill(name)
    page.get_by_label("Email").fill(email)


def wait_for_calendar(page: Page, scope: Locator | None = None) -> Locator:
    """The visible picker (in `scope`) once its script has drawn the month and its times."""
    picker = (scope or page.locator("body")).locator(PICKER)
    expect(picker.locator("button.day").first).to_be_attached()
    expect(picker.locator("[data-slot-form]")).to_have_attribute("aria-busy", "false")
    return picker


def wait_for_slots(page: Page, scope: Locator | None = None) -> Locator:
    """The chosen day's free times (the picker chooses the month's first day with times)."""
    picker = wait_for_calendar(page, scope)
    for _ in range(3):
        slots = picker.locator(".slot:not(.current)")
        if slots.count():
            return slots
        picker.get_by_test_id("month-next").click()
        expect(picker.locator("[data-slot-form]")).to_have_attribute("aria-busy", "false")
    raise AssertionError("no free slots in three months")


def choose_day_ahead(page: Page, days: int, scope: Locator | None = None) -> Locator:
    """Pick the first day with free times at least `days` days from today; its free times."""
    picker = wait_for_calendar(page, scope)
    earliest = (datetime.now(UTC) + timedelta(days=days)).date()
    for _ in range(4):
        for button in picker.locator("button.day.open").all():
            if date.fromisoformat(button.get_attribute("data-day") or "") >= earliest:
                button.click()
                expect(picker.locator('[aria-selected="true"] > .day')).to_have_attribute(
                    "data-day", button.get_attribute("data-day") or ""
                )
                return picker.locator(".slot:not(.current)")
        picker.get_by_test_id("month-next").click()
        wait_for_calendar(page, scope)
    raise AssertionError(f"no free day {days} days ahead")


def confirm_slot(page: Page, slot: Locator) -> str:
    """Pick `slot` and confirm it in its own picker; the chosen start (ISO 8601, UTC)."""
    start = slot.locator("input").get_attribute("data-start") or ""
    slot.click()
    picker = slot.locator("xpath=ancestor::section[@data-slot-picker]")
    picker.get_by_test_id("confirm-slot").click()
    return start


def same_instant(first: str, second: str) -> bool:
    return datetime.fromisoformat(first) == datetime.fromisoformat(second)


def expect_booked(page: Page) -> None:
    expect(page.get_by_role("heading", name="You're booked")).to_be_visible(timeout=15_000)
    expect(page.get_by_test_id("meeting-link")).to_have_attribute(
        "href", re.compile(r"/sandbox/cal/video/")
    )


def link_id_of(payment_url: str) -> str:
    return payment_url.rstrip("/").rsplit("/", 1)[-1].split("?", 1)[0]


def pay_behind_the_page(control: httpx.Client, payment_url: str, *, succeed: bool = True) -> None:
    """Pay (or fail) a link through the stand-in's hook, as if in another tab."""
    response = control.post(
        f"/sandbox/airwallex/_sandbox/pay/{link_id_of(payment_url)}",
        json={"outcome": "succeeded" if succeed else "failed"},
    )
    assert response.status_code == 200, response.text


def assert_token_hidden(page: Page, token: str) -> None:
    """The token is in no page, no URL and no script-readable place."""
    assert token not in page.content()
    assert token not in page.url
    script_view = page.evaluate(
        "() => document.cookie + JSON.stringify(localStorage) + JSON.stringify(sessionStorage)"
    )
    assert token not in script_view
