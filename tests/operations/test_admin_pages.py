"""The /admin dashboard over HTTP on both databases: sign-in, views, search, audit trail."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import httpx
import pytest

from sessionbook.core.db import Database
from tests.conftest import DatabaseUnderTest, RunningServer, run_server
from tests.operations.support import (
    ADMIN_PASSWORD,
    ADMIN_SETTINGS,
    FREE,
    PAID,
    add_session,
    admin_post,
    create,
    csrf_of,
    later_today,
    pay,
    sign_in,
    with_changed_payload,
)
from tests.support.queries import booking_row, event_types, set_booking


@pytest.fixture(scope="module")
def admin_server(test_db: DatabaseUnderTest) -> Iterator[RunningServer]:
    with run_server(test_db, **ADMIN_SETTINGS) as running:
        yield running


@pytest.fixture
async def browser(admin_server: RunningServer) -> AsyncIterator[httpx.AsyncClient]:
    async with admin_server.client() as client:
        yield client


@pytest.fixture
async def signed_in(browser: httpx.AsyncClient) -> httpx.AsyncClient:
    answer = await sign_in(browser)
    assert answer.status_code == 303, answer.text
    return browser


def section(html: str, section_id: str) -> str:
    """The HTML of one `<section id=...>` of a page."""
    start = html.index(f'<section id="{section_id}"')
    return html[start : html.index("</section>", start)]


async def test_admin_does_not_exist_without_a_password_hash(api: httpx.AsyncClient) -> None:
    for path in ("/admin", "/admin/login", "/admin/bookings"):
        answer = await api.get(path)
        assert answer.status_code == 404
        assert answer.json()["error"]["code"] == "not_found"


async def test_customer_data_only_behind_the_login(browser: httpx.AsyncClient) -> None:
    await create(browser)
    for path in ("/admin", "/admin/bookings?q=paula", "/admin/bookings/" + "0" * 32):
        answer = await browser.get(path)
        assert answer.status_code == 303
        assert answer.headers["location"] == "/admin/login"
        assert "paula" not in answer.text


async def test_sign_in_sets_a_strict_http_only_session_cookie(browser: httpx.AsyncClient) -> None:
    answer = await sign_in(browser)

    assert answer.status_code == 303
    assert answer.headers["location"] == "/admin"
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith("sb_admin=")
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert "Path=/admin" in cookie
    assert "Max-Age=28800" in cookie
    assert "Secure" not in cookie  # plain http on loopback; any other site gets Secure
    dashboard = await browser.get("/admin")
    assert dashboard.status_code == 200
    assert dashboard.headers["cache-control"] == "no-store"


async def test_wrong_password_and_missing_csrf_are_refused(browser: httpx.AsyncClient) -> None:
    wrong = await sign_in(browser, password="not the password")
    assert wrong.status_code == 401
    assert "That password is not right." in wrong.text

    page = await browser.get("/admin/login")
    no_token = await browser.post("/admin/login", data={"password": ADMIN_PASSWORD})
    assert no_token.status_code == 403
    other_site = await browser.post(
        "/admin/login",
        data={"csrf_token": csrf_of(page.text), "password": ADMIN_PASSWORD},
        headers={"Origin": "https://evil.example"},
    )
    assert other_site.status_code == 403
    assert (await browser.get("/admin")).status_code == 303


async def test_a_forged_session_cookie_is_not_a_session(browser: httpx.AsyncClient) -> None:
    await sign_in(browser)
    assert (await browser.get("/admin")).status_code == 200
    # A cookie of our own with another CSRF token in it: well-formed, signature no longer fits.
    forged = with_changed_payload(browser.cookies["sb_admin"], csrf="chosen-by-the-attacker")
    browser.cookies.clear()
    browser.cookies.set("sb_admin", forged, path="/admin")
    assert (await browser.get("/admin")).status_code == 303


async def test_dashboard_answers_who_paid_who_waits_and_who_is_on_today(
    signed_in: httpx.AsyncClient, admin_server: RunningServer, owner_db: Database
) -> None:
    waiting = await create(signed_in, {**PAID, "customerEmail": "waiting@example.com"})
    paid = await create(signed_in, {**PAID, "customerEmail": "paid-only@example.com"})
    await pay(signed_in, admin_server.url + "/sandbox/airwallex", paid)
    # The list shows the longest waiting first, over a database other tests fill too.
    await set_booking(owner_db, paid["bookingId"], paid_at=datetime(2020, 1, 1, tzinfo=UTC))
    today = await create(signed_in, {**FREE, "customerEmail": "on-today@example.com"})
    start = later_today("UTC")  # the server's COACH_TIMEZONE
    await set_booking(owner_db, today["bookingId"], status="scheduled")
    await add_session(owner_db, today["bookingId"], start, minutes=30)

    page = await signed_in.get("/admin")

    assert page.status_code == 200
    html = page.text
    assert "paid-only@example.com" in section(html, "paid-not-scheduled")
    assert "waiting@example.com" not in section(html, "paid-not-scheduled")
    assert "waiting@example.com" in section(html, "pending")
    assert "on-today@example.com" in section(html, "today")
    assert "waiting@example.com" not in section(html, "today")
    recent = section(html, "recent")
    assert recent.index("on-today@") < recent.index("paid-only@") < recent.index("waiting@")
    assert "Payment webhook: healthy" in section(html, "webhooks")
    # The CSP allows no inline code: the pages carry none.
    assert "<script" not in html
    assert "<style" not in html
    assert "style=" not in html
    assert "script-src 'self'" in page.headers["content-security-policy"]
    css = await signed_in.get(re.findall(r'href="(/admin/static/[^"]+)"', html)[0])
    assert css.status_code == 200
    assert "text/css" in css.headers["content-type"]
    assert waiting["bookingId"] in html


async def test_search_by_email_or_id_and_the_whole_audit_trail(
    signed_in: httpx.AsyncClient, admin_server: RunningServer
) -> None:
    created = await create(signed_in, {**PAID, "customerEmail": "Trail.Person@Example.com"})
    await pay(signed_in, admin_server.url + "/sandbox/airwallex", created)

    by_email = await signed_in.get("/admin/bookings", params={"q": "trail.person@example"})
    by_id = await signed_in.get("/admin/bookings", params={"q": created["bookingId"]})
    nothing = await signed_in.get("/admin/bookings", params={"q": "nobody-like-this"})

    assert f"/admin/bookings/{created['bookingId']}" in by_email.text
    assert f"/admin/bookings/{created['bookingId']}" in by_id.text
    assert "No booking matches." in nothing.text
    detail = await signed_in.get(f"/admin/bookings/{created['bookingId']}")
    assert detail.status_code == 200
    trail = section(detail.text, "audit")
    positions = [trail.index(kind) for kind in ("booking_created", "payment_confirmed")]
    assert positions == sorted(positions)
    assert "webhook" in trail
    assert "payment_intent.succeeded" in section(detail.text, "webhook-deliveries")
    assert created["bookingToken"] not in detail.text
    unknown = await signed_in.get("/admin/bookings/not-a-booking-id")
    assert unknown.status_code == 404


async def test_sign_out_ends_the_session(signed_in: httpx.AsyncClient) -> None:
    dashboard = await signed_in.get("/admin")
    answer = await signed_in.post("/admin/logout", data={"csrf_token": csrf_of(dashboard.text)})
    assert answer.status_code == 303
    assert answer.headers["location"] == "/admin/login"
    assert (await signed_in.get("/admin")).status_code == 303


async def test_an_action_without_the_session_csrf_token_changes_nothing(
    signed_in: httpx.AsyncClient, owner_db: Database
) -> None:
    created = await create(signed_in, FREE)
    path = f"/admin/bookings/{created['bookingId']}/cancel"
    token = csrf_of((await signed_in.get(path)).text)

    forged = await signed_in.post(path, data={"csrf_token": "x" * 43, "reason": "forged"})
    cross_site = await signed_in.post(
        path,
        data={"csrf_token": token, "reason": "from elsewhere"},
        headers={"Origin": "https://evil.example"},
    )
    typed_elsewhere = await signed_in.post(
        path,
        data={"csrf_token": token, "reason": "opaque origin, not our page"},
        headers={"Origin": "null", "Sec-Fetch-Site": "none"},
    )
    no_reason = await admin_post(signed_in, path, reason="  ")

    assert forged.status_code == 403
    assert cross_site.status_code == 403
    assert typed_elsewhere.status_code == 403
    assert no_reason.status_code == 400
    assert "Please give a reason." in no_reason.text
    row = await booking_row(owner_db, created["bookingId"])
    assert row.status == "paid"
    assert await event_types(owner_db, created["bookingId"]) == ["booking_created"]


async def test_the_bookings_list_filters_by_status_and_names_a_wrong_filter_or_page(
    signed_in: httpx.AsyncClient,
) -> None:
    waiting = await create(signed_in, {**PAID, "customerEmail": "list-waiting@example.com"})

    pending = await signed_in.get("/admin/bookings", params={"status": "pending"})
    paid = await signed_in.get("/admin/bookings", params={"status": "paid"})
    wrong_status = await signed_in.get("/admin/bookings", params={"status": "lost"})
    wrong_page = await signed_in.get("/admin/bookings", params={"before": "yesterday"})

    assert pending.status_code == 200
    assert waiting["bookingId"] in pending.text
    assert waiting["bookingId"] not in paid.text
    assert wrong_status.status_code == 400
    assert "status: must be one of pending, paid, scheduled, expired, cancelled." in (
        wrong_status.text
    )
    assert wrong_page.status_code == 400
    assert "before: is not a page cursor" in wrong_page.text
    # The newest bookings are still shown under the message.
    assert waiting["bookingId"] in wrong_page.text
