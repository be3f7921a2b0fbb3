"""The zones the booking page offers: canonical only, named in the page's language, with offsets."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from sessionbook.core.i18n import LOCALES_DIR, use_locale
from sessionbook.web import timezones
from sessionbook.web.templating import TEMPLATES_DIR
from sessionbook.web.timezones import (
    browser_aliases,
    canonical_zone,
    canonical_zones,
    zone_choices,
    zone_picker,
)

JANUARY = datetime(2027, 1, 15, 12, 0, tzinfo=UTC)
JULY = datetime(2027, 7, 15, 12, 0, tzinfo=UTC)


def choice(zone: str, locale: str = "en", now: datetime = JANUARY) -> timezones.ZoneChoice:
    return next(c for c in zone_choices(locale, now) if c.zone == zone)


def test_only_canonical_zones_are_offered() -> None:
    offered = {c.zone for c in zone_choices("en", JANUARY)}

    for alias in ("US/Eastern", "Asia/Calcutta", "Europe/Kiev", "Asia/Saigon", "Etc/UTC", "GMT"):
        assert alias not in offered
    for zone in ("UTC", "Europe/Kyiv", "Europe/Paris", "Asia/Kolkata", "America/New_York"):
        assert zone in offered
    # zone.tab, one row per zone, and UTC: the tz database's own list, not a hand-made one.
    assert len(offered) == len(canonical_zones()) > 400


def test_offsets_follow_summer_time() -> None:
    assert choice("Europe/Paris", now=JANUARY).offset == "+01:00"
    assert choice("Europe/Paris", now=JULY).offset == "+02:00"
    assert choice("Europe/Kyiv", now=JANUARY).offset == "+02:00"
    assert choice("Europe/Kyiv", now=JULY).offset == "+03:00"
    assert choice("Asia/Kolkata", now=JULY).offset == "+05:30"
    assert choice("America/St_Johns", now=JANUARY).offset == "-03:30"
    assert choice("UTC", now=JULY).offset == "+00:00"


def test_labels_name_city_country_and_offset() -> None:
    assert choice("Europe/Paris").label == "(UTC+01:00) Paris, France"
    assert choice("America/Sao_Paulo").label == "(UTC-03:00) São Paulo, Brazil"
    assert choice("America/New_York").label == "(UTC-05:00) New York, United States"
    assert choice("UTC").label == "(UTC+00:00) UTC"


def test_french_names() -> None:
    assert choice("Europe/Paris", "fr").label == "(UTC+01:00) Paris, France"
    assert choice("America/New_York", "fr").country == "États-Unis"
    assert choice("Asia/Kolkata", "fr").label == "(UTC+05:30) Calcutta, Inde"
    with use_locale("fr"):
        picker = zone_picker("Europe/Paris", now=JANUARY)
    assert "Amériques" in [group.label for group in picker.groups]
    assert choice("Europe/Paris", "en").country == "France"


def test_sorted_by_offset_then_name() -> None:
    choices = zone_choices("en", JANUARY)
    keys = [(c.offset_minutes, c.city.casefold()) for c in choices]
    assert [k[0] for k in keys] == sorted(k[0] for k in keys)
    plus_one = [c.city for c in choices if c.offset_minutes == 60]
    assert plus_one.index("Paris") > plus_one.index("Berlin")
    assert choices[0].offset_minutes < 0 < choices[-1].offset_minutes


@pytest.mark.parametrize(
    ("name", "zone"),
    [
        ("Asia/Calcutta", "Asia/Kolkata"),
        ("US/Eastern", "America/New_York"),
        ("Europe/Kiev", "Europe/Kyiv"),
        ("America/Buenos_Aires", "America/Argentina/Buenos_Aires"),
        ("Etc/UTC", "UTC"),
        ("Zulu", "UTC"),
        ("Europe/Paris", "Europe/Paris"),
        ("Etc/GMT+5", "Etc/GMT+5"),
    ],
)
def test_aliases_map_to_their_canonical_zone(name: str, zone: str) -> None:
    assert canonical_zone(name) == zone


def test_the_picker_selects_the_canonical_zone_of_a_stored_alias() -> None:
    picker = zone_picker("Asia/Calcutta", locale="en", now=JANUARY)

    assert picker.selected == "Asia/Kolkata"
    assert picker.extra is None
    assert "Asia/Calcutta:Asia/Kolkata" in picker.aliases.split()


def test_a_stored_alias_the_browser_list_lacks_is_still_mapped_for_the_script() -> None:
    assert "US/Eastern" not in dict(browser_aliases())
    picker = zone_picker("US/Eastern", locale="en", now=JANUARY)

    assert picker.selected == "America/New_York"
    assert "US/Eastern:America/New_York" in picker.aliases.split()


def test_browser_aliases_cover_the_names_icu_reports() -> None:
    aliases = dict(browser_aliases())

    assert aliases["Asia/Calcutta"] == "Asia/Kolkata"
    assert aliases["Europe/Kiev"] == "Europe/Kyiv"
    assert aliases["Asia/Katmandu"] == "Asia/Kathmandu"
    assert aliases["Etc/UTC"] == "UTC"
    assert set(aliases.values()) <= set(canonical_zones())


def test_a_valid_zone_outside_the_list_is_kept_as_an_extra_choice() -> None:
    picker = zone_picker("Etc/GMT+5", locale="en", now=JANUARY)

    assert picker.selected == "Etc/GMT+5"
    assert picker.extra is not None
    assert picker.extra.label == "(UTC-05:00) Etc/GMT+5"


@pytest.mark.parametrize("zone", [None, "", "Mars/Olympus", "../../etc/passwd"])
def test_no_zone_or_an_unknown_one_selects_utc(zone: str | None) -> None:
    picker = zone_picker(zone, locale="en", now=JANUARY)

    assert (picker.selected, picker.extra) == ("UTC", None)


def test_one_list_per_locale_and_hour() -> None:
    assert zone_choices("en", JANUARY) is zone_choices("en", JANUARY.replace(minute=59))
    assert zone_choices("en", JANUARY) is not zone_choices("fr", JANUARY)
    assert zone_choices("en", JANUARY) is not zone_choices("en", JANUARY.replace(hour=13))


def test_every_picker_string_has_a_french_translation() -> None:
    """The template's and the region names' msgids are all in the French catalog, translated."""
    template = (TEMPLATES_DIR / "_tz_picker.html").read_text(encoding="utf-8")
    source = Path(timezones.__file__).read_text(encoding="utf-8")
    msgids = set(re.findall(r"""_\((["'])(.+?)\1\)""", template + source))
    assert len(msgids) >= 14
    with (LOCALES_DIR / "fr" / "LC_MESSAGES" / "messages.po").open("rb") as po:
        catalog = read_po(po, locale="fr")
    for _quote, msgid in msgids:
        message = catalog.get(msgid)
        assert message is not None, msgid
        assert message.string, msgid
