"""A request's language: `?lang=`, else the `lang` cookie, else Accept-Language, else the brand's.

Pages render in it (web sets it per page request) and a booking created by the request keeps
it for its emails. The brand's default language plugs in as an awaitable hook on app.state,
asked only when nothing in the request names a supported language.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, FastAPI, Request

from sessionbook.core import i18n

LANG_PARAM = "lang"
LANG_COOKIE = "lang"
LANG_COOKIE_MAX_AGE = 365 * 24 * 3600
DEFAULT_LOCALE_STATE = "default_locale"

# The brand's default language ("en", "fr"...), or None while none is set.
DefaultLocale = Callable[[], Awaitable[str | None]]


@dataclass(frozen=True, slots=True)
class LanguageChoice:
    locale: str
    # The switcher asked for it (`?lang=`): the answer remembers it in the cookie.
    switched: bool


def install_default_locale(app: FastAPI, source: DefaultLocale) -> None:
    """Let the brand's default language decide for requests that name none we support."""
    setattr(app.state, DEFAULT_LOCALE_STATE, source)


def choice_from_request(request: Request, default: str | None = None) -> LanguageChoice:
    """The request's language, with `default` standing in for the brand's."""
    asked = i18n.exact(request.query_params.get(LANG_PARAM))
    locale = i18n.choose_locale(
        asked=asked,
        remembered=request.cookies.get(LANG_COOKIE),
        accept_language=request.headers.get("accept-language"),
        default=default,
    )
    return LanguageChoice(locale=locale, switched=asked is not None)


async def request_language(request: Request) -> LanguageChoice:
    """The request's language; the brand's default is looked up only when it is needed."""
    source: DefaultLocale | None = getattr(request.app.state, DEFAULT_LOCALE_STATE, None)
    if source is None or _named_by_request(request):
        return choice_from_request(request)
    return choice_from_request(request, await source())


def _named_by_request(request: Request) -> bool:
    return (
        i18n.exact(request.query_params.get(LANG_PARAM)) is not None
        or i18n.exact(request.cookies.get(LANG_COOKIE)) is not None
        or i18n.negotiate(request.headers.get("accept-language")) is not None
    )


async def request_locale(request: Request) -> str:
    return (await request_language(request)).locale


RequestLocaleDep = Annotated[str, Depends(request_locale)]
