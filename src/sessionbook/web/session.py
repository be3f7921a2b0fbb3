"""The browser's keys: the booking cookie (HttpOnly) and the CSRF token of every form and POST.

The booking token reaches a browser once, in a `/book?token=` link, and is traded at once for
an HttpOnly cookie; pages and scripts never see it. Every POST under /book must come from our
own pages: the browser's Origin (when it sends one other than "null") must be the site's, a
cross-site Sec-Fetch-Site is refused, and the CSRF token must match the CSRF cookie (a
double-submit token; the cookie is HttpOnly and the page renders the value it was set with).
"""

from __future__ import annotations

import secrets
from hmac import compare_digest
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response

from sessionbook.core.errors import ServiceError
from sessionbook.core.settings import Settings

BOOKING_COOKIE = "sb_booking"
CSRF_COOKIE = "sb_csrf"
COOKIE_PATH = "/book"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
# Long enough to come back to a scheduled session and move or cancel it.
BOOKING_COOKIE_MAX_AGE = 30 * 24 * 3600
_LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "::1"}


class CsrfRejected(ServiceError):
    status_code = 403
    code = "csrf_failed"
    default_message = "This request did not come from the booking page. Reload it and try again."


def site_origin(settings: Settings) -> str:
    parts = urlsplit(settings.site_url)
    return f"{parts.scheme}://{parts.netloc}"


def cookies_secure(settings: Settings) -> bool:
    """Secure everywhere except plain http on a loopback host, where browsers would drop it."""
    parts = urlsplit(settings.site_url)
    return not (parts.scheme == "http" and (parts.hostname or "") in _LOOPBACK_HOSTS)


def set_booking_cookie(response: Response, token: str, settings: Settings) -> None:
    response.set_cookie(
        BOOKING_COOKIE,
        token,
        max_age=BOOKING_COOKIE_MAX_AGE,
        path=COOKIE_PATH,
        secure=cookies_secure(settings),
        httponly=True,
        samesite="lax",
    )


def clear_booking_cookie(response: Response, settings: Settings) -> None:
    response.delete_cookie(
        BOOKING_COOKIE,
        path=COOKIE_PATH,
        secure=cookies_secure(settings),
        httponly=True,
        samesite="lax",
    )


def booking_token(request: Request) -> str | None:
    token = request.cookies.get(BOOKING_COOKIE, "").strip()
    return token or None


def csrf_token(request: Request) -> str:
    """The CSRF token of this browser: the cookie's value, or a fresh one to set."""
    existing = request.cookies.get(CSRF_COOKIE, "")
    return existing if len(existing) == 43 else secrets.token_urlsafe(32)


def remember_csrf_token(
    request: Request, response: Response, token: str, settings: Settings
) -> None:
    if request.cookies.get(CSRF_COOKIE) != token:
        response.set_cookie(
            CSRF_COOKIE,
            token,
            path=COOKIE_PATH,
            secure=cookies_secure(settings),
            httponly=True,
            samesite="lax",
        )


def check_same_origin(request: Request, settings: Settings, submitted: str | None) -> None:
    """Refuse a state-changing request that another site could have made the browser send."""
    origin = request.headers.get("origin")
    if origin is not None and origin != "null" and origin.rstrip("/") != site_origin(settings):
        raise CsrfRejected()
    if request.headers.get("sec-fetch-site") == "cross-site":
        raise CsrfRejected()
    expected = request.cookies.get(CSRF_COOKIE, "")
    if not expected or not submitted:
        raise CsrfRejected()
    if not compare_digest(expected.encode(), submitted.encode()):
        raise CsrfRejected()
