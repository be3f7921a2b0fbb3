"""Rough edges found in a walkthrough, pinned in a real browser."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import RunningServer
from tests.e2e.conftest import shot
from tests.e2e.flows import choose_package, give_details, wait_for_slots

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
