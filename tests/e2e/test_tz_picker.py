"""The searchable time-zone picker in Chromium: search, keyboard and mouse, phone and desktop."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from axe_playwright_python.sync_playwright import Axe  # type: ignore[import-untyped]
from playwright.sync_api import Browser, Locator, Page, ViewportSize, expect

from tests.conftest import RunningServer
from tests.e2e.conftest import DESKTOP, PHONE, shot
from tests.e2e.flows import (
    choose_day_ahead,
    choose_package,
    confirm_slot,
    give_details,
    wait_for_calendar,
    wait_for_slots,
)

SCREENS: dict[str, ViewportSize] = {"phone": PHONE, "desktop": DESKTOP}


@pytest.fixture(params=sorted(SCREENS))
def screen(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


def open_page(browser: Browser, screen: str, zone: str) -> Iterator[Page]:
    context = browser.new_context(viewport=SCREENS[screen], timezone_id=zone, locale="en-GB")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        yield page
    finally:
        context.close()
    assert not errors, f"script errors on the page: {errors}"


@pytest.fixture
def new_york_page(browser: Browser, screen: str) -> Iterator[Page]:
    yield from open_page(browser, screen, "America/New_York")


def book_free_call(page: Page, base_url: str) -> None:
    choose_package(page, base_url, "Discovery call")
    give_details(page, "Grace Hopper", "grace@example.com")
    page.get_by_role("button", name="Book the free call").click()
    expect(page.get_by_role("heading", name="Choose a time")).to_be_visible()


def zone_box(page: Page) -> Locator:
    """The searchable box, once the script has built it (the plain select is a combobox too)."""
    box = page.get_by_test_id("timezone-search")
    expect(box).to_have_role("combobox")
    expect(box).to_have_accessible_name("Times are shown in")
    return box


def expect_slots_in(page: Page, zone: str) -> str:
    """The first slot's clock time, after checking that every slot shows its instant in `zone`."""
    slots = wait_for_slots(page)
    shown = page.evaluate(
        """(zone) => {
            const pickers = document.querySelectorAll(".slot-picker:not([hidden])");
            const picker = pickers[pickers.length - 1];
            const format = new Intl.DateTimeFormat(
              picker.dataset.locale, { timeZone: zone, hour: "numeric", minute: "2-digit" });
            return Array.from(picker.querySelectorAll(".slot input[data-start]"))
              .map((input) => [input.closest(".slot").querySelector(".slot-time").textContent,
                               format.format(new Date(input.dataset.start))]);
        }""",
        zone,
    )
    assert shown
    assert all(text == expected for text, expected in shown), shown
    return slots.first.inner_text()


def test_search_then_pick_with_keyboard_and_mouse(
    new_york_page: Page, site: RunningServer, screen: str
) -> None:
    page = new_york_page
    book_free_call(page, site.url)
    box = zone_box(page)
    select = page.get_by_test_id("timezone")
    # The browser's own zone by default, named and with its offset.
    expect(select).to_have_value("America/New_York")
    expect(box).to_have_value(re.compile(r"^\(UTC-0[45]:00\) New York, United States$"))
    expect(box).to_have_attribute("aria-expanded", "false")
    new_york_first = expect_slots_in(page, "America/New_York")

    box.click()
    page.keyboard.type("par")
    listbox = page.get_by_role("listbox", name="Time zones")
    expect(box).to_have_attribute("aria-expanded", "true")
    expect(box).to_have_attribute("aria-controls", listbox.get_attribute("id") or "")
    options = listbox.get_by_role("option")
    expect(options.first).to_have_text(re.compile(r"Paris, France$"))
    page.keyboard.press("ArrowDown")
    first_id = options.first.get_attribute("id")
    expect(box).to_have_attribute("aria-activedescendant", first_id or "")
    expect(options.first).to_have_attribute("aria-selected", "true")
    shot(page, f"tz-picker-{screen}-search-par")
    # The open combobox, its list and the hidden select it drives: nothing axe-core objects to.
    audit = Axe().run(page, context=".tz-picker")
    assert audit.violations_count == 0, audit.generate_report()
    with page.expect_request(re.compile(r"/book/api/slots\?.*timezone=Europe%2FParis")):
        page.keyboard.press("Enter")
    expect(select).to_have_value("Europe/Paris")
    expect(box).to_have_value(re.compile(r"^\(UTC\+0[12]:00\) Paris, France$"))
    expect(box).to_have_attribute("aria-expanded", "false")
    expect(listbox).to_be_hidden()
    expect(box).to_be_focused()
    paris_first = expect_slots_in(page, "Europe/Paris")
    assert paris_first != new_york_first

    # The mouse: an offset finds India, a click picks it.
    box.click()
    box.fill("+5:30")
    kolkata = listbox.get_by_role("option", name=re.compile(r"Kolkata, India"))
    expect(kolkata).to_be_visible()
    for text in options.all_inner_texts():
        assert text.startswith("(UTC+05:30)"), text
    shot(page, f"tz-picker-{screen}-offset")
    with page.expect_request(re.compile(r"/book/api/slots\?.*timezone=Asia%2FKolkata")):
        kolkata.click()
    expect(select).to_have_value("Asia/Kolkata")
    expect(box).to_have_value("(UTC+05:30) Kolkata, India")
    expect_slots_in(page, "Asia/Kolkata")
    shot(page, f"tz-picker-{screen}-kolkata")


def test_search_by_words_accents_and_escape(new_york_page: Page, site: RunningServer) -> None:
    page = new_york_page
    book_free_call(page, site.url)
    box = zone_box(page)
    options = page.get_by_role("listbox", name="Time zones").get_by_role("option")

    box.click()
    page.keyboard.type("new y")
    expect(options.first).to_have_attribute("data-value", "America/New_York")
    box.fill("sao")
    expect(options.first).to_have_attribute("data-value", "America/Sao_Paulo")
    box.fill("cote d")  # no accents needed, even where the zone's own name does not help
    expect(options.first).to_have_attribute("data-value", "Africa/Abidjan")
    expect(options.first).to_have_text("(UTC+00:00) Abidjan, Côte d’Ivoire")
    box.fill("ukraine")  # a country
    expect(options.first).to_have_attribute("data-value", "Europe/Kyiv")
    box.fill("kolkata")  # a zone's own name
    expect(options.first).to_have_attribute("data-value", "Asia/Kolkata")
    box.fill("+5:30")  # an offset
    expect(options.first).to_have_attribute("data-value", "Asia/Kolkata")
    box.fill("zzzz")
    expect(options).to_have_count(0)
    expect(page.get_by_role("status").filter(has_text="No time zone matches")).to_be_visible()

    # Escape closes the list and puts back the zone in force; nothing changes.
    box.fill("tok")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Escape")
    expect(box).to_have_attribute("aria-expanded", "false")
    expect(box).to_have_value(re.compile(r"New York, United States$"))
    expect(page.get_by_test_id("timezone")).to_have_value("America/New_York")
    # Tab leaves without picking either.
    box.fill("tok")
    page.keyboard.press("Tab")
    expect(box).not_to_be_focused()
    expect(box).to_have_value(re.compile(r"New York, United States$"))
    expect(page.get_by_test_id("timezone")).to_have_value("America/New_York")


@pytest.mark.parametrize(
    ("browser_zone", "zone"), [("Asia/Calcutta", "Asia/Kolkata"), ("Europe/Kiev", "Europe/Kyiv")]
)
def test_an_old_name_from_the_browser_shows_as_its_zone(
    browser: Browser, site: RunningServer, browser_zone: str, zone: str
) -> None:
    for page in open_page(browser, "desktop", browser_zone):
        book_free_call(page, site.url)
        select = page.get_by_test_id("timezone")
        expect(select).to_have_value(zone)
        assert select.locator(f'option[value="{browser_zone}"]').count() == 0
        expect(zone_box(page)).to_have_value(re.compile(r"^\(UTC\+0\d:\d\d\) \w+"))
        expect_slots_in(page, zone)


def test_the_move_panel_follows_the_side_panels_picker_from_the_booking_zone(
    browser: Browser, site: RunningServer
) -> None:
    for page in open_page(browser, "phone", "America/New_York"):
        book_free_call(page, site.url)
        confirm_slot(page, choose_day_ahead(page, 3).first)  # well beyond the change cutoff
        expect(page.get_by_role("heading", name="You're booked")).to_be_visible(timeout=15_000)

        page.get_by_test_id("change-time").click()
        panel = page.locator("#reschedule-panel")
        wait_for_calendar(page, panel)
        # One zone picker a page, in the side panel: the Move panel's times follow it.
        box = zone_box(page)
        expect(box).to_have_value(re.compile(r"New York, United States$"))
        box.click()
        page.keyboard.type("tokyo")
        with page.expect_request(re.compile(r"/book/api/slots\?.*timezone=Asia%2FTokyo")):
            page.keyboard.press("Enter")
        expect(page.get_by_test_id("timezone")).to_have_value("Asia/Tokyo")
        expect(box).to_have_value("(UTC+09:00) Tokyo, Japan")
        expect_slots_in(page, "Asia/Tokyo")
        shot(page, "tz-picker-phone-move-panel")
