"""The brand over HTTP: the coach sets it in the admin, customers see it on the next page.

One server on a database of its own per backend; the tests run in order, from a fresh install
to a configured brand, the way a coach would go.
"""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from sessionbook.branding.models import Brand
from sessionbook.core.db import ADMIN, Database
from tests.branding.images import CAMERA, jpeg_with_exif, png
from tests.conftest import DatabaseUnderTest, RunningServer, run_server, separate_database
from tests.operations.support import ADMIN_SETTINGS, csrf_of, sign_in

BRAND = {
    "business_name": "Anna Coaching",
    "coach_name": "Coach Anna",
    "bio": "I help people find their footing.",
    "accent_color": "#8a2f5d",
    "support_email": "help@anna.example.com",
    "default_language": "en",
}
NO_FILE = {"photo": ("", b"", "application/octet-stream")}


@pytest.fixture(scope="module")
async def brand_db(
    test_db: DatabaseUnderTest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[DatabaseUnderTest]:
    async with separate_database(test_db, tmp_path_factory.mktemp("brand-pages")) as database:
        yield database


@pytest.fixture(scope="module")
def coach_server(brand_db: DatabaseUnderTest) -> Iterator[RunningServer]:
    with run_server(brand_db, **ADMIN_SETTINGS) as running:
        yield running


@pytest.fixture(scope="module")
async def owner(brand_db: DatabaseUnderTest) -> AsyncIterator[Database]:
    database = Database(brand_db.owner_url)
    yield database
    await database.dispose()


@pytest.fixture
async def coach(coach_server: RunningServer) -> AsyncIterator[httpx.AsyncClient]:
    async with coach_server.client() as client:
        answer = await sign_in(client)
        assert answer.status_code == 303, answer.text
        yield client


@pytest.fixture
async def customer(coach_server: RunningServer) -> AsyncIterator[httpx.AsyncClient]:
    async with coach_server.client() as client:
        yield client


async def save_brand(
    coach: httpx.AsyncClient, files: dict[str, Any] | None = None, **fields: str
) -> httpx.Response:
    """Submit the brand form as the browser does: multipart, with the page's CSRF token."""
    page = await coach.get("/admin/brand")
    assert page.status_code == 200, page.text
    data = {"csrf_token": csrf_of(page.text), **BRAND, **fields}
    return await coach.post("/admin/brand", data=data, files=files or NO_FILE)


async def stored(owner: Database) -> tuple[Any, ...]:
    async with owner.transaction(ADMIN) as session:
        return tuple((await session.execute(select(Brand.__table__))).one())


def field_error(page: str, field: str) -> str:
    found = re.search(rf'<p class="field-error" id="{field}-error">([^<]*)</p>', page)
    assert found, f"no error shown for {field}"
    return html.unescape(found.group(1))


def header_of(page: str) -> str:
    found = re.search(r'<header class="site-header">(.*?)</header>', page, re.S)
    assert found, "the page has no header"
    return found.group(1)


async def test_a_fresh_install_looks_neutral_and_never_says_sessionbook(
    customer: httpx.AsyncClient,
) -> None:
    for path in ("/", "/book/details?package=single", "/book", "/no-such-page"):
        page = await customer.get(path, headers={"Accept": "text/html"})
        assert "sessionbook" not in page.text.lower(), path
        assert "Book a session" in header_of(page.text), path
    home = await customer.get("/")

    # Nothing to sign with yet: the title is the page's own, not a repeat of the header.
    assert "<title>Choose a package</title>" in home.text
    assert 'data-accent="#2f5d8a"' in home.text
    assert 'data-testid="coach-card"' not in home.text
    assert "/brand/photo" not in home.text
    assert (await customer.get("/brand/photo")).status_code == 404


async def test_the_dashboard_hints_at_the_brand_until_it_is_set(coach: httpx.AsyncClient) -> None:
    dashboard = await coach.get("/admin")

    assert 'id="brand-hint"' in dashboard.text
    assert "Set your business name, photo and colours" in dashboard.text
    assert 'href="/admin/brand"' in dashboard.text


async def test_the_brand_page_is_for_the_signed_in_coach_only(
    coach: httpx.AsyncClient, customer: httpx.AsyncClient, owner: Database
) -> None:
    before = await stored(owner)

    page = await coach.get("/admin/brand")
    shown_to_stranger = await customer.get("/admin/brand")
    posted_by_stranger = await customer.post("/admin/brand", data=BRAND, files=NO_FILE)

    # Fails if the router loses ADMIN_DEPENDENCIES: nobody would be signed in, not even the coach.
    assert page.status_code == 200
    assert 'enctype="multipart/form-data"' in page.text
    assert shown_to_stranger.status_code == 303
    assert shown_to_stranger.headers["location"] == "/admin/login"
    assert posted_by_stranger.status_code == 303
    assert await stored(owner) == before


async def test_a_save_without_the_csrf_token_or_from_elsewhere_changes_nothing(
    coach: httpx.AsyncClient, owner: Database
) -> None:
    before = await stored(owner)
    token = csrf_of((await coach.get("/admin/brand")).text)

    no_token = await coach.post("/admin/brand", data=BRAND, files=NO_FILE)
    wrong_token = await coach.post(
        "/admin/brand", data={**BRAND, "csrf_token": "x" * 43}, files=NO_FILE
    )
    elsewhere = await coach.post(
        "/admin/brand",
        data={**BRAND, "csrf_token": token},
        files=NO_FILE,
        headers={"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
    )

    assert [no_token.status_code, wrong_token.status_code, elsewhere.status_code] == [403] * 3
    assert await stored(owner) == before


async def test_a_bad_field_shows_the_form_again_with_the_values_kept_and_the_field_named(
    coach: httpx.AsyncClient, owner: Database
) -> None:
    before = await stored(owner)

    answer = await save_brand(coach, accent_color="#ffff00", support_email="nope")

    assert answer.status_code == 400
    assert "contrast of 1.07:1 against white" in field_error(answer.text, "accent_color")
    assert "valid email" in field_error(answer.text, "support_email")
    assert 'value="Anna Coaching"' in answer.text
    assert 'value="#ffff00"' in answer.text
    assert "I help people find their footing.</textarea>" in answer.text
    assert await stored(owner) == before


async def test_a_photo_over_2_mb_or_not_an_image_is_named_in_the_form(
    coach: httpx.AsyncClient, owner: Database
) -> None:
    before = await stored(owner)
    too_big = png(16, 16) + b"\x00" * (2 * 1024 * 1024)

    big = await save_brand(coach, files={"photo": ("me.png", too_big, "image/png")})
    text = await save_brand(coach, files={"photo": ("me.png", b"just text\n" * 50, "image/png")})

    # Refused by the form, not by the 64 KB body limit every other address has.
    assert big.status_code == 400
    assert "larger than 2 MB" in field_error(big.text, "photo")
    assert text.status_code == 400
    assert "PNG, JPEG or WebP" in field_error(text.text, "photo")
    assert await stored(owner) == before


async def test_other_addresses_keep_the_64_kb_body_limit(customer: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(70):
            yield b"x" * 1024

    # Streamed without a length, so the server reads what it refuses and answers cleanly.
    answer = await customer.post(
        "/admin/packages/new",
        content=chunks(),
        headers={"Content-Type": "multipart/form-data; boundary=x"},
    )

    assert answer.status_code == 413


async def test_a_saved_brand_shows_on_the_next_page_load_without_a_restart(
    coach: httpx.AsyncClient, customer: httpx.AsyncClient
) -> None:
    saved = await save_brand(coach, files={"photo": ("me.jpg", jpeg_with_exif(), "image/jpeg")})
    assert saved.status_code == 303, saved.text
    assert saved.headers["location"] == "/admin/brand?done=saved"

    for path in ("/", "/book/details?package=single", "/book"):
        page = (await customer.get(path)).text
        header = header_of(page)
        photo = re.search(r'<img class="brand-photo" src="(/brand/photo\?v=[0-9a-f]{64})"', header)
        assert photo, path
        assert 'alt="Coach Anna"' in header
        assert "Anna Coaching" in header
        assert " · Anna Coaching</title>" in page
        assert 'data-accent="#8a2f5d"' in page
        assert 'href="/brand/theme.css?v=8a2f5d"' in page
        assert 'href="mailto:help@anna.example.com"' in page
        assert "sessionbook" not in page.lower()
    home = (await customer.get("/")).text
    card = re.search(r'<aside class="coach-card".*?</aside>', home, re.S)
    assert card
    assert "Coach Anna" in card.group(0)
    assert "I help people find their footing." in card.group(0)
    assert 'alt="Photo of Coach Anna"' in card.group(0)
    theme = await customer.get("/brand/theme.css?v=8a2f5d")
    assert theme.headers["content-type"].startswith("text/css")
    assert "--accent: #8a2f5d;" in theme.text
    assert "immutable" in theme.headers["cache-control"]
    assert 'id="brand-hint"' not in (await coach.get("/admin")).text


async def test_the_photo_is_served_with_caching_headers_and_answers_304(
    customer: httpx.AsyncClient,
) -> None:
    home = (await customer.get("/")).text
    found = re.search(r'src="(/brand/photo\?v=([0-9a-f]{64}))"', home)
    assert found
    url, version = found.groups()

    photo = await customer.get(url)
    again = await customer.get(url, headers={"If-None-Match": photo.headers["etag"]})
    unversioned = await customer.get("/brand/photo")
    outdated = await customer.get("/brand/photo?v=" + "0" * 64)

    assert photo.status_code == 200
    assert photo.headers["content-type"] == "image/webp"
    assert photo.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert photo.headers["etag"] == f'"{version}"'
    assert photo.headers["x-content-type-options"] == "nosniff"
    assert photo.content.startswith(b"RIFF")
    assert CAMERA.encode() not in photo.content
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == f'"{version}"'
    for short in (unversioned, outdated):
        assert short.status_code == 200
        assert short.headers["cache-control"] == "public, max-age=60"
        assert short.content == photo.content


async def test_the_sandbox_pay_page_names_the_coach(customer: httpx.AsyncClient) -> None:
    created = await customer.post(
        "/functions/v1/booking-create",
        json={"packageId": "single", "customerName": "Ada Payer", "customerEmail": "ada@x.org"},
    )
    assert created.status_code == 201, created.text

    pay_page = await customer.get(created.json()["paymentUrl"])

    title = re.search(
        r'<h1 class="link-title" data-testid="link-title">([^<]*)</h1>', pay_page.text
    )
    assert title
    assert html.unescape(title.group(1)) == "Anna Coaching · Single session"


async def test_removing_the_photo_takes_it_off_every_page(
    coach: httpx.AsyncClient, customer: httpx.AsyncClient
) -> None:
    answer = await save_brand(coach, remove_photo="on")

    assert answer.status_code == 303
    assert "/brand/photo" not in (await customer.get("/")).text
    assert (await customer.get("/brand/photo")).status_code == 404
