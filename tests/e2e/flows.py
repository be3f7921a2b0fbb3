"""Steps a customer takes in the browser, shared by the scenarios."""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import Locator, Page, expect

SLOT = ".slot-picker:visible .slot"
PAY_PAGE = re.compile(r"/sandbox/airwallex/pay/[^/?]+")


def choose_package(page: Page, base_url: str, title: str) -> None:
    page.goto(base_url + "/")
    page.get_by_label(title).check()
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="Your details")).to_be_visible()


def give_details(page: Page, name: str = "Ada Lovelace", email: str = "ada@example.com") -> None:
    page.get_by_label("Full name").fill(name)
    page.get_by_label("Email").fill(email)


def wait_for_slots(page: Page) -> Locator:
    """The visible slot buttons, paging to a later week when this one has none left."""
    expect(page.locator("[data-slot-days]:visible")).to_have_attribute("aria-busy", "false")
    for _ in range(3):
        slots = page.locator(SLOT)
        if slots.count():
            return slots
        page.get_by_role("button", name="Later week").first.click()
        expect(page.locator("[data-slot-days]:visible")).to_have_attribute("aria-busy", "false")
    raise AssertionError("no free slots in three weeks")


def confirm_slot(page: Page, slot: Locator) -> str:
    """Pick `slot` and confirm it; the chosen time as the page labels it."""
    label = slot.inner_text()
    slot.click()
    page.get_by_role("button", name="Confirm this time").click()
    return label


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
