"""The time zones the booking page offers: canonical IANA zones with friendly, localised names.

The list comes from the tz database itself (the `tzdata` package): the zones of `zone.tab`,
one or more per country, plus "UTC". Deprecated names (Asia/Calcutta, US/Eastern, Europe/Kiev)
are the database's links; they are never offered, but a name coming from a browser or a stored
booking maps through them to the zone it stands for. The API still takes any valid IANA name.

Names come from Babel (CLDR) in the page's locale, and every zone carries its UTC offset at the
time of rendering, so one list is built per locale and per hour.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import cache, lru_cache
from importlib import resources
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import get_timezone_location

from sessionbook.core import i18n
from sessionbook.core.i18n import gettext as _
from sessionbook.web.formatting import is_known_zone

UTC_ZONE = "UTC"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_TZ_DATA = "tzdata.zoneinfo"
# The areas of geographic zone names, in the order their groups are listed.
REGIONS: tuple[str, ...] = (
    "Africa",
    "America",
    "Antarctica",
    "Arctic",
    "Asia",
    "Atlantic",
    "Australia",
    "Europe",
    "Indian",
    "Pacific",
)
# The database's own names for UTC: they all show as the one "UTC" choice.
_UTC_NAMES = frozenset(
    {"Etc/UTC", "Etc/UCT", "Etc/Universal", "Etc/Zulu", "UCT", "Universal", "Zulu"}
)


@dataclass(frozen=True, slots=True)
class ZoneChoice:
    """One zone as the picker shows it."""

    zone: str
    region: str
    city: str
    country: str
    offset_minutes: int
    # The database keeps older names for it (Asia/Calcutta, US/Eastern): a long-standing, widely
    # used zone, which the search ranks first among equally good matches ("sao": São Paulo).
    known: bool = False

    @property
    def offset(self) -> str:
        """ "+05:30", "-03:00", "+00:00"."""
        sign = "-" if self.offset_minutes < 0 else "+"
        hours, minutes = divmod(abs(self.offset_minutes), 60)
        return f"{sign}{hours:02d}:{minutes:02d}"

    @property
    def label(self) -> str:
        """ "(UTC+01:00) Paris, France": the option's text, and what the search looks through
        (tzpicker.js reads the offset, the city and the country back from this very shape)."""
        place = f"{self.city}, {self.country}" if self.country else self.city
        return f"(UTC{self.offset}) {place}"


@dataclass(frozen=True, slots=True)
class ZoneGroup:
    region: str
    label: str
    choices: tuple[ZoneChoice, ...]


@dataclass(frozen=True, slots=True)
class ZonePicker:
    """What the picker's template renders for one booking."""

    selected: str
    utc: ZoneChoice
    groups: tuple[ZoneGroup, ...]
    # The booking's zone when it is valid but neither canonical nor a link to a canonical zone
    # (Etc/GMT+5, EST5EDT): offered on its own so the page still shows what was stored.
    extra: ZoneChoice | None
    # "alias:zone alias:zone ...": the links a browser may report, for the script to map.
    aliases: str


def _read(name: str) -> str:
    return resources.files(_TZ_DATA).joinpath(name).read_text(encoding="utf-8")


@cache
def _zone_countries() -> dict[str, str]:
    """Each zone of zone.tab and the ISO code of the country it is listed under."""
    countries: dict[str, str] = {}
    for line in _read("zone.tab").splitlines():
        if not line or line.startswith("#"):
            continue
        fields = line.split("\t")
        countries[fields[2]] = fields[0]
    return countries


@cache
def canonical_zones() -> tuple[str, ...]:
    """Every zone the picker offers: "UTC", then zone.tab's zones in its order."""
    return (UTC_ZONE, *_zone_countries())


@cache
def _links() -> dict[str, str]:
    """The database's links (alias -> target), from the compact source the package ships."""
    links: dict[str, str] = {}
    for line in _read("tzdata.zi").splitlines():
        if line.startswith("L "):
            _, target, alias = line.split()
            links[alias] = target
    return links


@cache
def _canonical_set() -> frozenset[str]:
    return frozenset(canonical_zones())


@cache
def _known_zones() -> frozenset[str]:
    """The offered zones that some link (an older or alternative name) points at."""
    known = _canonical_set()
    return frozenset(zone for zone in map(canonical_zone, _links().values()) if zone in known)


def canonical_zone(name: str) -> str:
    """The offered zone that `name` stands for: Asia/Calcutta gives Asia/Kolkata, Etc/UTC gives
    UTC. A name that is neither offered nor a link to an offered zone comes back unchanged."""
    known = _canonical_set()
    links = _links()
    current = name
    # Links point at zones, but follow a short chain should a future release nest them.
    for _step in range(4):
        if current in known:
            return current
        if current in _UTC_NAMES:
            return UTC_ZONE
        target = links.get(current)
        if target is None:
            break
        current = target
    return name


@cache
def browser_aliases() -> tuple[tuple[str, str], ...]:
    """The links a browser may report for its own zone (geographic names such as Asia/Calcutta,
    which ICU still uses) and the UTC names, each with the offered zone it maps to."""
    areas = tuple(f"{region}/" for region in REGIONS)
    known = _canonical_set()
    pairs = []
    for alias in sorted(_links()):
        if alias in known or not (alias.startswith(areas) or alias in _UTC_NAMES):
            continue
        target = canonical_zone(alias)
        if target != alias:
            pairs.append((alias, target))
    for alias in sorted(_UTC_NAMES - set(_links())):
        pairs.append((alias, UTC_ZONE))
    return tuple(pairs)


def _sort_key(choice: ZoneChoice) -> tuple[int, str]:
    folded = unicodedata.normalize("NFKD", choice.city).casefold()
    return choice.offset_minutes, "".join(c for c in folded if not unicodedata.combining(c))


# ZoneInfo keeps only a few zones strongly: hold all of the offered ones, or every hour's list
# would read some four hundred zone files again.
_zone_info = cache(ZoneInfo)


def _offset_minutes(zone: str, moment: datetime) -> int:
    offset = moment.astimezone(_zone_info(zone)).utcoffset()
    return int(offset.total_seconds() // 60) if offset is not None else 0


def _choice(zone: str, locale: Locale, moment: datetime) -> ZoneChoice:
    code = _zone_countries().get(zone)
    if zone == UTC_ZONE or code is None:
        return ZoneChoice(zone, "", zone.replace("_", " "), "", _offset_minutes(zone, moment))
    return ZoneChoice(
        zone=zone,
        region=zone.split("/", 1)[0],
        city=get_timezone_location(zone, locale=locale, return_city=True),
        country=locale.territories.get(code, code),
        offset_minutes=_offset_minutes(zone, moment),
        known=zone in _known_zones(),
    )


def _region_label(region: str) -> str:
    labels = {
        "Africa": _("Africa"),
        "America": _("Americas"),
        "Antarctica": _("Antarctica"),
        "Arctic": _("Arctic"),
        "Asia": _("Asia"),
        "Atlantic": _("Atlantic Ocean"),
        "Australia": _("Australia"),
        "Europe": _("Europe"),
        "Indian": _("Indian Ocean"),
        "Pacific": _("Pacific Ocean"),
    }
    return labels.get(region, region)


def _hour(now: datetime | None) -> datetime:
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return moment.replace(minute=0, second=0, microsecond=0)


def zone_choices(locale: str | None = None, now: datetime | None = None) -> tuple[ZoneChoice, ...]:
    """Every offered zone in `locale` (the current one by default), sorted by offset then name,
    with the offsets in force at `now` (by default the present hour)."""
    return _choices(i18n.supported(locale) or i18n.current_locale(), _hour(now))


@cache
def _named(locale: str) -> tuple[ZoneChoice, ...]:
    """Every offered zone with its names in `locale`; the offsets are filled in per hour."""
    babel_locale = Locale.parse(locale)
    return tuple(_choice(zone, babel_locale, _EPOCH) for zone in canonical_zones())


@lru_cache(maxsize=8)
def _choices(locale: str, hour: datetime) -> tuple[ZoneChoice, ...]:
    dated = (replace(c, offset_minutes=_offset_minutes(c.zone, hour)) for c in _named(locale))
    return tuple(sorted(dated, key=_sort_key))


@lru_cache(maxsize=8)
def _groups(locale: str, hour: datetime) -> tuple[ZoneGroup, ...]:
    choices = _choices(locale, hour)
    with i18n.use_locale(locale):
        return tuple(
            ZoneGroup(region, _region_label(region), members)
            for region in REGIONS
            if (members := tuple(c for c in choices if c.region == region))
        )


def zone_picker(
    zone: str | None, *, locale: str | None = None, now: datetime | None = None
) -> ZonePicker:
    """The picker for a booking whose zone is `zone` (any IANA name, or none for UTC)."""
    language = i18n.supported(locale) or i18n.current_locale()
    hour = _hour(now)
    choices = _choices(language, hour)
    selected = canonical_zone(zone) if zone and is_known_zone(zone) else UTC_ZONE
    extra = None
    if selected not in _canonical_set():
        extra = _choice(selected, Locale.parse(language), hour)
    aliases = dict(browser_aliases())
    if zone and zone != selected and selected in _canonical_set():
        aliases[zone] = selected
    utc = next(choice for choice in choices if choice.zone == UTC_ZONE)
    return ZonePicker(
        selected=selected,
        utc=utc,
        groups=_groups(language, hour),
        extra=extra,
        aliases=" ".join(f"{alias}:{target}" for alias, target in aliases.items()),
    )
