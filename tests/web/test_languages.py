"""The pages in the customer's language: negotiation, the switcher and its cookie, over HTTP."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from sessionbook.core.db import Database
from sessionbook.http.language import install_default_locale
from tests.conftest import DatabaseUnderTest, RunningServer, run_server, separate_database
from tests.support.queries import booking_row, set_booking
from tests.web.browser import FREE, PAID, create_booking, open_link, post_details

FRENCH = {"Accept-Language": "fr-CH, fr;q=0.9, en;q=0.8"}
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
ONE_YEAR = 365 * 24 * 3600
NBSP = "\u00a0"


@pytest.fixture
async def browser(server: RunningServer) -> AsyncIterator[httpx.AsyncClient]:
    async with server.client() as client:
        yield client


def html_lang(html: str) -> str:
    match = re.search(r'<html lang="([^"]*)"', html)
    assert match, "no <html lang>"
    return match.group(1)


def switcher_links(html: str) -> dict[str, str]:
    found = re.findall(r'<a href="([^"]*)" lang="(\w+)" hreflang', html)
    return {locale: href.replace("&amp;", "&") for href, locale in found}


async def test_a_french_browser_gets_the_page_in_french(browser: httpx.AsyncClient) -> None:
    page = await browser.get("/", headers=FRENCH)

    assert page.status_code == 200
    assert html_lang(page.text) == "fr"
    assert "<legend>Choisissez une formule</legend>" in page.text
    assert "Gratuit" in page.text
    assert f"150,00{NBSP}$US" in page.text
    assert "4 séances de 1 heure, à réserver sous 31 jours" in page.text
    assert "set-cookie" not in page.headers or "lang=" not in page.headers["set-cookie"]


async def test_without_a_french_preference_the_page_stays_english(
    browser: httpx.AsyncClient,
) -> None:
    page = await browser.get("/", headers={"Accept-Language": "de-DE, en;q=0.5"})

    assert html_lang(page.text) == "en"
    assert "<legend>Choose a package</legend>" in page.text
    assert "$150.00" in page.text


@pytest.mark.parametrize(
    "header",
    ["garbage;;q=x, fr;q=abc", "*", "fr;q=2", "x" * 500, ", , ;", "zz-ZZ;q=0.9"],
)
async def test_an_unreadable_accept_language_gives_english(
    browser: httpx.AsyncClient, header: str
) -> None:
    page = await browser.get("/", headers={"Accept-Language": header})

    assert page.status_code == 200
    assert html_lang(page.text) == "en"


async def test_the_switcher_overrides_the_browser_and_is_remembered(
    browser: httpx.AsyncClient,
) -> None:
    page = await browser.get("/", params={"lang": "en"}, headers=FRENCH)

    assert page.status_code == 200
    assert html_lang(page.text) == "en"
    cookie = page.headers["set-cookie"]
    assert cookie.startswith("lang=en;")
    assert f"Max-Age={ONE_YEAR}" in cookie
    assert "Path=/;" in cookie or cookie.endswith("Path=/")
    assert "SameSite=lax" in cookie
    assert "HttpOnly" not in cookie

    later = await browser.get("/book/details", params={"package": "single"}, headers=FRENCH)

    assert html_lang(later.text) == "en"
    assert "How can we reach you?" in later.text
    assert "lang=" not in later.headers.get("set-cookie", "")

    switched = await browser.get("/", params={"lang": "fr"})

    assert html_lang(switched.text) == "fr"
    assert switched.headers["set-cookie"].startswith("lang=fr;")
    assert html_lang((await browser.get("/book")).text) == "fr"


@pytest.mark.parametrize(
    "asked", ["de", "fr\r\nSet-Cookie: evil=1", "<script>", "", "en-US-extra-long-tag-" * 20]
)
async def test_an_unknown_lang_parameter_changes_nothing(
    browser: httpx.AsyncClient, asked: str
) -> None:
    page = await browser.get("/", params={"lang": asked}, headers=FRENCH)

    assert page.status_code == 200
    assert html_lang(page.text) == "fr"
    assert "set-cookie" not in page.headers
    assert "evil" not in str(page.headers)


async def test_the_switcher_links_keep_the_query_and_mark_the_current_language(
    browser: httpx.AsyncClient,
) -> None:
    page = await browser.get("/book/details", params={"package": "monthly", "lang": "fr"})

    links = switcher_links(page.text)
    assert links == {
        "en": "/book/details?package=monthly&lang=en",
        "fr": "/book/details?package=monthly&lang=fr",
    }
    assert re.search(r'hreflang="fr" aria-current="true"[^>]*>Français</a>', page.text)
    assert not re.search(r'hreflang="en" aria-current', page.text)


async def test_the_switcher_never_copies_a_booking_token_into_its_links(
    browser: httpx.AsyncClient,
) -> None:
    mistyped = "not-a-real-token-but-it-could-have-been-one"

    page = await browser.get("/book", params={"token": mistyped})

    assert page.status_code == 404
    assert switcher_links(page.text) == {"en": "/book?lang=en", "fr": "/book?lang=fr"}
    assert mistyped not in page.text


async def test_the_details_form_answered_with_errors_links_back_to_its_package(
    browser: httpx.AsyncClient,
) -> None:
    answer = await post_details(browser, {"package": "single", "name": "", "email": "nope"})

    assert answer.status_code == 400
    assert switcher_links(answer.text)["fr"] == "/book/details?package=single&lang=fr"


async def test_form_errors_are_in_the_page_language(browser: httpx.AsyncClient) -> None:
    await browser.get("/", params={"lang": "fr"})

    answer = await post_details(browser, {"package": "single", "name": "", "email": "nope"})

    assert answer.status_code == 400
    assert "Veuillez saisir votre nom." in answer.text
    assert "Veuillez saisir une adresse e-mail valide, par exemple nom@exemple.com." in answer.text
    assert "Veuillez corriger les champs signalés." in answer.text


async def test_the_scripts_text_comes_from_the_page_in_its_language(
    browser: httpx.AsyncClient,
) -> None:
    page = await browser.get("/book/details", params={"package": "single"}, headers=FRENCH)

    block = re.search(r'<script type="application/json" id="page-text">(.*?)</script>', page.text)
    assert block
    assert "Veuillez saisir votre nom." in block.group(1)
    script = (await browser.get("/static/book.js")).text
    assert "Please enter your name" not in script


async def test_the_not_found_page_speaks_french(browser: httpx.AsyncClient) -> None:
    page = await browser.get("/no-such-page", headers=FRENCH | {"Accept": BROWSER_ACCEPT})

    assert page.status_code == 404
    assert html_lang(page.text) == "fr"
    assert "<h1>Page introuvable</h1>" in page.text

    switched = await browser.get(
        "/no-such-page", params={"lang": "en"}, headers=FRENCH | {"Accept": BROWSER_ACCEPT}
    )
    assert "<h1>Page not found</h1>" in switched.text
    assert switched.headers["set-cookie"].startswith("lang=en;")


async def test_an_api_booking_keeps_the_requests_language(
    api: httpx.AsyncClient, owner_db: Database
) -> None:
    french = await api.post("/functions/v1/booking-create", json=FREE, headers=FRENCH)
    english = await api.post("/functions/v1/booking-create", json=FREE)
    remembered = await api.post(
        "/functions/v1/booking-create",
        json=FREE,
        headers={"Accept-Language": "en", "Cookie": "lang=fr"},
    )

    assert french.status_code == english.status_code == remembered.status_code == 201
    assert (await booking_row(owner_db, french.json()["bookingId"])).customer_locale == "fr"
    assert (await booking_row(owner_db, english.json()["bookingId"])).customer_locale == "en"
    assert (await booking_row(owner_db, remembered.json()["bookingId"])).customer_locale == "fr"


async def test_the_api_create_body_still_refuses_unknown_fields(api: httpx.AsyncClient) -> None:
    answer = await api.post("/functions/v1/booking-create", json=FREE | {"locale": "fr"})

    assert answer.status_code == 400


async def test_a_booking_made_on_the_french_pages_is_french(
    browser: httpx.AsyncClient, owner_db: Database
) -> None:
    await browser.get("/", params={"lang": "fr"})
    answer = await post_details(
        browser, {"package": "discovery", "name": "Ada Lovelace", "email": "ada@example.com"}
    )
    assert answer.status_code == 303

    page = await browser.get("/book")
    booking_id = await _booking_id(owner_db, "ada@example.com")

    assert html_lang(page.text) == "fr"
    assert (await booking_row(owner_db, booking_id)).customer_locale == "fr"


async def _booking_id(database: Database, email: str) -> str:
    from sqlalchemy import select

    from sessionbook.bookings.models import Booking
    from sessionbook.core.db import SERVICE

    async with database.transaction(SERVICE) as session:
        newest = (
            await session.execute(
                select(Booking.id)
                .where(Booking.customer_email == email)
                .order_by(Booking.created_at.desc())
                .limit(1)
            )
        ).scalar_one()
    return str(newest)


async def test_the_brands_default_language_decides_when_the_request_names_none(
    test_db: DatabaseUnderTest,
) -> None:
    asked = []

    async def brand_default() -> str:
        asked.append(True)
        return "fr"

    with run_server(test_db) as running:
        install_default_locale(running.app, brand_default)
        async with running.client() as client:
            unnamed = await client.get("/", headers={"Accept-Language": "de"})
            named = await client.get("/", headers={"Accept-Language": "en"})

    assert html_lang(unnamed.text) == "fr"
    assert html_lang(named.text) == "en"
    # Asked only for the request that named no language of ours.
    assert len(asked) == 1


async def test_a_french_customer_in_paris_sees_24_hour_times_and_euros(
    test_db: DatabaseUnderTest, tmp_path: Path
) -> None:
    start = datetime(2030, 6, 4, 13, 0, tzinfo=UTC)  # 15:00 in Paris (summer time)
    async with separate_database(test_db, tmp_path, currency="EUR") as seeded:
        owner = Database(seeded.owner_url)
        try:
            with run_server(seeded, currency="EUR") as running:
                async with running.client(headers=FRENCH) as client:
                    created = await create_booking(client, PAID)
                    await set_booking(
                        owner,
                        created["bookingId"],
                        status="scheduled",
                        payment_status="paid",
                        customer_timezone="Europe/Paris",
                        scheduled_start=start,
                        scheduled_end=start.replace(hour=14),
                    )
                    page = await open_link(client, created["bookingToken"])
        finally:
            await owner.dispose()

    assert html_lang(page.text) == "fr"
    assert "Votre séance est réservée" in page.text
    assert "mardi 4 juin 2030" in page.text
    assert "15:00\u2009\u2013\u200916:00" in page.text
    # No 12-hour clock anywhere on the page (a bare "PM" may sit inside a random token).
    assert not re.search(r"\d{1,2}:\d{2}(?:\s|\u202f)?[AP]M", page.text)
    assert f"Votre paiement de 150,00{NBSP}€ est intégralement remboursé." in page.text


async def test_an_english_customer_reads_a_12_hour_clock(
    browser: httpx.AsyncClient, owner_db: Database
) -> None:
    start = datetime(2030, 6, 4, 13, 0, tzinfo=UTC)
    created = await create_booking(browser, PAID)
    await set_booking(
        owner_db,
        created["bookingId"],
        status="scheduled",
        payment_status="paid",
        customer_timezone="Europe/Paris",
        scheduled_start=start,
        scheduled_end=start.replace(hour=14),
    )

    page = await open_link(browser, created["bookingToken"])

    assert html_lang(page.text) == "en"
    assert "Tuesday 4 June 2030" in page.text
    assert "3:00\u2009\u2013\u20094:00\u202fPM" in page.text
    assert "Your payment of $150.00 is refunded in full." in page.text


async def test_pages_tell_caches_what_their_language_depends_on(
    browser: httpx.AsyncClient,
) -> None:
    page = await browser.get("/", headers=FRENCH)
    missing = await browser.get("/no-such-page", headers={"Accept": BROWSER_ACCEPT})

    for answer in (page, missing):
        vary = {name.strip().lower() for name in answer.headers["vary"].split(",")}
        assert {"accept-language", "cookie"} <= vary


async def test_the_calendar_file_is_in_the_page_language(
    browser: httpx.AsyncClient, owner_db: Database
) -> None:
    start = datetime(2030, 6, 4, 13, 0, tzinfo=UTC)
    created = await create_booking(browser, PAID)
    await set_booking(
        owner_db,
        created["bookingId"],
        status="scheduled",
        payment_status="paid",
        scheduled_start=start,
        scheduled_end=start.replace(hour=14),
        meeting_url="https://meet.example.com/abc",
    )
    await open_link(browser, created["bookingToken"])

    french = await browser.get("/book/calendar.ics", headers=FRENCH)
    english = await browser.get("/book/calendar.ics")

    assert french.status_code == english.status_code == 200
    french_text = french.text.replace("\r\n ", "")
    english_text = english.text.replace("\r\n ", "")
    assert f"Référence de réservation {created['bookingId']}" in french_text
    assert f"Rejoindre{NBSP}: https://meet.example.com/abc" in french_text
    assert f"Join: https://meet.example.com/abc\\nBooking reference {created['bookingId']}" in (
        english_text
    )
