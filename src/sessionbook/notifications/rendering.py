"""The emails' own Jinja environment and how they write times, zones, colours and links.

Separate from the pages' environment: an email's HTML is escaped (`.html`), its plain-text part
is not (`.txt`), and both read the strings of the locale the caller set with `i18n.use_locale`.
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel.core import Locale
from babel.dates import format_date, format_time, get_timezone_location
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from sessionbook.branding.profile import DEFAULT_ACCENT
from sessionbook.core import i18n
from sessionbook.core.i18n import gettext as _

TEMPLATES_DIR = Path(__file__).parent / "templates"
_HEX_COLOUR = re.compile(r"^#(?:[0-9a-fA-F]{3}){1,2}$")
# Text on the accent colour: white while it reads (WCAG AA, 4.5:1), else near-black.
LIGHT_TEXT = "#ffffff"
DARK_TEXT = "#111827"
_AA_CONTRAST = 4.5


@cache
def environment() -> Environment:
    """Autoescape on for `.html`, off for `.txt`; an unknown variable is an error."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(
            enabled_extensions=("html",), disabled_extensions=("txt",), default=True
        ),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        extensions=["jinja2.ext.i18n"],
    )
    i18n.install_gettext(env)
    return env


def render_parts(kind: str, context: dict[str, Any]) -> tuple[str, str]:
    """The plain-text and HTML parts of one kind of email, in the current locale."""
    env = environment()
    text = env.get_template(f"{kind}.txt").render(context)
    html = env.get_template(f"{kind}.html").render(context)
    return _tidy_text(text), html


def _tidy_text(text: str) -> str:
    """At most one blank line in a row, no trailing spaces: templates leave a few."""
    lines = [line.rstrip() for line in text.splitlines()]
    tidy: list[str] = []
    for line in lines:
        if not line and (not tidy or not tidy[-1]):
            continue
        tidy.append(line)
    return "\n".join(tidy).strip() + "\n"


def zone_label(zone: ZoneInfo, locale: str) -> str:
    """The zone as its city in the locale's words: "Paris Time", "heure : Paris", "UTC"."""
    city = get_timezone_location(zone, locale=locale, return_city=True)
    if zone.key in ("UTC", "Etc/UTC", "GMT", "Etc/GMT") or zone.key.startswith("Etc/"):
        return city
    region: str = Locale.parse(locale).zone_formats["region"]
    return region % city


def format_when(moment: datetime, zone: ZoneInfo, locale: str) -> str:
    """A session's time as the customer reads it, in their zone and language.

    en: "Thursday, December 3, 2026 at 10:00 AM (Paris Time)" (12-hour clock, as CLDR says);
    fr: "jeudi 3 décembre 2026 à 10:00 (heure : Paris)" (24-hour clock).
    """
    local = moment.astimezone(zone)
    return _("%(date)s at %(time)s (%(zone)s)") % {
        "date": format_date(local, "full", locale=locale),
        "time": format_time(local, "short", locale=locale),
        "zone": zone_label(zone, locale),
    }


def accent_colours(accent: str) -> tuple[str, str]:
    """The brand's accent (a hex colour, else the default) and the text colour that reads on it.

    Only a plain hex colour goes into a style attribute: anything else could break out of it.
    """
    colour = accent if _HEX_COLOUR.match(accent or "") else DEFAULT_ACCENT
    return colour, LIGHT_TEXT if _contrast_with_white(colour) >= _AA_CONTRAST else DARK_TEXT


def _contrast_with_white(colour: str) -> float:
    digits = colour[1:]
    if len(digits) == 3:
        digits = "".join(digit * 2 for digit in digits)
    channels = [int(digits[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    luminance = 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    return 1.05 / (luminance + 0.05)


def web_link(url: str | None) -> str | None:
    """`url` when it is a plain http(s) address that may go into an href, else None."""
    if not url or not url.startswith(("https://", "http://")):
        return None
    if any(char.isspace() or ord(char) < 32 for char in url):
        return None
    return url


def absolute_url(site_url: str, path_or_url: str | None) -> str | None:
    """A brand photo's address as a mail client must have it: absolute, on the public site."""
    if not path_or_url:
        return None
    if path_or_url.startswith(("https://", "http://")):
        return web_link(path_or_url)
    return web_link(site_url.rstrip("/") + "/" + path_or_url.lstrip("/"))
