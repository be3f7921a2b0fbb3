"""How the pages show money, durations, instants.

Everything follows the locale of the work at hand (`i18n.current_locale()`): Babel formats
days, clock times (12 or 24 hours, as the locale has it) and money, gettext the words.
"""

from __future__ import annotations

import zoneinfo
from datetime import datetime
from functools import cache
from zoneinfo import ZoneInfo

from babel import dates
from babel.core import Locale

from sessionbook.core import i18n
from sessionbook.core.i18n import gettext as _
from sessionbook.core.i18n import ngettext
from sessionbook.core.money import format_money

# The house style of English dates (British order, no comma); other languages use CLDR's own.
_DAY_PATTERNS = {"en": "EEEE d MMMM y"}
_DATE_PATTERNS = {"en": "d MMMM y"}


def format_price(amount_cents: int, currency: str) -> str:
    """A price on the customer's pages: "Free" for nothing, else the amount in their locale."""
    if amount_cents == 0:
        return _("Free")
    return format_money(amount_cents, currency, i18n.current_locale())


def format_duration(minutes: int) -> str:
    """Minutes as words: "30 minutes", "1 hour", "1 hour 30 minutes" (or "1 heure 30 minutes")."""
    hours, rest = divmod(minutes, 60)
    parts = []
    if hours:
        parts.append(ngettext("%(num)d hour", "%(num)d hours", hours) % {"num": hours})
    if rest or not hours:
        parts.append(ngettext("%(num)d minute", "%(num)d minutes", rest) % {"num": rest})
    return " ".join(parts)


def format_sessions(sessions: int, minutes: int, valid_days: int | None) -> str:
    """What a package gives: "1 hour", or "4 sessions of 1 hour, within 31 days"."""
    each = format_duration(minutes)
    if sessions == 1:
        return each
    if valid_days:
        return ngettext(
            "%(num)d session of %(each)s, within %(days)d days",
            "%(num)d sessions of %(each)s, within %(days)d days",
            sessions,
        ) % {"num": sessions, "each": each, "days": valid_days}
    return ngettext("%(num)d session of %(each)s", "%(num)d sessions of %(each)s", sessions) % {
        "num": sessions,
        "each": each,
    }


def zone_or_utc(name: str | None) -> ZoneInfo:
    """The named zone, or UTC when the name is missing or unknown."""
    if name:
        try:
            return ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            pass
    return ZoneInfo("UTC")


def is_known_zone(name: str) -> bool:
    """True for an IANA zone name the server can convert to (what the pages send)."""
    if not name or len(name) > 64:
        return False
    try:
        ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True


def format_day(moment: datetime, zone: ZoneInfo) -> str:
    """The day in the given zone: "Tuesday 2 December 2025", "mardi 2 décembre 2025"."""
    locale = i18n.current_locale()
    pattern = _DAY_PATTERNS.get(locale, "full")
    return dates.format_date(moment.astimezone(zone).date(), pattern, locale=locale)


def format_date(moment: datetime, zone: ZoneInfo) -> str:
    """ "12 January 2027" in the given zone: the day a deadline falls on, without the weekday."""
    locale = i18n.current_locale()
    pattern = _DATE_PATTERNS.get(locale, "long")
    return dates.format_date(moment.astimezone(zone).date(), pattern, locale=locale)


def format_time(moment: datetime, zone: ZoneInfo) -> str:
    """A clock time as the locale writes it: "9:30 AM" in English, "09:30" in French."""
    locale = i18n.current_locale()
    return dates.format_time(moment, "short", tzinfo=zone, locale=locale)


def format_time_range(start: datetime, end: datetime, zone: ZoneInfo) -> str:
    """ "9:00 to 10:00 AM" in English, "09:00 to 10:00" in French (CLDR intervals), in the zone."""
    locale = i18n.current_locale()
    skeleton = "hm" if _twelve_hours(locale) else "Hm"
    return dates.format_interval(
        start.astimezone(zone), end.astimezone(zone), skeleton, tzinfo=zone, locale=locale
    )


def format_moment(moment: datetime, zone: ZoneInfo) -> str:
    """A day and a time together: "2 December 2025, 3:00 PM", "2 décembre 2025, 15:00"."""
    return _("%(date)s, %(time)s") % {
        "date": format_date(moment, zone),
        "time": format_time(moment, zone),
    }


@cache
def _twelve_hours(locale: str) -> bool:
    """True where the locale's clock runs 1-12 with AM/PM (its short time pattern uses h)."""
    pattern = Locale.parse(locale).time_formats["short"].pattern
    return "h" in pattern or "K" in pattern
