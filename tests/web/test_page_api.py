"""The page's JSON helpers under /book: cookie only, CSRF on every POST, contract errors."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from icalendar import Calendar

from sessionbook.bookings.models import BookingSession
from sessionbook.bookings.repository import BookingRepository
from sessionbook.core.db import SERVICE, Database
from tests.conftest import RunningServer
from tests.support.queries import booking_row, set_booking
from tests.web.browser import FREE, PAID, create_booking, open_link, page_csrf, post_json


@pytest.fixture
async def browser(server: RunningServer) -> AsyncIterator[httpx.AsyncClient]:
    async with server.client() as client:
        yield client


async def live_sessions(database: Database, booking_id: str) -> list[BookingSession]:
    async with database.transaction(SERVICE) as session:
        return await BookingRepository(session).sessions_of(uuid.UUID(booking_id))


async def first_slot(browser: httpx.AsyncClient, *, from_day: int = 0) -> dict[str, str]:
    first = datetime.now(UTC).date() + timedelta(days=from_day)
    query = {"start": first.isoformat(), "end": (first + timedelta(days=14)).isoformat()}
    response = await browser.get("/book/api/slots", params=query | {"timezone": "Europe/Paris"})
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["timezone"] == "Europe/Paris"
    assert body["slots"], "the sandbox calendar offered nothing in two weeks"
    slot: dict[str, str] = body["slots"][0]
    assert slot["start"].endswith("Z")
    return slot


async def test_status_follows_the_booking_through_the_cookie(
    browser: httpx.AsyncClient, owner_db: Database
) -> None:
    created = await create_booking(browser, PAID)
    await open_link(browser, created["bookingToken"])

    waiting = await browser.get("/book/api/status")
    await set_booking(owner_db, created["bookingId"], payment_status="failed")
    failed = await browser.get("/book/api/status")

    assert waiting.status_code == 200
    assert waiting.headers["cache-control"] == "no-store"
    assert waiting.json()["view"] == "waiting"
    assert failed.json()["view"] == "payment-failed"
    assert created["bookingToken"] not in waiting.text


async def test_without_a_cookie_the_helpers_answer_the_contract_error(
    browser: httpx.AsyncClient,
) -> None:
    status = await browser.get("/book/api/status")
    slots = await browser.get(
        "/book/api/slots", params={"start": "2030-01-01", "end": "2030-01-02"}
    )
    calendar = await browser.get("/book/calendar.ics")

    for response in (status, slots, calendar):
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "booking_not_found"


async def test_a_token_in_the_query_is_not_accepted_by_the_helpers(
    browser: httpx.AsyncClient,
) -> None:
    created = await create_booking(browser, FREE)

    response = await browser.get("/book/api/status", params={"token": created["bookingToken"]})
    header = await browser.get(
        "/book/api/status", headers={"X-Booking-Token": created["bookingToken"]}
    )

    assert response.status_code == 404
    assert header.status_code == 404


async def test_schedule_via_the_cookie_then_download_the_calendar_file(
    browser: httpx.AsyncClient, owner_db: Database
) -> None:
    created = await create_booking(browser, FREE)
    await open_link(browser, created["bookingToken"])
    slot = await first_slot(browser)
    csrf = await page_csrf(browser)

    response = await post_json(
        browser,
        "/book/api/schedule",
        {"startTime": slot["start"], "endTime": slot["end"], "timezone": "Europe/Paris"},
        csrf=csrf,
    )

    assert response.status_code == 200, response.text
    assert response.json()["scheduledStart"] == slot["start"]
    row = await booking_row(owner_db, created["bookingId"])
    assert (row.status, row.customer_timezone) == ("scheduled", "Europe/Paris")
    page = await browser.get("/book")
    assert 'data-view="confirmed"' in page.text
    assert "(Europe/Paris)" in page.text
    [session] = await live_sessions(owner_db, created["bookingId"])
    assert session.meeting_url is not None
    assert f'href="{session.meeting_url}" rel="noreferrer"' in page.text

    ics = await browser.get("/book/calendar.ics")
    assert ics.status_code == 200
    assert ics.headers["content-type"].startswith("text/calendar")
    assert ics.headers["content-disposition"] == 'attachment; filename="session.ics"'
    assert ics.headers["cache-control"] == "no-store"
    raw = ics.content
    assert raw.endswith(b"END:VCALENDAR\r\n")
    assert b"\n" not in raw.replace(b"\r\n", b"")  # every line ends in CRLF
    assert all(len(line) <= 75 for line in raw.split(b"\r\n"))
    text = raw.decode().replace("\r\n ", "")  # unfold
    start = slot["start"].replace("-", "").replace(":", "")
    assert f"\r\nDTSTART:{start}\r\n" in text
    assert re.search(r"\r\nDTEND:\d{8}T\d{6}Z\r\n", text)
    assert re.search(r"\r\nDTSTAMP:\d{8}T\d{6}Z\r\n", text)
    assert f"\r\nUID:{session.id}@sessionbook\r\n" in text
    assert "\r\nSUMMARY:Discovery call\r\n" in text
    assert f"\r\nURL:{session.meeting_url}\r\n" in text
    assert "\r\nLOCATION:" in text
    [event] = Calendar.from_ical(raw).walk("VEVENT")
    assert event.decoded("DTSTART") == datetime.fromisoformat(slot["start"])
    assert str(event["UID"]) == f"{session.id}@sessionbook"
    assert created["bookingToken"] not in text


async def test_calendar_file_needs_a_scheduled_session(browser: httpx.AsyncClient) -> None:
    created = await create_booking(browser, FREE)
    await open_link(browser, created["bookingToken"])

    response = await browser.get("/book/calendar.ics")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "booking_not_schedulable"


async def test_posts_without_csrf_or_from_elsewhere_are_refused(
    browser: httpx.AsyncClient, owner_db: Database
) -> None:
    created = await create_booking(browser, FREE)
    await open_link(browser, created["bookingToken"])
    slot = await first_slot(browser)
    body = {"startTime": slot["start"], "endTime": slot["end"]}
    csrf = await page_csrf(browser)

    no_token = await browser.post("/book/api/schedule", json=body)
    wrong_token = await post_json(browser, "/book/api/schedule", body, csrf="x" * 43)
    other_site = await browser.post(
        "/book/api/schedule",
        json=body,
        headers={"X-CSRF-Token": csrf, "Origin": "https://evil.example"},
    )
    cross_site_fetch = await browser.post(
        "/book/api/cancel", json={}, headers={"X-CSRF-Token": csrf, "Sec-Fetch-Site": "cross-site"}
    )

    opaque_from_elsewhere = await browser.post(
        "/book/api/cancel",
        json={},
        headers={"X-CSRF-Token": csrf, "Origin": "null", "Sec-Fetch-Site": "cross-site"},
    )
    sibling_site = await browser.post(
        "/book/api/cancel", json={}, headers={"X-CSRF-Token": csrf, "Sec-Fetch-Site": "same-site"}
    )

    for response in (
        no_token,
        wrong_token,
        other_site,
        cross_site_fetch,
        opaque_from_elsewhere,
        sibling_site,
    ):
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "csrf_failed"
    assert (await booking_row(owner_db, created["bookingId"])).status == "paid"
    # The page's own request as Chromium sends it under Referrer-Policy: no-referrer.
    same_origin = await browser.post(
        "/book/api/schedule",
        json=body,
        headers={"X-CSRF-Token": csrf, "Origin": "null", "Sec-Fetch-Site": "same-origin"},
    )
    assert same_origin.status_code == 200, same_origin.text


async def test_schedule_errors_use_the_contract_body(
    browser: httpx.AsyncClient, owner_db: Database
) -> None:
    created = await create_booking(browser, PAID)
    await open_link(browser, created["bookingToken"])
    csrf = await page_csrf(browser)
    start = (datetime.now(UTC) + timedelta(days=3)).replace(minute=0, second=0, microsecond=0)
    times = {"startTime": start.isoformat(), "endTime": (start + timedelta(hours=1)).isoformat()}

    unpaid = await post_json(browser, "/book/api/schedule", times, csrf=csrf)
    unknown_field = await post_json(
        browser, "/book/api/schedule", times | {"bookingToken": "x"}, csrf=csrf
    )
    await set_booking(
        owner_db, created["bookingId"], expires_at=datetime.now(UTC) - timedelta(minutes=1)
    )
    expired = await browser.get(
        "/book/api/slots", params={"start": "2030-01-01", "end": "2030-01-02"}
    )

    assert unpaid.status_code == 402
    assert unpaid.json()["error"]["code"] == "payment_required"
    assert unknown_field.status_code == 400
    assert unknown_field.json()["error"]["fields"] == {"bookingToken": "is not a known field"}
    assert expired.status_code == 410
    assert expired.json()["error"]["code"] == "booking_expired"


async def test_cancel_through_the_page(browser: httpx.AsyncClient, owner_db: Database) -> None:
    created = await create_booking(browser, FREE)
    await open_link(browser, created["bookingToken"])
    slot = await first_slot(browser, from_day=3)  # well outside the cancellation cutoff
    csrf = await page_csrf(browser)
    times = {"startTime": slot["start"], "endTime": slot["end"]}
    assert (await post_json(browser, "/book/api/schedule", times, csrf=csrf)).status_code == 200
    confirmed = await browser.get("/book")
    assert 'data-testid="cancel-booking"' in confirmed.text

    response = await post_json(browser, "/book/api/cancel", {}, csrf=csrf)

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "cancelled"
    page = await browser.get("/book")
    assert 'data-view="cancelled"' in page.text
    assert (await booking_row(owner_db, created["bookingId"])).status == "cancelled"


async def test_reschedule_through_the_page(browser: httpx.AsyncClient, owner_db: Database) -> None:
    created = await create_booking(browser, FREE)
    await open_link(browser, created["bookingToken"])
    first = await first_slot(browser, from_day=3)
    csrf = await page_csrf(browser)
    times = {"startTime": first["start"], "endTime": first["end"]}
    assert (await post_json(browser, "/book/api/schedule", times, csrf=csrf)).status_code == 200
    later = await first_slot(browser, from_day=10)

    moved = await post_json(
        browser,
        "/book/api/reschedule",
        {"startTime": later["start"], "endTime": later["end"], "timezone": "Asia/Tokyo"},
        csrf=csrf,
    )
    again = await post_json(browser, "/book/api/schedule", times, csrf=csrf)

    assert moved.status_code == 200, moved.text
    assert moved.json()["scheduledStart"] == later["start"]
    row = await booking_row(owner_db, created["bookingId"])
    assert (row.status, row.customer_timezone) == ("scheduled", "Asia/Tokyo")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "booking_not_schedulable"
