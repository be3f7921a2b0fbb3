"""The browser's keys: the booking cookie (HttpOnly) and the CSRF token of every form and POST.

The booking token reaches a browser once, in a `/book?token=` link, and is traded at once for
an HttpOnly cookie; pages and scripts never see it. Every POST under /book must come from our
own pages, as `http.csrf` decides for pages and admin alike; here the double-submit token is a
CSRF cookie (HttpOnly; the page renders the value it was set with).
"""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response

from sessionbook.core.errors import ServiceError
from sessionbook.core.settings import Settings
from sessionbook.http.csrf import request_is_ours, site_origin

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
    expected = request.cookies.get(CSRF_COOKIE)
    if not request_is_ours(request.headers, site_origin(settings.site_url), expected, submitted):
        raise CsrfRejected()
