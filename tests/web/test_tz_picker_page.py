"""The booking page's time-zone picker as the server renders it (before any script runs)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from sessionbook.core.db import Database
from tests.conftest import RunningServer
from tests.operations.support import add_session
from tests.support.queries import set_booking
from tests.web.browser import FREE, create_booking, open_link

MONTHLY = {"packageId": "monthly", "customerName": "Mona Monthly", "customerEmail": "m@example.com"}
_SELECT = re.compile(r'<select id="timezone"[^>]*>(.*?)</select>', re.S)
_SELECTED = re.compile(r'<option value="([^"]+)"(?: data-known)? selected>([^<]*)</option>')


@pytest.fixture
async def browser(server: RunningServer) -> AsyncIterator[httpx.AsyncClient]:
    async with server.client() as client:
        yield client


async def schedule_page(browser: httpx.AsyncClient, owner_db: Database, zone: str | None) -> str:
    created = await create_booking(browser, FREE)
    await set_booking(owner_db, created["bookingId"], customer_timezone=zone)
    await open_link(browser, created["bookingToken"])
    page = await browser.get("/book")
    assert page.status_code == 200
    assert 'data-view="schedule"' in page.text
    return page.text


def zone_select(html: str) -> str:
    match = _SELECT.search(html)
    assert match, "no zone select on the page"
    return match.group(1)


async def test_the_booking_zone_is_selected_in_a_server_rendered_select(
    browser: httpx.AsyncClient, owner_db: Database
) -> None:
    html = await schedule_page(browser, owner_db, "Europe/Paris")

    options = zone_select(html)
    [(zone, label)] = _SELECTED.findall(options)
    # Winter or summer time, whichever is in force today.
    assert zone == "Europe/Paris"
    assert re.fullmatch(r"\(UTC\+0[12]:00\) Paris, France", label)
    assert '<optgroup label="Europe">' in options
    assert '<optgroup label="Americas">' in options
    assert 'data-timezone data-testid="timezone"' in html
    label = '<label for="timezone" id="timezone-label">Times are shown in</label>'
    assert label in html
    assert "/static/tzpicker.js?v=" in html


async def test_a_stored_alias_shows_as_its_canonical_zone(
    browser: httpx.AsyncClient, owner_db: Database
) -> None:
    html = await schedule_page(browser, owner_db, "Asia/Calcutta")

    options = zone_select(html)
    assert _SELECTED.findall(options) == [("Asia/Kolkata", "(UTC+05:30) Kolkata, India")]
    assert 'value="Asia/Calcutta"' not in options
    assert 'value="US/Eastern"' not in options
    # The page's script still learns the stored name, and what it stands for.
    assert 'data-initial-zone="Asia/Calcutta"' in html
    assert "Asia/Calcutta:Asia/Kolkata" in html


async def test_without_a_zone_utc_is_selected_until_the_browser_says_otherwise(
    browser: httpx.AsyncClient, owner_db: Database
) -> None:
    html = await schedule_page(browser, owner_db, None)

    assert _SELECTED.findall(zone_select(html)) == [("UTC", "(UTC+00:00) UTC")]
    assert 'data-initial-zone=""' in html


async def test_a_page_with_two_calendars_stays_under_100_kb(
    browser: httpx.AsyncClient, owner_db: Database
) -> None:
    created = await create_booking(browser, MONTHLY)
    await set_booking(
        owner_db,
        created["bookingId"],
        status="paid",
        payment_status="paid",
        paid_at=datetime.now(UTC),
        sessions_valid_until=datetime.now(UTC) + timedelta(days=30),
        customer_timezone="Asia/Tokyo",
    )
    await add_session(owner_db, created["bookingId"], datetime.now(UTC) + timedelta(days=5))
    await open_link(browser, created["bookingToken"])

    page = await browser.get("/book")

    # Booking the next session and moving one share the side panel's one zone picker.
    assert page.text.count("data-tz-picker") == 1
    assert page.text.count("data-slot-picker") == 2
    print(f"page size: {len(page.content)} bytes")
    assert len(page.content) < 100_000
