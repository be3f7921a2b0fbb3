"""How the pages show money, durations and instants, and which zone names they accept."""

from __future__ import annotations

import zoneinfo
from datetime import datetime
from zoneinfo import ZoneInfo

from sessionbook.core.money import format_money


def format_price(amount_cents: int, currency: str) -> str:
    """A price on the customer's pages: "Free" for nothing, else the formatted amount."""
    return "Free" if amount_cents == 0 else format_money(amount_cents, currency)


def format_duration(minutes: int) -> str:
    """Minutes as words: "30 minutes", "1 hour", "1 hour 30 minutes"."""
    hours, rest = divmod(minutes, 60)
    parts = []
    if hours:
        parts.append(f"{hours} hour" + ("s" if hours > 1 else ""))
    if rest or not hours:
        parts.append(f"{rest} minute" + ("s" if rest != 1 else ""))
    return " ".join(parts)


def format_sessions(sessions: int, minutes: int, valid_days: int | None) -> str:
    """What a package gives: "1 hour", or "4 sessions of 1 hour, within 31 days"."""
    each = format_duration(minutes)
    if sessions == 1:
        return each
    within = f", within {valid_days} days" if valid_days else ""
    return f"{sessions} sessions of {each}{within}"


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
    """ "Tuesday 2 December 2025" in the given zone."""
    local = moment.astimezone(zone)
    return f"{local:%A} {local.day} {local:%B %Y}"


def format_date(moment: datetime, zone: ZoneInfo) -> str:
    """ "12 January 2027" in the given zone: the day a deadline falls on, without the weekday."""
    local = moment.astimezone(zone)
    return f"{local.day} {local:%B %Y}"


def format_time_range(start: datetime, end: datetime, zone: ZoneInfo) -> str:
    """ "09:00 - 10:00" in the given zone (24-hour clock, no locale guessing on the server)."""
    return f"{start.astimezone(zone):%H:%M} – {end.astimezone(zone):%H:%M}"
