"""The brand as a customer's browser shows it: the coach's colour on buttons, links and focus
rings, their photo and name in the header, and every colour pair still readable (axe).

A server and database of this module's own: the brand shows on every page of every test.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from axe_playwright_python.sync_playwright import Axe  # type: ignore[import-untyped]
from playwright.sync_api import Page, expect

from sessionbook.branding.service import BrandAuthor, BrandDraft, BrandService
from sessionbook.core.db import Database
from tests.branding.images import jpeg_with_exif
from tests.conftest import DatabaseUnderTest, RunningServer, run_server
from tests.e2e.conftest import run, shot
from tests.support.databases import new_sqlite_database

pytestmark = pytest.mark.e2e

ACCENT = "#8a2f5d"
ACCENT_RGB = "rgb(138, 47, 93)"


async def _set_brand(url: str) -> None:
    database = Database(url)
    try:
        draft = BrandDraft(
            business_name="Anna Coaching",
            coach_name="Coach Anna",
            bio="I help people find their footing.",
            accent_color=ACCENT,
            support_email="help@anna.example.com",
        )
        await BrandService(database).save(draft, BrandAuthor("test"), photo=jpeg_with_exif())
    finally:
        await database.dispose()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    url = run(new_sqlite_database(tmp_path_factory.mktemp("brand-e2e")))
    # Saved before the server reads it, so its first page already shows it.
    run(_set_brand(url))
    with run_server(DatabaseUnderTest("sqlite", url, url)) as running:
        yield running


def root_property(page: Page, name: str) -> str:
    value: str = page.evaluate(
        "name => getComputedStyle(document.documentElement).getPropertyValue(name).trim()", name
    )
    return value


def test_the_accent_colours_buttons_and_focus_and_the_header_shows_the_coach(
    page: Page, site: RunningServer
) -> None:
    page.goto(site.url + "/")

    assert root_property(page, "--accent") == ACCENT
    button = page.locator("button.primary")
    expect(button).to_have_css("background-color", ACCENT_RGB)
    page.keyboard.press("Tab")  # the skip link: its focus ring is the accent too
    expect(page.locator(".skip-link")).to_have_css("outline-color", ACCENT_RGB)
    photo = page.locator("header img.brand-photo")
    expect(photo).to_have_attribute("alt", "Coach Anna")
    # Loaded, past the page's Content-Security-Policy: a broken image has no natural width.
    assert photo.evaluate("image => image.complete && image.naturalWidth > 0")
    expect(page.locator("header .brand-name")).to_have_text("Anna Coaching")
    expect(page).to_have_title("Choose a package · Anna Coaching")
    expect(page.get_by_test_id("coach-card")).to_contain_text("I help people find their footing.")
    shot(page, "brand-home")


@pytest.mark.parametrize("path", ["/", "/book/details?package=single"])
def test_every_colour_pair_keeps_aa_contrast_with_the_coach_colour(
    page: Page, site: RunningServer, path: str
) -> None:
    page.goto(site.url + path)

    results = Axe().run(page, options={"runOnly": ["color-contrast"]})

    assert results.violations_count == 0, results.generate_report()
