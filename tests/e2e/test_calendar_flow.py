"""The month calendar in a browser: by mouse on a phone and a desktop, by keyboard, no script."""

from __future__ import annotations

import calendar
import re
from datetime import date, timedelta

import pytest
from axe_playwright_python.sync_playwright import Axe  # type: ignore[import-untyped]
from playwright.sync_api import Browser, FloatRect, Page, ViewportSize, expect

from tests.conftest import RunningServer
from tests.e2e.conftest import DESKTOP, PHONE, shot
from tests.e2e.flows import (
    choose_day_ahead,
    choose_package,
    confirm_slot,
    expect_booked,
    give_details,
    same_instant,
    wait_for_calendar,
    wait_for_slots,
)

pytestmark = pytest.mark.e2e


def start_free_call(page: Page, site: RunningServer) -> None:
    choose_package(page, site.url, "Discovery call")
    give_details(page, "Mary Somerville", "mary@example.com")
    page.get_by_role("button", name="Book the free call").click()
    expect(page.get_by_role("heading", name="Choose a time")).to_be_visible()


WEEKDAY_OF_FOCUS = "new Date(document.activeElement.dataset.day + 'T12:00:00Z').getUTCDay()"


def same_day_next_month(day: str) -> str:
    """The day PageDown moves to: the same day number, or the next month's last day."""
    first = date.fromisoformat(day[:8] + "01")
    following = (first + timedelta(days=32)).replace(day=1)
    last = calendar.monthrange(following.year, following.month)[1]
    return following.replace(day=min(int(day[8:]), last)).isoformat()


def assert_focus_visible(page: Page) -> None:
    outline = page.evaluate(
        """() => {
            const style = getComputedStyle(document.activeElement);
            return [style.outlineStyle, style.outlineWidth];
        }"""
    )
    assert outline[0] != "none"
    assert outline[1] != "0px"


def box(page: Page, selector: str) -> FloatRect:
    found = page.locator(selector).bounding_box()
    assert found is not None, selector
    return found


@pytest.mark.parametrize(("name", "viewport"), [("phone", PHONE), ("desktop", DESKTOP)])
def test_pick_a_day_and_a_time_with_the_mouse(
    browser: Browser, site: RunningServer, name: str, viewport: ViewportSize
) -> None:
    context = browser.new_context(viewport=viewport, timezone_id="Europe/Berlin", locale="en-GB")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        start_free_call(page, site)
        times = choose_day_ahead(page, 3)
        aside, main = box(page, ".booking-aside"), box(page, ".booking-main")
        grid, listing = box(page, "[data-month-grid]"), box(page, "[data-slot-form]")
        if name == "phone":
            # Stacked: the side panel above the calendar, the times below the month.
            assert aside["y"] + aside["height"] <= main["y"]
            assert grid["y"] + grid["height"] <= listing["y"]
            overflow = page.evaluate(
                "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0
        else:
            # Two columns, and the chosen day's times beside the month.
            assert aside["x"] + aside["width"] <= main["x"]
            assert grid["x"] + grid["width"] <= listing["x"]
        chosen = times.nth(1)
        chosen.click()
        expect(chosen.locator("input")).to_be_checked()
        summary = page.get_by_test_id("selection")
        expect(summary).to_have_text(re.compile(r"^\w+day, \w+ \d+, .+–.+ \(Europe/Berlin\)$"))
        expect(page.get_by_test_id("cutoff-warning")).to_be_hidden()  # 3 days ahead
        shot(page, f"calendar-{name}-picked")
        start = confirm_slot(page, chosen)
        expect_booked(page)
        confirmed = page.get_by_test_id("confirmed-time").get_attribute("data-start") or ""
        assert same_instant(confirmed, start)
        shot(page, f"calendar-{name}-booked")
    finally:
        context.close()
    assert not errors


def test_the_whole_way_by_keyboard(page: Page, site: RunningServer) -> None:
    start_free_call(page, site)
    picker = wait_for_calendar(page)
    title = picker.get_by_test_id("month-title")
    first_title = title.inner_text()
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.matches('button.day')"):
            break
    focused = page.locator("button.day:focus")
    expect(focused).to_have_attribute("tabindex", "0")
    here = focused.get_attribute("data-day") or ""

    # PageDown: the same day of the next month; PageUp back.
    page.keyboard.press("PageDown")
    expect(title).not_to_have_text(first_title)
    expect(focused).to_have_attribute("data-day", same_day_next_month(here))
    assert picker.locator('button.day[tabindex="0"]').count() == 1
    shot(page, "calendar-keyboard-next-month")
    page.keyboard.press("PageUp")
    expect(title).to_have_text(first_title)
    # Down a week, then Home and End within that week (weeks start on Monday in "en").
    page.keyboard.press("ArrowDown")
    week_later = (date.fromisoformat(here) + timedelta(days=7)).isoformat()
    expect(focused).to_have_attribute("data-day", week_later)
    page.keyboard.press("Home")
    page.wait_for_function(f"() => {WEEKDAY_OF_FOCUS} === 1")
    page.keyboard.press("End")
    page.wait_for_function(f"() => {WEEKDAY_OF_FOCUS} === 0")
    assert_focus_visible(page)
    # Enter picks the focused day; its times follow in the tab order.
    page.keyboard.press("Enter")
    picked = focused.get_attribute("data-day") or ""
    expect(picker.locator('[aria-selected="true"] > .day')).to_have_attribute("data-day", picked)
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.name") == "slot"
    page.keyboard.press("ArrowDown")  # arrows in a radio group choose
    assert page.evaluate("() => document.activeElement.checked") is True
    value = page.evaluate("() => document.activeElement.dataset.start")
    expect(page.get_by_test_id("selection")).to_contain_text("(Europe/Berlin)")
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.dataset.testid") == "confirm-slot"
    shot(page, "calendar-keyboard-picked")
    page.keyboard.press("Enter")
    expect_booked(page)
    confirmed = page.get_by_test_id("confirmed-time").get_attribute("data-start") or ""
    assert same_instant(confirmed, value)


def test_a_time_inside_the_cutoff_says_so_before_confirming(
    page: Page, site: RunningServer
) -> None:
    start_free_call(page, site)
    # The sandbox coach works every day: the first free time is always within 24 hours.
    first = wait_for_slots(page).first
    expect(first).to_contain_text("cannot be moved later")
    expect(page.get_by_test_id("cutoff-legend")).to_be_visible()
    first.click()
    warning = page.get_by_test_id("cutoff-warning")
    expect(warning).to_be_visible()
    expect(warning).to_have_text(
        "This time starts within 24 hours: once booked, it cannot be moved or cancelled online."
    )
    shot(page, "calendar-cutoff")


def test_booking_without_script(browser: Browser, site: RunningServer) -> None:
    context = browser.new_context(
        viewport=PHONE, java_script_enabled=False, timezone_id="Europe/Berlin", locale="en-GB"
    )
    page = context.new_page()
    try:
        start_free_call(page, site)
        picker = page.locator(".slot-picker")
        # Links to the next month and to each day with times; the day's times are radios.
        picker.get_by_test_id("month-next").click()
        expect(page).to_have_url(re.compile(r"/book\?month=\d{4}-\d{2}$"))
        days = picker.locator("a.day.open")
        third = days.nth(2)
        day = third.get_attribute("data-day") or ""
        third.click()
        expect(page).to_have_url(re.compile(rf"/book\?month={day[:7]}&day={day}$"))
        expect(picker.locator('[aria-selected="true"] > .day')).to_have_attribute("data-day", day)
        expect(picker.get_by_test_id("times-title")).to_contain_text(
            re.compile(r"Times on \w+day, \w+ \d+")
        )
        radios = picker.locator("input[name=slot]")
        expect(radios.first).to_be_attached()
        slot = radios.nth(1)
        value = slot.get_attribute("value") or ""
        assert value.startswith(day)
        picker.locator(".slot").nth(1).click()
        shot(page, "calendar-no-script-picked")
        picker.get_by_test_id("confirm-slot").click()
        expect(page.get_by_role("heading", name="You're booked")).to_be_visible()
        confirmed = page.get_by_test_id("confirmed-time").get_attribute("data-start") or ""
        assert same_instant(confirmed, value.split("/")[0])
        shot(page, "calendar-no-script-booked")
    finally:
        context.close()


@pytest.mark.parametrize("script", [True, False], ids=["script", "no-script"])
def test_axe_finds_nothing_on_the_calendar(
    browser: Browser, site: RunningServer, script: bool
) -> None:
    # axe runs as a script of its own: "no script" here is the page's scripts never loading.
    context = browser.new_context(viewport=DESKTOP, bypass_csp=True, locale="en-GB")
    page = context.new_page()
    if not script:
        page.route("**/static/*.js*", lambda route: route.abort())
    try:
        start_free_call(page, site)
        if script:
            wait_for_slots(page).first.click()
        else:
            expect(page.locator("a.day.open").first).to_be_visible()
        # The page's content (the sandbox banner above it is no landmark, by design).
        results = Axe().run(page, context="#main")
        assert results.violations_count == 0, results.generate_report()
    finally:
        context.close()
