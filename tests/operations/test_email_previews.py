"""/admin/emails: every customer email previewed in each language, behind the admin login."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from sessionbook.admin.email_routes import LANGUAGES, TITLES
from sessionbook.core.i18n import SUPPORTED_LOCALES
from sessionbook.notifications.messages import KINDS
from tests.conftest import DatabaseUnderTest, RunningServer, run_server
from tests.operations.support import ADMIN_SETTINGS, sign_in

_SRCDOC = re.compile(r'<iframe sandbox srcdoc="([^"]*)"')


@pytest.fixture(scope="module")
def admin_server(test_db: DatabaseUnderTest) -> Iterator[RunningServer]:
    with run_server(
        test_db, smtp_from="Bookings <bookings@coach.example>", **ADMIN_SETTINGS
    ) as running:
        yield running


@pytest.fixture
async def browser(admin_server: RunningServer) -> AsyncIterator[httpx.AsyncClient]:
    async with admin_server.client() as client:
        yield client


def test_every_kind_and_language_has_a_preview() -> None:
    assert set(TITLES) == set(KINDS)
    assert set(LANGUAGES) == set(SUPPORTED_LOCALES)


async def test_previews_are_only_for_a_signed_in_admin(browser: httpx.AsyncClient) -> None:
    for path in ("/admin/emails", "/admin/emails/payment_received?locale=fr"):
        anonymous = await browser.get(path)
        assert anonymous.status_code == 303
        assert anonymous.headers["location"] == "/admin/login"
        assert "Alex Example" not in anonymous.text

    assert (await sign_in(browser)).status_code == 303
    # Fails if the router lost ADMIN_DEPENDENCIES: the session is then never found (closed).
    listing = await browser.get("/admin/emails")
    assert listing.status_code == 200
    assert '<a href="/admin/emails">Emails</a>' in listing.text  # in the admin's menu
    for kind in KINDS:
        for locale in LANGUAGES:
            assert f'href="/admin/emails/{kind}?locale={locale}"' in listing.text


@pytest.mark.parametrize("locale", ["en", "fr"])
async def test_each_email_shows_subject_sender_and_both_parts(
    browser: httpx.AsyncClient, locale: str
) -> None:
    await sign_in(browser)
    hello = {"en": "Hello Alex Example,", "fr": "Bonjour Alex Example,"}[locale]
    for kind in KINDS:
        page = await browser.get(f"/admin/emails/{kind}", params={"locale": locale})

        assert page.status_code == 200, page.text
        assert 'data-testid="subject">' in page.text
        assert 'data-testid="from">Bookings &lt;bookings@coach.example&gt;</dd>' in page.text
        [srcdoc] = _SRCDOC.findall(page.text)
        email_html = html.unescape(srcdoc)
        assert email_html.startswith("<!doctype html>")
        assert f'<html lang="{locale}">' in email_html
        assert hello in email_html
        text = page.text.split("<pre>", 1)[1].split("</pre>", 1)[0]
        assert html.unescape(text).startswith(hello)
        policy = page.headers["content-security-policy"]
        assert "script-src 'self'" in policy
        assert "style-src-attr 'unsafe-inline'" in policy
        assert "frame-ancestors 'none'" in policy


async def test_an_unknown_kind_or_language_is_said_so(browser: httpx.AsyncClient) -> None:
    await sign_in(browser)

    unknown_kind = await browser.get("/admin/emails/newsletter")
    unknown_language = await browser.get("/admin/emails/payment_received?locale=de")

    assert unknown_kind.status_code == 404
    assert unknown_language.status_code == 400
    assert "locale: choose one of en, fr." in unknown_language.text
