"""Language negotiation and locale formatting, without a server."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from starlette.requests import Request

from sessionbook.core import i18n
from sessionbook.web.formatting import (
    format_date,
    format_day,
    format_duration,
    format_moment,
    format_price,
    format_sessions,
    format_time,
    format_time_range,
)
from sessionbook.web.templating import language_links

NBSP = "\u00a0"
PARIS = ZoneInfo("Europe/Paris")
# 13:00 UTC is 15:00 in Paris in June (summer time).
START = datetime(2030, 6, 4, 13, 0, tzinfo=UTC)
END = datetime(2030, 6, 4, 14, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("header", "chosen"),
    [
        ("fr-CH, fr;q=0.9, en;q=0.8", "fr"),
        ("en;q=0.5, fr", "fr"),
        ("de-DE, en;q=0.4, fr;q=0.7", "fr"),
        ("fr_FR", "fr"),
        ("EN-gb", "en"),
        ("fr;q=0, en;q=0.1", "en"),
        ("de, *;q=0.5", None),
        ("fr;q=1.5, en;q=0.2", "en"),
        ("fr;q=abc", None),
        ("\x00fr\r\nSet-Cookie: x=1", None),
        (";;,,;q=", None),
        ("", None),
        (None, None),
    ],
)
def test_accept_language_is_read_with_its_qualities(header: str | None, chosen: str | None) -> None:
    assert i18n.negotiate(header) == chosen


def test_an_overlong_accept_language_is_read_only_so_far() -> None:
    header = ", ".join(["de"] * i18n.MAX_ACCEPT_ENTRIES + ["fr"])

    assert i18n.negotiate(header) is None
    assert i18n.negotiate(", ".join(["de"] * (i18n.MAX_ACCEPT_ENTRIES - 1) + ["fr"])) == "fr"


def test_the_choice_goes_switcher_cookie_browser_brand_english() -> None:
    assert i18n.choose_locale(asked="en", remembered="fr", accept_language="fr") == "en"
    assert i18n.choose_locale(asked="xx", remembered="fr", accept_language="en") == "fr"
    assert i18n.choose_locale(remembered="<b>", accept_language="fr-CA", default="en") == "fr"
    assert i18n.choose_locale(accept_language="de", default="fr") == "fr"
    assert i18n.choose_locale(accept_language="de", default="es") == "en"
    assert i18n.choose_locale() == "en"


def test_french_prices_are_written_the_french_way() -> None:
    with i18n.use_locale("fr"):
        assert format_price(15000, "EUR") == f"150,00{NBSP}€"
        assert format_price(0, "EUR") == "Gratuit"
    with i18n.use_locale("en"):
        assert format_price(15000, "EUR") == "€150.00"
        assert format_price(15000, "USD") == "$150.00"
        assert format_price(0, "USD") == "Free"


def test_french_clocks_run_to_24_hours_and_english_ones_to_12() -> None:
    with i18n.use_locale("fr"):
        assert format_time(START, PARIS) == "15:00"
        assert format_time_range(START, END, PARIS) == "15:00\u2009\u2013\u200916:00"
        assert format_day(START, PARIS) == "mardi 4 juin 2030"
        assert format_date(START, PARIS) == "4 juin 2030"
        assert format_moment(START, PARIS) == "4 juin 2030 à 15:00"
    with i18n.use_locale("en"):
        assert format_time(START, PARIS) == "3:00\u202fPM"
        assert format_time_range(START, END, PARIS) == "3:00\u2009\u2013\u20094:00\u202fPM"
        assert format_day(START, PARIS) == "Tuesday 4 June 2030"
        assert format_date(START, PARIS) == "4 June 2030"


def test_durations_and_packages_in_french() -> None:
    with i18n.use_locale("fr"):
        assert format_duration(60) == "1 heure"
        assert format_duration(120) == "2 heures"
        assert format_duration(90) == "1 heure 30 minutes"
        assert format_duration(1) == "1 minute"
        assert format_sessions(4, 60, 31) == "4 séances de 1 heure, à réserver sous 31 jours"
        assert format_sessions(4, 30, None) == "4 séances de 30 minutes"
    with i18n.use_locale("en"):
        assert format_sessions(4, 30, None) == "4 sessions of 30 minutes"


def test_an_unsupported_locale_renders_in_english() -> None:
    with i18n.use_locale("de"):
        assert i18n.current_locale() == "en"
        assert format_price(0, "EUR") == "Free"


def _request(path: str, query: bytes = b"") -> Request:
    scope = {
        "type": "http",
        "method": "GET",
        "path": path,
        "query_string": query,
        "headers": [(b"host", b"book.example")],
    }
    return Request(scope)


def test_switcher_links_stay_on_the_site_and_drop_the_token() -> None:
    with i18n.use_locale("fr"):
        links = language_links(_request("/book", b"token=secret&lang=en&x=1"))

    assert [(link.locale, link.href, link.current) for link in links] == [
        ("en", "/book?x=1&lang=en", False),
        ("fr", "/book?x=1&lang=fr", True),
    ]
    for path in ("//elsewhere.example/x", "/\\elsewhere.example", "///elsewhere.example"):
        href = language_links(_request(path))[0].href
        assert href.startswith("/")
        assert not href.startswith(("//", "/\\"))
    assert language_links(_request("/a b<"))[0].href == "/a%20b%3C?lang=en"
