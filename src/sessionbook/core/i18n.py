"""Translations for the customer's pages and emails: gettext catalogs read from .po files.

The .po files are the only source (no compiled .mo in git): each is read once with Babel
and compiled in memory. The locale of the work at hand lives in a context variable, so a
template or an email renders in its customer's language without threading it through calls.
"""

from __future__ import annotations

import gettext as gettext_module
import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from jinja2 import Environment

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
DOMAIN = "messages"
DEFAULT_LOCALE = "en"
SUPPORTED_LOCALES: tuple[str, ...] = ("en", "fr")

# How the language switcher names each language: in that language, never translated.
LANGUAGE_NAMES: dict[str, str] = {"en": "English", "fr": "Français"}
# An Accept-Language header is read up to this many entries; browsers send a handful, and a
# longer one is either a mistake or an attempt to make the server work.
MAX_ACCEPT_ENTRIES = 20
_LANGUAGE_TAG = re.compile(r"^[A-Za-z]{1,8}(?:[-_][A-Za-z0-9]{1,8})*$")
_QUALITY = re.compile(r"^q=(0(?:\.[0-9]{0,3})?|1(?:\.0{0,3})?)$", re.IGNORECASE)

_current_locale: ContextVar[str] = ContextVar("sessionbook_locale", default=DEFAULT_LOCALE)


def supported(locale: str | None) -> str | None:
    """The supported locale `locale` names ("fr-CA" and "fr_FR" give "fr"), or None."""
    if not locale:
        return None
    language = locale.replace("_", "-").split("-", 1)[0].strip().lower()
    return language if language in SUPPORTED_LOCALES else None


def exact(code: str | None) -> str | None:
    """`code` when it is exactly one of ours ("fr"): what the switcher and its cookie carry."""
    return code if code in SUPPORTED_LOCALES else None


def accepted_languages(header: str | None) -> list[str]:
    """The language tags of an Accept-Language header, most wanted first (RFC 9110, 12.5.4).

    Entries with a malformed tag or quality are skipped, `q=0` means "not this one", and equal
    qualities keep the header's order. "*" is left out: it names no language we could pick.
    """
    if not header:
        return []
    ranked: list[tuple[float, int, str]] = []
    for position, entry in enumerate(header.split(",")[:MAX_ACCEPT_ENTRIES]):
        tag, *parameters = (part.strip() for part in entry.split(";"))
        if not _LANGUAGE_TAG.match(tag):
            continue
        quality = 1.0
        for parameter in parameters:
            found = _QUALITY.match(parameter.replace(" ", ""))
            if found is None:
                quality = -1.0
                break
            quality = float(found.group(1))
        if quality > 0:
            ranked.append((-quality, position, tag))
    return [tag for _, _, tag in sorted(ranked)]


def negotiate(accept_language: str | None) -> str | None:
    """The supported locale the header prefers most ("fr-CH, fr;q=0.9, en;q=0.8" is fr)."""
    for tag in accepted_languages(accept_language):
        locale = supported(tag)
        if locale is not None:
            return locale
    return None


def choose_locale(
    *,
    asked: str | None = None,
    remembered: str | None = None,
    accept_language: str | None = None,
    default: str | None = None,
) -> str:
    """The page's language: the switcher's choice, the remembered one, the browser's, the brand's.

    Each step counts only when it names a supported language (the switcher's and the cookie's
    exactly, "fr"); English is the last resort.
    """
    return (
        exact(asked)
        or exact(remembered)
        or negotiate(accept_language)
        or supported(default)
        or DEFAULT_LOCALE
    )


@cache
def translations(locale: str) -> gettext_module.NullTranslations:
    """The catalog of `locale`; English is the source language and needs none."""
    path = LOCALES_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"
    if locale == DEFAULT_LOCALE or not path.is_file():
        return gettext_module.NullTranslations()
    with path.open("rb") as source:
        catalog = read_po(source, locale=locale)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return gettext_module.GNUTranslations(compiled)


def current_locale() -> str:
    return _current_locale.get()


@contextmanager
def use_locale(locale: str | None) -> Iterator[None]:
    """Render everything inside in `locale` (an unsupported or missing one: English)."""
    token = _current_locale.set(supported(locale) or DEFAULT_LOCALE)
    try:
        yield
    finally:
        _current_locale.reset(token)


def set_locale(locale: str | None) -> None:
    """Set the locale for the rest of this context (one request's task)."""
    _current_locale.set(supported(locale) or DEFAULT_LOCALE)


def gettext(message: str) -> str:
    return translations(current_locale()).gettext(message)


def ngettext(singular: str, plural: str, count: int) -> str:
    return translations(current_locale()).ngettext(singular, plural, count)


def pgettext(context: str, message: str) -> str:
    return translations(current_locale()).pgettext(context, message)


def npgettext(context: str, singular: str, plural: str, count: int) -> str:
    return translations(current_locale()).npgettext(context, singular, plural, count)


def install_gettext(environment: Environment) -> None:
    """Give a Jinja environment (with jinja2.ext.i18n) these callables, new-style:
    `_("Hello %(name)s", name=...)` escapes and formats in one step."""
    environment.install_gettext_callables(  # type: ignore[attr-defined]
        gettext, ngettext, newstyle=True, pgettext=pgettext, npgettext=npgettext
    )
