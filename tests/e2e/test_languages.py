"""The pages in French in a real browser: the switcher, and the scripts' words from the page."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import RunningServer

pytestmark = pytest.mark.e2e


def test_the_switcher_turns_the_details_form_and_its_script_into_french(
    page: Page, site: RunningServer
) -> None:
    page.goto(f"{site.url}/book/details?package=single")
    expect(page.locator("html")).to_have_attribute("lang", "en")

    page.get_by_test_id("language-switch").get_by_role("link", name="Français").click()

    expect(page).to_have_url(re.compile(r"/book/details\?package=single&lang=fr$"))
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.get_by_role("link", name="Français")).to_have_attribute("aria-current", "true")
    # The form's own check runs in the script, which reads its words from the page.
    page.get_by_role("button", name="Continuer vers le paiement").click()
    expect(page.get_by_test_id("error-name")).to_have_text("Veuillez saisir votre nom.")
    expect(page.get_by_test_id("error-email")).to_have_text("Veuillez saisir votre adresse e-mail.")

    # The cookie keeps the choice on the next page, without ?lang=.
    page.goto(f"{site.url}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Réserver une séance de coaching")
