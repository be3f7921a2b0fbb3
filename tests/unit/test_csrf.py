"""The one CSRF rule of pages and admin: where a POST may come from, and the token it carries."""

from __future__ import annotations

import pytest
from starlette.datastructures import Headers

from sessionbook.http.csrf import comes_from_site, request_is_ours, site_origin, tokens_match

SITE = "https://coach.example"
TOKEN = "t" * 43


def sent(**headers: str) -> Headers:
    return Headers({name.replace("_", "-"): value for name, value in headers.items()})


def test_the_site_origin_is_scheme_host_and_port() -> None:
    assert site_origin("https://coach.example/") == SITE
    assert site_origin("http://127.0.0.1:8000/base") == "http://127.0.0.1:8000"


@pytest.mark.parametrize(
    "headers",
    [
        sent(origin=SITE, sec_fetch_site="same-origin"),
        sent(origin=SITE + "/"),
        # Chromium, same-origin form post from a page with Referrer-Policy: no-referrer.
        sent(origin="null", sec_fetch_site="same-origin"),
        sent(sec_fetch_site="same-origin"),
        # Browsers without Fetch Metadata, and clients that send no Origin: the token decides.
        sent(origin="null"),
        sent(),
    ],
)
def test_our_own_pages_are_let_through(headers: Headers) -> None:
    assert comes_from_site(headers, SITE)
    assert request_is_ours(headers, SITE, TOKEN, TOKEN)


@pytest.mark.parametrize(
    "headers",
    [
        sent(origin="https://evil.example"),
        sent(origin="https://evil.example", sec_fetch_site="cross-site"),
        sent(origin="http://coach.example"),  # another scheme is another origin
        sent(origin="https://shop.coach.example", sec_fetch_site="same-site"),
        # A sandboxed frame or a data: page elsewhere also says Origin: null.
        sent(origin="null", sec_fetch_site="cross-site"),
        sent(origin="null", sec_fetch_site="same-site"),
        sent(origin="null", sec_fetch_site="none"),
        sent(sec_fetch_site="cross-site"),
        sent(sec_fetch_site="none"),
        # A lying Origin does not outvote what the browser itself says about the initiator.
        sent(origin=SITE, sec_fetch_site="cross-site"),
    ],
)
def test_other_sites_are_refused_even_with_the_right_token(headers: Headers) -> None:
    assert not comes_from_site(headers, SITE)
    assert not request_is_ours(headers, SITE, TOKEN, TOKEN)


@pytest.mark.parametrize(
    ("expected", "submitted"),
    [(TOKEN, None), (TOKEN, ""), (None, TOKEN), ("", ""), (None, None), (TOKEN, "x" * 43)],
)
def test_a_missing_or_wrong_token_is_refused_from_anywhere(
    expected: str | None, submitted: str | None
) -> None:
    assert not tokens_match(expected, submitted)
    same_origin = sent(origin="null", sec_fetch_site="same-origin")
    assert not request_is_ours(same_origin, SITE, expected, submitted)
