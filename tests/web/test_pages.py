"""The booking pages over real HTTP: package choice, details form, token cookie and views."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from sessionbook.bookings.models import Booking
from sessionbook.core.db import SERVICE, Database
from tests.conftest import DatabaseUnderTest, RunningServer, run_server, separate_database
from tests.support.queries import booking_row, set_booking
from tests.web.browser import FREE, PAID, create_booking, open_link, page_csrf, post_details

DETAILS = {"package": "single", "name": "Ada Lovelace", "email": "ada@example.com"}


@pytest.fixture
async def browser(server: RunningServer) -> AsyncIterator[httpx.AsyncClient]:
    async with server.client() as client:
        yield client


async def count_bookings(database: Database) -> int:
    async with database.transaction(SERVICE) as session:
        return int((await session.execute(select(func.count()).select_from(Booking))).scalar_one())


async def test_packages_come_from_the_catalog_with_prices_and_sandbox_banner(
    browser: httpx.AsyncClient,
) -> None:
    page = await browser.get("/")

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert 'data-testid="sandbox-banner"' in page.text
    for title, price in (
        ("Discovery call", "Free"),
        ("Single session", "$150.00"),
        ("Monthly package", "$500.00"),
        ("Quarterly package", "$1,350.00"),
    ):
        assert title in page.text
        assert price in page.text
    assert "<fieldset" in page.text
    assert "<legend>Choose a package</legend>" in page.text
    assert "4 sessions of 1 hour, within 31 days" in page.text
    assert "12 sessions of 1 hour, within 92 days" in page.text


async def test_the_details_of_a_package_of_several_sessions_say_how_many(
    browser: httpx.AsyncClient,
) -> None:
    page = await browser.get("/book/details", params={"package": "monthly"})

    assert page.status_code == 200
    assert (
        '<span data-testid="summary-gives">4 sessions of 1 hour, within 31 days</span>' in page.text
    )


async def test_catalog_currency_is_formatted_from_cents(
    test_db: DatabaseUnderTest, tmp_path: Path
) -> None:
    catalog = '{"single": {"priceCents": 12345, "currency": "EUR"}, "monthly": {"currency": "JPY"}}'
    async with separate_database(test_db, tmp_path, catalog=catalog) as seeded:
        with run_server(seeded) as running:
            async with running.client() as client:
                page = await client.get("/")
    assert "€123.45" in page.text
    assert "¥50,000" in page.text


async def test_unknown_package_goes_back_to_the_choice(browser: httpx.AsyncClient) -> None:
    page = await browser.get("/book/details", params={"package": "platinum"})

    assert page.status_code == 400
    assert "Choose a package to continue." in page.text


async def test_token_link_is_traded_for_an_httponly_cookie_and_a_clean_url(
    browser: httpx.AsyncClient,
) -> None:
    created = await create_booking(browser, FREE)
    token = created["bookingToken"]

    trade = await browser.get("/book", params={"token": token})

    assert trade.status_code == 303
    assert trade.headers["location"] == "/book"
    cookie = trade.headers["set-cookie"]
    assert cookie.startswith(f"sb_booking={token};")
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Path=/book" in cookie
    assert "Secure" not in cookie  # plain http on 127.0.0.1: a Secure cookie would be dropped
    page = await browser.get("/book")
    assert page.status_code == 200
    assert 'data-view="schedule"' in page.text
    assert token not in page.text
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["referrer-policy"] == "no-referrer"


async def test_details_form_creates_the_booking_and_redirects_to_payment(
    browser: httpx.AsyncClient, owner_db: Database
) -> None:
    response = await post_details(browser, DETAILS)

    assert response.status_code == 303
    payment_url = response.headers["location"]
    assert "/sandbox/airwallex/pay/" in payment_url
    cookie = response.headers["set-cookie"]
    assert "sb_booking=" in cookie
    assert "HttpOnly" in cookie
    token = browser.cookies["sb_booking"]
    assert token not in payment_url
    page = await browser.get("/book")
    assert 'data-view="waiting"' in page.text
    assert payment_url in page.text
    assert 'rel="noreferrer"' in page.text
    assert token not in page.text


async def test_free_package_skips_payment(browser: httpx.AsyncClient) -> None:
    response = await post_details(browser, DETAILS | {"package": "discovery"})

    assert response.status_code == 303
    assert response.headers["location"] == "/book"
    page = await browser.get("/book")
    assert 'data-view="schedule"' in page.text
    assert "Your free discovery call is reserved." in page.text


async def test_invalid_details_are_shown_next_to_their_fields_and_kept(
    browser: httpx.AsyncClient, owner_db: Database
) -> None:
    before = await count_bookings(owner_db)
    fields = {"package": "single", "name": " A ", "email": "not-an-email", "phone": "9" * 41}

    response = await post_details(browser, fields | {"notes": "x" * 1001})

    assert response.status_code == 400
    page = response.text
    assert 'data-testid="error-name">Please enter at least 2 characters.<' in page
    assert 'data-testid="error-email">Please enter a valid email address' in page
    assert 'data-testid="error-phone">Please use at most 40 characters.<' in page
    assert 'data-testid="error-notes">Please use at most 1000 characters.<' in page
    assert 'value="not-an-email"' in page
    assert page.count('aria-invalid="true"') == 4
    assert await count_bookings(owner_db) == before


async def test_details_post_without_the_csrf_token_is_refused(
    browser: httpx.AsyncClient, owner_db: Database
) -> None:
    await page_csrf(browser, "/book/details?package=single")
    before = await count_bookings(owner_db)

    missing = await post_details(browser, DETAILS, csrf="")
    forged = await post_details(browser, DETAILS, csrf="x" * 43)
    cross_site = await browser.post(
        "/book/details",
        data=DETAILS | {"csrf_token": browser.cookies["sb_csrf"]},
        headers={"Origin": "https://evil.example"},
    )

    for response in (missing, forged, cross_site):
        assert response.status_code == 403
        assert "Your session had expired" in response.text
        assert 'value="Ada Lovelace"' in response.text  # nothing typed is lost
    assert await count_bookings(owner_db) == before


async def test_payment_provider_down_keeps_the_form_and_books_nothing(
    browser: httpx.AsyncClient, server: RunningServer, owner_db: Database
) -> None:
    fault = {"path_prefix": "/api/v1/pa/payment_links/create", "status": 503, "count": 10}
    async with server.client() as control:
        added = await control.post("/sandbox/airwallex/_sandbox/faults", json=fault)
        assert added.status_code == 201
        try:
            response = await post_details(browser, DETAILS)
        finally:
            await control.delete("/sandbox/airwallex/_sandbox/faults")

    assert response.status_code == 502
    assert "nothing was booked or charged" in response.text
    assert 'value="ada@example.com"' in response.text
    assert "sb_booking" not in browser.cookies


async def test_unknown_or_mistyped_link_says_so_and_forgets_the_cookie(
    browser: httpx.AsyncClient,
) -> None:
    created = await create_booking(browser, FREE)
    mistyped = created["bookingToken"][:-1] + ("A" if created["bookingToken"][-1] != "A" else "B")

    page = await open_link(browser, mistyped)

    assert page.status_code == 404
    assert "We can't find this booking" in page.text
    assert "sb_booking" not in browser.cookies
    assert mistyped not in page.text
    nothing = await browser.get("/book")
    assert "No booking in this browser yet" in nothing.text


async def test_expired_booking_offers_to_start_again(
    browser: httpx.AsyncClient, owner_db: Database
) -> None:
    created = await create_booking(browser, PAID)
    await set_booking(
        owner_db, created["bookingId"], expires_at=datetime.now(UTC) - timedelta(minutes=1)
    )

    page = await open_link(browser, created["bookingToken"])

    assert 'data-view="expired"' in page.text
    assert 'href="/book/details?package=single"' in page.text
    assert (await booking_row(owner_db, created["bookingId"])).status == "expired"


async def test_failed_payment_offers_the_same_link_again(
    browser: httpx.AsyncClient, owner_db: Database
) -> None:
    created = await create_booking(browser, PAID)
    await set_booking(owner_db, created["bookingId"], payment_status="failed")

    page = await open_link(browser, created["bookingToken"])

    assert 'data-view="payment-failed"' in page.text
    assert f'href="{created["paymentUrl"]}" rel="noreferrer"' in page.text


async def test_with_live_payments_the_details_form_may_redirect_to_airwallex(
    test_db: DatabaseUnderTest,
) -> None:
    live = {
        "airwallex_client_id": "live-id",
        "airwallex_api_key": "live-key",
        "airwallex_webhook_secret": "live-secret",
    }
    with run_server(test_db, **live) as running:
        async with running.client() as client:
            details = await client.get("/book/details", params={"package": "single"})
            choice = await client.get("/")

    # Browsers check form-action on the redirect after the POST, and only the payment link
    # knows Airwallex's page host; every other page keeps form-action to itself.
    assert form_action(details) == "form-action 'self' https:"
    assert form_action(choice).split() == ["form-action", "'self'"]
    assert "Airwallex's secure payment page" in details.text


def form_action(response: httpx.Response) -> str:
    directives = response.headers["content-security-policy"].split(";")
    return next(d.strip() for d in directives if d.strip().startswith("form-action"))
