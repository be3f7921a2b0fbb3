"""The pages' language: chosen per page request, remembered in a cookie when the switcher asks."""

from __future__ import annotations

from collections.abc import AsyncIterator

from starlette.requests import Request
from starlette.responses import Response

from sessionbook.core import i18n
from sessionbook.core.settings import Settings
from sessionbook.http.language import (
    LANG_COOKIE,
    LANG_COOKIE_MAX_AGE,
    LanguageChoice,
    choice_from_request,
    request_language,
)
from sessionbook.web.session import cookies_secure

_CHOICE_STATE = "language_choice"


async def page_language(request: Request) -> AsyncIterator[LanguageChoice]:
    """Render this page request in its language (a router dependency of the pages only)."""
    choice = await request_language(request)
    setattr(request.state, _CHOICE_STATE, choice)
    with i18n.use_locale(choice.locale):
        yield choice


def request_choice(request: Request) -> LanguageChoice:
    """The language chosen for this request, or (outside the page routes: 404, 503) the
    request's own without the brand's default."""
    found = getattr(request.state, _CHOICE_STATE, None)
    if isinstance(found, LanguageChoice):
        return found
    choice = choice_from_request(request)
    setattr(request.state, _CHOICE_STATE, choice)
    return choice


def remember_language(request: Request, response: Response, settings: Settings) -> None:
    """Say what the page's language came from (for caches), and after the switcher (`?lang=`)
    keep the language for a year on every page of the site."""
    _vary(response, ("Accept-Language", "Cookie"))
    choice = getattr(request.state, _CHOICE_STATE, None)
    if not isinstance(choice, LanguageChoice) or not choice.switched:
        return
    if request.cookies.get(LANG_COOKIE) == choice.locale:
        return
    response.set_cookie(
        LANG_COOKIE,
        choice.locale,
        max_age=LANG_COOKIE_MAX_AGE,
        path="/",
        secure=cookies_secure(settings),
        httponly=False,
        samesite="lax",
    )


def _vary(response: Response, names: tuple[str, ...]) -> None:
    present = [name.strip() for name in response.headers.get("vary", "").split(",") if name.strip()]
    known = {name.lower() for name in present}
    response.headers["Vary"] = ", ".join(
        [*present, *(name for name in names if name.lower() not in known)]
    )
