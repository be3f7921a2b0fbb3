"""Rough edges of the booking pages found in a walkthrough, each pinned over real HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest

from sessionbook.core.db import Database
from tests.conftest import DatabaseUnderTest, RunningServer, run_server
from tests.support.queries import set_booking, start_of_a_fresh_window
from tests.web.browser import FREE, PAID, create_booking, open_link

GARBAGE = "garbage"


@pytest.fixture
async def browser(server: RunningServer) -> AsyncIterator[httpx.AsyncClient]:
    async with server.client() as client:
        yield client


async def test_a_garbage_link_keeps_the_booking_this_browser_already_has(
    browser: httpx.AsyncClient,
) -> None:
    created = await create_booking(browser, FREE)
    await open_link(browser, created["bookingToken"])

    garbage = await browser.get("/book", params={"token": GARBAGE})

    assert garbage.status_code == 404
    assert "We can't find this booking" in garbage.text
    assert "sb_booking" not in garbage.headers.get("set-cookie", "")
    assert browser.cookies["sb_booking"] == created["bookingToken"]
    assert 'href="/book"' in garbage.text  # the way back to the booking this browser holds
    again = await browser.get("/book")
    assert again.status_code == 200
    assert 'data-view="schedule"' in again.text


async def test_garbage_links_count_as_bad_tokens(test_db: DatabaseUnderTest) -> None:
    with run_server(test_db, rate_limits="on") as server:
        async with server.client() as client:
            await start_of_a_fresh_window(600)
            created = await create_booking(client, FREE)
            misses = [
                (await client.get("/book", params={"token": f"{GARBAGE}{n}"})).status_code
                for n in range(20)
            ]
            limited = await client.get("/book", params={"token": created["bookingToken"]})

    assert misses == [404] * 20
    assert limited.status_code == 429
    assert "Please wait a moment" in limited.text
    assert "sb_booking" not in limited.headers.get("set-cookie", "")


BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
NOT_FOUND_JSON = {"error": {"code": "not_found", "message": "There is nothing at this address."}}


async def test_a_browser_on_an_unknown_path_gets_a_page(browser: httpx.AsyncClient) -> None:
    page = await browser.get("/no-such-page", headers={"Accept": BROWSER_ACCEPT})

    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "<h1>Page not found</h1>" in page.text
    assert 'href="/"' in page.text


@pytest.mark.parametrize(
    "headers",
    [{}, {"Accept": "application/json"}, {"Accept": "*/*"}, {"Accept": BROWSER_ACCEPT}],
    ids=["none", "json", "anything", "browser-on-the-api"],
)
async def test_api_clients_still_get_the_json_not_found(
    browser: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    path = "/functions/v1/nope" if headers.get("Accept") == BROWSER_ACCEPT else "/no-such-page"

    response = await browser.get(path, headers=headers)

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"
    assert response.json() == NOT_FOUND_JSON


async def test_favicon_is_served_with_caching_and_linked_from_the_pages(
    browser: httpx.AsyncClient,
) -> None:
    icon = await browser.get("/favicon.ico")
    page = await browser.get("/")

    assert icon.status_code == 200
    assert icon.headers["content-type"] == "image/x-icon"
    assert icon.content[:4] == b"\x00\x00\x01\x00"  # an ICO header
    assert "max-age=" in icon.headers["cache-control"]
    assert icon.headers["cache-control"].startswith("public")
    assert '<link rel="icon" href="/favicon.ico"' in page.text


CANCELLED_AT = datetime(2026, 11, 20, 23, 30, tzinfo=UTC)


async def test_the_cancelled_page_says_what_was_refunded_and_when(
    browser: httpx.AsyncClient, owner_db: Database
) -> None:
    created = await create_booking(browser, PAID)
    await set_booking(
        owner_db,
        created["bookingId"],
        status="cancelled",
        payment_status="refunded",
        refunded_cents=15000,
        cancelled_at=CANCELLED_AT,
        customer_timezone="Asia/Tokyo",
    )

    page = await open_link(browser, created["bookingToken"])

    assert 'data-view="cancelled"' in page.text
    assert "Cancelled on 21 November 2026." in page.text  # the day in the customer's zone
    assert "$150.00 has been refunded" in page.text


async def test_a_cancelled_free_call_shows_its_date_and_no_money(
    browser: httpx.AsyncClient, owner_db: Database
) -> None:
    created = await create_booking(browser, FREE)
    await set_booking(owner_db, created["bookingId"], status="cancelled", cancelled_at=CANCELLED_AT)

    page = await open_link(browser, created["bookingToken"])

    assert "Cancelled on 20 November 2026." in page.text
    assert "$" not in page.text


def head_of(html: str) -> str:
    return html[: html.index("</head>")]


async def test_without_javascript_the_waiting_page_reloads_itself(
    browser: httpx.AsyncClient,
) -> None:
    created = await create_booking(browser, PAID)

    page = await open_link(browser, created["bookingToken"])

    assert 'data-view="waiting"' in page.text
    assert "moves on by itself" in page.text
    # Only without JavaScript: with it, the page polls the status and moves on sooner.
    assert '<noscript><meta http-equiv="refresh" content="10"></noscript>' in head_of(page.text)


async def test_pages_that_do_not_wait_do_not_reload(browser: httpx.AsyncClient) -> None:
    created = await create_booking(browser, FREE)

    page = await open_link(browser, created["bookingToken"])

    assert 'data-view="schedule"' in page.text
    assert 'http-equiv="refresh"' not in page.text
