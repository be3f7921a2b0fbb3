"""Rough edges of the booking pages found in a walkthrough, each pinned over real HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.conftest import DatabaseUnderTest, RunningServer, run_server
from tests.support.queries import start_of_a_fresh_window
from tests.web.browser import FREE, create_booking, open_link

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
