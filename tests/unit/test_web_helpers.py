"""The booking pages' pure helpers: prices, durations, zones, form messages, cookie flags."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from starlette.responses import Response

from sessionbook.core.settings import Settings
from sessionbook.web.formatting import (
    format_day,
    format_duration,
    format_price,
    format_sessions,
    format_time_range,
    is_known_zone,
    zone_or_utc,
)
from sessionbook.web.forms import DetailsForm
from sessionbook.web.session import cookies_secure, set_booking_cookie


@pytest.mark.parametrize(
    ("cents", "currency", "shown"),
    [
        (0, "USD", "Free"),
        (15000, "USD", "$150.00"),
        (135000, "USD", "$1,350.00"),
        (5, "EUR", "€0.05"),
        (50000, "JPY", "¥50,000"),
        (1234567, "KWD", "KWD\u00a01,234.567"),
        (99900, "CHF", "CHF\u00a0999.00"),
    ],
)
def test_prices_are_formatted_from_integer_minor_units(
    cents: int, currency: str, shown: str
) -> None:
    assert format_price(cents, currency) == shown


@pytest.mark.parametrize(
    ("minutes", "shown"),
    [
        (30, "30 minutes"),
        (1, "1 minute"),
        (60, "1 hour"),
        (90, "1 hour 30 minutes"),
        (120, "2 hours"),
    ],
)
def test_durations_read_as_words(minutes: int, shown: str) -> None:
    assert format_duration(minutes) == shown


@pytest.mark.parametrize(
    ("sessions", "minutes", "valid_days", "shown"),
    [
        (1, 60, None, "1 hour"),
        (1, 30, 31, "30 minutes"),
        (4, 60, 31, "4 sessions of 1 hour, within 31 days"),
        (3, 90, None, "3 sessions of 1 hour 30 minutes"),
    ],
)
def test_a_package_says_how_many_sessions_it_gives(
    sessions: int, minutes: int, valid_days: int | None, shown: str
) -> None:
    assert format_sessions(sessions, minutes, valid_days) == shown


def test_times_are_shown_in_the_customers_zone() -> None:
    start = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)  # the night Europe/London moves to BST
    end = datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    london = ZoneInfo("Europe/London")

    assert format_day(start, london) == "Sunday 29 March 2026"
    # English clocks run 1-12 (CLDR's interval: thin spaces round the dash, a narrow one before AM).
    assert format_time_range(start, end, london) == "12:30\u2009\u2013\u20092:30\u202fAM"
    assert format_time_range(start, end, ZoneInfo("Asia/Tokyo")) == (
        "9:30\u2009\u2013\u200910:30\u202fAM"
    )


def test_zone_helpers() -> None:
    assert zone_or_utc(None).key == "UTC"
    assert zone_or_utc("Not/AZone").key == "UTC"
    assert zone_or_utc("America/Vancouver").key == "America/Vancouver"
    assert is_known_zone("Europe/Paris")
    assert not is_known_zone("Europe/Atlantis")
    assert not is_known_zone("../../etc/passwd")


def test_details_form_uses_the_api_rules_and_keeps_what_was_typed() -> None:
    form = DetailsForm.from_submission(
        {"package": "single", "name": "  Ada  ", "email": "ada@example.com", "phone": "  "}
    )

    request = form.validate()

    assert request is not None
    assert request.customer_name == "Ada"  # trimmed like the API does
    assert request.customer_phone is None  # an empty optional box is "not given"
    assert form.values["name"] == "  Ada  "


def test_details_form_errors_are_human() -> None:
    form = DetailsForm.from_submission(
        {"package": "", "name": "", "email": "ada@", "notes": "\x00bad"}
    )

    assert form.validate() is None

    assert form.errors == {
        "package": "Choose one of the packages.",
        "name": "Please enter your name.",
        "email": "Please enter a valid email address, like name@example.com.",
        "notes": "Please remove the special (control) characters.",
    }


@pytest.mark.parametrize(
    ("site_url", "secure"),
    [
        ("http://127.0.0.1:8000", False),
        ("http://localhost:8000", False),
        ("http://[::1]:8000", False),
        ("https://book.example.com", True),
        ("https://localhost:8443", True),
        ("http://book.example.com", True),
    ],
)
def test_cookie_is_secure_except_on_plain_http_loopback(site_url: str, secure: bool) -> None:
    settings = Settings(site_url=site_url)
    response = Response()

    set_booking_cookie(response, "t" * 43, settings)

    assert cookies_secure(settings) is secure
    header = response.headers["set-cookie"]
    assert ("Secure" in header) is secure
    assert "HttpOnly" in header
    assert "SameSite=lax" in header
    assert "Path=/book" in header
