"""The whole page as a coach would show it: brand set in the admin, a French customer on a phone.

With `CURRENCY=EUR`, a customer whose browser speaks French and lives in Europe/Paris books a
single session on a 375 px screen: the coach's photo and name on every step, euros written the
French way, a month calendar with 24-hour times, and a branded French email once it is booked.
axe-core finds no serious violation on any page of the way.
"""

from __future__ import annotations

import io
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.smtp import AuthResult
from PIL import Image
from playwright.sync_api import Browser, Page, expect

from sessionbook.core.settings import Settings
from tests.conftest import DatabaseUnderTest, RunningServer, run_server
from tests.e2e.accessibility import assert_no_serious_violations
from tests.e2e.conftest import DESKTOP, PHONE, run, shot
from tests.operations.support import ADMIN_PASSWORD, ADMIN_SETTINGS
from tests.support.databases import new_sqlite_database
from tests.support.smtp import Inbox, smtp_server_on_loopback

pytestmark = pytest.mark.e2e

PARIS = ZoneInfo("Europe/Paris")
SENDER = "bookings@coach.example"
BUSINESS = "Atelier Claire"
COACH = "Claire Dupont"
ACCENT = "#7a2e52"
# "150,00 €": French decimals, the sign after a (narrow) no-break space.
FRENCH_EUROS = re.compile(r"150,00[\u00a0\u202f ]€")
CLOCK_24H = re.compile(r"^(?:[01]\d|2[0-3]):[0-5]\d")


def wait_for(inbox: Inbox, subject_start: str, timeout: float = 20.0) -> EmailMessage:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for message in inbox.received:
            if str(message["Subject"]).startswith(subject_start):
                return message
        time.sleep(0.2)
    subjects = [str(message["Subject"]) for message in inbox.received]
    raise AssertionError(f"no email starting {subject_start!r}; got {subjects}")


@pytest.fixture(scope="module")
def inbox() -> Iterator[tuple[Inbox, int]]:
    received = Inbox()
    with smtp_server_on_loopback(received, lambda *args: AuthResult(success=True)) as port:
        yield received, port


@pytest.fixture(scope="module")
def euro_site(
    tmp_path_factory: pytest.TempPathFactory, inbox: tuple[Inbox, int]
) -> Iterator[RunningServer]:
    """A fresh install whose catalog was seeded in euros, sending its email to our inbox."""
    directory = tmp_path_factory.mktemp("euros")
    url = run(new_sqlite_database(directory, seed=Settings(currency="EUR")))
    _, port = inbox
    with run_server(
        DatabaseUnderTest("sqlite", url, url),
        currency="EUR",
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_from=SENDER,
        smtp_starttls=False,
        # The emails leave from the in-process sweep, woken as soon as one is queued.
        sweep_interval_seconds=30,
        **ADMIN_SETTINGS,
    ) as running:
        yield running


def coach_photo(directory: Path) -> Path:
    """A small JPEG portrait, as a coach would upload one."""
    picture = Image.new("RGB", (640, 800), (122, 46, 82))
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG", quality=85)
    path = directory / "claire.jpg"
    path.write_bytes(buffer.getvalue())
    return path


def set_the_brand(browser: Browser, site: RunningServer, photo: Path) -> None:
    context = browser.new_context(viewport=DESKTOP, locale="en-GB")
    page = context.new_page()
    try:
        page.goto(site.url + "/admin/login")
        page.get_by_label("Admin password").fill(ADMIN_PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(site.url + "/admin")
        page.goto(site.url + "/admin/brand")
        page.get_by_label("Business name").fill(BUSINESS)
        page.get_by_label("Coach name").fill(COACH)
        page.get_by_label("Short bio").fill("Coach de carrière depuis douze ans, à Paris.")
        page.locator("#accent_color").fill(ACCENT)
        page.get_by_label("Support email").fill("bonjour@claire.example")
        page.get_by_label("Default language").select_option("fr")
        page.locator("#photo").set_input_files(str(photo))
        page.get_by_role("button", name="Save").click()
        expect(page.locator("#photo-preview img")).to_be_visible()
        shot(page, "french-admin-brand")
    finally:
        context.close()


def expect_brand(page: Page) -> None:
    header = page.get_by_test_id("brand")
    expect(header).to_contain_text(BUSINESS)
    photo = header.locator("img.brand-photo")
    expect(photo).to_be_visible()
    assert photo.evaluate("image => image.complete && image.naturalWidth > 0")


def test_a_french_customer_in_paris_books_on_a_phone_and_gets_a_branded_email(
    browser: Browser,
    euro_site: RunningServer,
    inbox: tuple[Inbox, int],
    tmp_path: Path,
) -> None:
    received, _ = inbox
    set_the_brand(browser, euro_site, coach_photo(tmp_path))

    context = browser.new_context(viewport=PHONE, locale="fr-FR", timezone_id="Europe/Paris")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.goto(euro_site.url + "/")
        expect(page.locator("html")).to_have_attribute("lang", "fr")
        expect_brand(page)
        expect(page.get_by_test_id("coach-card")).to_contain_text(COACH)
        expect(page.locator("label[for=package-single]")).to_contain_text(FRENCH_EUROS)
        assert_no_serious_violations(page, "french home")
        shot(page, "french-home")

        page.locator("#package-single").check()
        page.locator(".package-form button[type=submit]").click()
        expect(page.locator("main")).to_contain_text(FRENCH_EUROS)
        expect_brand(page)
        page.locator("input[name=name]").fill("Camille Martin")
        page.locator("input[name=email]").fill("camille@example.fr")
        assert_no_serious_violations(page, "french details")
        shot(page, "french-details")
        page.locator("form button[type=submit]").last.click()

        # The sandbox's hosted payment page names who is being paid.
        expect(page).to_have_url(re.compile(r"/sandbox/airwallex/pay/"))
        expect(page.locator("body")).to_contain_text(BUSINESS)
        page.get_by_role("button", name="Pay").click()

        picker = page.locator("section[data-slot-picker]")
        expect(picker.locator("[data-month-grid]")).to_be_visible(timeout=20_000)
        expect(picker.locator("[data-slot-form]")).to_have_attribute("aria-busy", "false")
        expect_brand(page)
        aside = page.get_by_test_id("booking-aside")
        expect(aside).to_contain_text(COACH)
        expect(aside.get_by_test_id("aside-price")).to_have_text(FRENCH_EUROS)
        expect(page.get_by_test_id("timezone")).to_have_value("Europe/Paris")
        # French weeks start on Monday: "lun." heads the month's first column.
        expect(picker.locator("[data-month-grid] thead th").first).to_have_text(re.compile("^lun"))

        for _ in range(3):
            open_days = picker.locator("button.day.open")
            if open_days.count():
                break
            picker.get_by_test_id("month-next").click()
            expect(picker.locator("[data-slot-form]")).to_have_attribute("aria-busy", "false")
        open_days.first.click()
        times = picker.locator(".slot:not(.current)")
        expect(times.first).to_be_visible()
        labels = [label.strip() for label in times.locator(".slot-time").all_inner_texts()]
        assert labels
        assert all(CLOCK_24H.match(label) for label in labels), labels
        assert not any(re.search(r"AM|PM", label) for label in labels), labels
        assert_no_serious_violations(page, "french calendar")
        shot(page, "french-calendar")

        chosen = times.first
        start = chosen.locator("input").get_attribute("data-start") or ""
        chosen.click()
        picker.get_by_test_id("confirm-slot").click()
        expect(page.get_by_test_id("meeting-link")).to_be_visible(timeout=20_000)
        expect_brand(page)
        assert_no_serious_violations(page, "french confirmation")
        shot(page, "french-confirmed")
        assert not errors, f"script errors on the page: {errors}"
    finally:
        context.close()

    paris_start = datetime.fromisoformat(start).astimezone(UTC).astimezone(PARIS)
    message = wait_for(received, "Réservation confirmée")
    assert message["From"] == f"{BUSINESS} <{SENDER}>"
    assert message["Reply-To"] == "bonjour@claire.example"
    plain = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert plain is not None
    assert html is not None
    text_part, html_part = plain.get_content(), html.get_content()
    assert f"à {paris_start:%H:%M} (heure : Paris)" in text_part
    assert COACH in text_part
    assert COACH in html_part
    assert ACCENT in html_part
    assert "/brand/photo?v=" in html_part
    assert "Gérer votre réservation" in html_part
