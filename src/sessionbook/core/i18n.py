"""Translations for the customer's pages and emails: gettext catalogs read from .po files.

The .po files are the only source (no compiled .mo in git): each is read once with Babel
and compiled in memory. The locale of the work at hand lives in a context variable, so a
template or an email renders in its customer's language without threading it through calls.
"""

from __future__ import annotations

import gettext as gettext_module
import io
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
DOMAIN = "messages"
DEFAULT_LOCALE = "en"
SUPPORTED_LOCALES: tuple[str, ...] = ("en", "fr")

_current_locale: ContextVar[str] = ContextVar("sessionbook_locale", default=DEFAULT_LOCALE)


def supported(locale: str | None) -> str | None:
    """The supported locale `locale` names ("fr-CA" and "fr_FR" give "fr"), or None."""
    if not locale:
        return None
    language = locale.replace("_", "-").split("-", 1)[0].strip().lower()
    return language if language in SUPPORTED_LOCALES else None


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
def use_locale(locale: str) -> Iterator[None]:
    """Render everything inside in `locale` (an unsupported one falls back to English)."""
    token = _current_locale.set(supported(locale) or DEFAULT_LOCALE)
    try:
        yield
    finally:
        _current_locale.reset(token)


def set_locale(locale: str) -> None:
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
