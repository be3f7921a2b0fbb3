"""An email preview in a browser: the HTML part renders in its sandboxed frame, styles applied."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect

from tests.conftest import DatabaseUnderTest, RunningServer, run_server
from tests.e2e.conftest import DESKTOP, shot
from tests.operations.support import ADMIN_PASSWORD, ADMIN_SETTINGS

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def admin_site(test_db: DatabaseUnderTest) -> Iterator[RunningServer]:
    with run_server(test_db, coach_timezone="Europe/Paris", **ADMIN_SETTINGS) as running:
        yield running


def test_the_html_part_renders_in_a_frame_that_runs_no_script(
    browser: Browser, admin_site: RunningServer
) -> None:
    context = browser.new_context(viewport=DESKTOP, locale="fr-FR")
    page = context.new_page()
    refused: list[str] = []
    page.on(
        "console",
        lambda message: refused.append(message.text) if message.type == "error" else None,
    )
    page.goto(f"{admin_site.url}/admin/login")
    page.get_by_label("Admin password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{admin_site.url}/admin")
    page.get_by_role("link", name="Emails", exact=True).click()
    page.locator('a[href="/admin/emails/booking_confirmed?locale=fr"]').click()

    frame = page.frame_locator("iframe[sandbox]")
    expect(frame.get_by_text("Bonjour Alex Example,")).to_be_visible()
    button = frame.get_by_role("link", name="Gérer votre réservation")
    expect(button).to_be_visible()
    # The inline styles apply under the page's policy: the button is on the accent colour.
    background = button.evaluate("link => getComputedStyle(link.parentElement).backgroundColor")
    assert background == "rgb(47, 93, 138)"
    sandbox = page.locator("iframe[sandbox]").get_attribute("sandbox")
    assert sandbox == ""  # every restriction: no scripts, no forms, no same origin
    expect(page.locator("pre")).to_contain_text("heure : Paris")
    shot(page, "admin-email-preview-fr")
    assert refused == [], refused
    context.close()
