"""The one CSRF check of every browser POST, customer pages and admin alike: origin and token.

A state-changing request is ours when both hold:

- where it comes from: `Sec-Fetch-Site`, when the browser sends it, is `same-origin`; an
  `Origin`, when sent, is the site's own. `Origin: null` is what Chromium sends for a
  same-origin form post from a page with `Referrer-Policy: no-referrer`, and also what a
  sandboxed frame or a `data:` page anywhere sends, so it passes only with
  `Sec-Fetch-Site: same-origin` (or, from a browser too old to send Sec-Fetch-Site, on the
  token alone);
- what it carries: the CSRF token it submits equals the one we gave this browser (a cookie for
  the customer pages, the signed session for the admin), compared in constant time.
"""

from __future__ import annotations

from hmac import compare_digest
from urllib.parse import urlsplit

from starlette.datastructures import Headers

SAME_ORIGIN = "same-origin"


def site_origin(site_url: str) -> str:
    """`scheme://host[:port]` of the public site URL, as browsers write it in `Origin`."""
    parts = urlsplit(site_url)
    return f"{parts.scheme}://{parts.netloc}"


def comes_from_site(headers: Headers, own_origin: str) -> bool:
    """Whether the browser says this request was sent by a page of our own origin."""
    fetch_site = headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site != SAME_ORIGIN:
        return False  # cross-site, same-site (a sibling host) or none (typed, not our page)
    origin = headers.get("origin")
    if origin is None or origin == "null":
        # No Origin, or an opaque one: only Sec-Fetch-Site (checked above) or the token can
        # vouch for the request, and the token is always checked as well.
        return True
    return origin.rstrip("/") == own_origin


def tokens_match(expected: str | None, submitted: str | None) -> bool:
    """Double-submit check: both present and equal, compared in constant time."""
    if not expected or not submitted:
        return False
    return compare_digest(expected.encode(), submitted.encode())


def request_is_ours(
    headers: Headers, own_origin: str, expected_token: str | None, submitted_token: str | None
) -> bool:
    """The whole check: sent from our own pages, with the token we gave this browser."""
    return comes_from_site(headers, own_origin) and tokens_match(expected_token, submitted_token)
