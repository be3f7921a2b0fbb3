"""The booking page of a package of several sessions, in each of its states, over HTTP."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from sessionbook.core.db import Database
from tests.conftest import RunningServer
from tests.operations.support import add_session
from tests.support.queries import set_booking
from tests.web.browser import create_booking, open_link

MONTHLY = {"packageId": "monthly", "customerName": "Mona Monthly", "customerEmail": "m@example.com"}
# 20:00 UTC is already the next day in Tokyo: the page gives the customer's own date.
VALID_UNTIL = datetime(2030, 1, 12, 20, 0, tzinfo=UTC)


@pytest.fixture
async def browser(server: RunningServer) -> AsyncIterator[httpx.AsyncClient]:
    async with server.client() as client:
        yield client


async def monthly(browser: httpx.AsyncClient, owner_db: Database, **values: Any) -> dict[str, Any]:
    """A paid monthly package of a customer in Tokyo, opened in this browser."""
    created = await create_booking(browser, MONTHLY)
    fields = {
        "status": "paid",
        "payment_status": "paid",
        "paid_at": datetime.now(UTC),
        "sessions_valid_until": VALID_UNTIL,
        "customer_timezone": "Asia/Tokyo",
    }
    await set_booking(owner_db, created["bookingId"], **(fields | values))
    await open_link(browser, created["bookingToken"])
    return created


def soon(days: float) -> datetime:
    return datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=days)


def text_of(html: str) -> str:
    """The page's words without tags or runs of white space."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


async def test_part_booked_package_shows_summary_list_and_the_next_picker(
    browser: httpx.AsyncClient, owner_db: Database
) -> None:
    created = await monthly(browser, owner_db)
    first = await add_session(owner_db, created["bookingId"], soon(5))
    second = await add_session(owner_db, created["bookingId"], soon(3), meeting_url=None)

    page = await browser.get("/book")

    html = page.text
    words = text_of(html)
    assert 'data-view="schedule"' in html
    assert "2 of 4 sessions booked · book the rest by 13 January 2030" in words
    assert "Choose a time for session 3 of 4" in words
    assert html.count('data-testid="session" ') == 2
    assert html.index(str(second)) < html.index(str(first))  # by start
    assert html.count('data-testid="move-session"') == 2
    assert html.count('data-testid="cancel-session"') == 2
    assert f'data-session-id="{first}"' in html
    assert 'href="https://meet.example/room" rel="noreferrer"' in html
    assert "The meeting link is sent by email before the session." in words
    assert "(Asia/Tokyo)" in words
    assert 'data-mode="schedule"' in html
    assert 'data-mode="reschedule"' in html  # the one Move panel all sessions share
    assert created["bookingToken"] not in html


async def test_a_session_inside_the_cutoff_cannot_be_moved_or_cancelled_online(
    browser: httpx.AsyncClient, owner_db: Database
) -> None:
    created = await monthly(browser, owner_db)
    await add_session(owner_db, created["bookingId"], soon(0.5))  # within 24 hours
    await add_session(owner_db, created["bookingId"], soon(-3))  # already taken place

    html = (await browser.get("/book")).text

    assert 'data-testid="move-session"' not in html
    assert html.count('data-testid="session-cutoff"') == 1
    assert "starts within 24 hours, so it can no longer be moved or cancelled online" in html
    assert html.count('disabled aria-describedby="cutoff-') == 2
    assert "This session has taken place." in html


async def test_a_fresh_package_offers_its_first_session(
    browser: httpx.AsyncClient, owner_db: Database
) -> None:
    await monthly(browser, owner_db)

    words = text_of((await browser.get("/book")).text)

    assert "Book your sessions" in words
    assert "Payment received — thank you." in words
    assert "0 of 4 sessions booked · book the rest by 13 January 2030" in words
    assert "Choose a time for session 1 of 4" in words
    assert "Your sessions" not in words


async def test_all_booked_lists_every_session_without_a_picker(
    browser: httpx.AsyncClient, owner_db: Database
) -> None:
    created = await monthly(browser, owner_db, status="scheduled")
    for day in (2, 4, 6, 8):
        await add_session(owner_db, created["bookingId"], soon(day))

    html = (await browser.get("/book")).text
    status = await browser.get("/book/api/status")

    words = text_of(html)
    assert 'data-view="confirmed"' in html
    assert "All your sessions are booked" in words
    assert "4 of 4 sessions booked" in words
    assert "book the rest" not in words
    assert html.count('data-testid="session" ') == 4
    assert 'data-mode="schedule"' not in html
    assert status.json() | {"scheduledStart": None, "scheduledEnd": None} == {
        "view": "confirmed",
        "status": "scheduled",
        "paymentStatus": "paid",
        "scheduledStart": None,
        "scheduledEnd": None,
        "sessionsTotal": 4,
        "sessionsRemaining": 0,
        "sessionsValidUntil": "2030-01-12T20:00:00Z",
    }
    assert status.json()["scheduledStart"] == soon(2).strftime("%Y-%m-%dT%H:%M:%SZ")


async def test_past_its_validity_the_package_shows_what_lapsed(
    browser: httpx.AsyncClient, owner_db: Database
) -> None:
    lapsed_at = datetime.now(UTC) - timedelta(hours=1)
    created = await monthly(browser, owner_db, sessions_valid_until=lapsed_at)
    await add_session(owner_db, created["bookingId"], soon(-5))

    html = (await browser.get("/book")).text

    words = text_of(html)
    assert 'data-view="confirmed"' in html  # no picker once the validity has passed
    assert 'data-mode="schedule"' not in html
    assert "1 of 4 sessions booked · 3 not booked by" in words
    assert "and lapsed" in words


async def test_a_package_that_lapsed_unbooked_has_expired(
    browser: httpx.AsyncClient, owner_db: Database
) -> None:
    await monthly(browser, owner_db, status="expired", sessions_lapsed=4)

    words = text_of((await browser.get("/book")).text)

    assert "This booking has expired" in words
    assert (
        "The sessions of your monthly package had to be booked by 13 January 2030; "
        "4 of 4 were not, so they lapsed." in words
    )


async def test_calendar_file_holds_every_session_with_its_own_uid(
    browser: httpx.AsyncClient, owner_db: Database
) -> None:
    created = await monthly(browser, owner_db)
    ids = [await add_session(owner_db, created["bookingId"], soon(day)) for day in (3, 6)]
    await add_session(owner_db, created["bookingId"], soon(4), state="cancelled")

    ics = await browser.get("/book/calendar.ics")

    assert ics.status_code == 200
    assert ics.headers["content-disposition"] == 'attachment; filename="sessions.ics"'
    text = ics.content.decode().replace("\r\n ", "")
    assert text.startswith("BEGIN:VCALENDAR\r\n")
    assert text.endswith("END:VCALENDAR\r\n")
    assert text.count("BEGIN:VCALENDAR") == 1
    assert text.count("BEGIN:VEVENT\r\n") == 2
    assert text.count("END:VEVENT\r\n") == 2
    for session_id in ids:
        assert f"\r\nUID:{session_id}@sessionbook\r\n" in text
    assert soon(3).strftime("DTSTART:%Y%m%dT%H%M%SZ") in text
    assert soon(4).strftime("DTSTART:%Y%m%dT%H%M%SZ") not in text  # cancelled
