"""Every customer-facing string of the code and pages has its French translation.

The strings are extracted the way `make messages` extracts them (babel.cfg, Babel's own
extractors), so a new `_()` anywhere in src/sessionbook fails here until fr/messages.po has it.
"""

from __future__ import annotations

import re
from configparser import ConfigParser
from pathlib import Path
from typing import Any

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from sessionbook.core import i18n

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "src" / "sessionbook"
FRENCH = i18n.LOCALES_DIR / "fr" / "LC_MESSAGES" / "messages.po"
_PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")

Msgid = str | tuple[str, ...]


def extracted() -> dict[Msgid, str]:
    """Each msgid of the source (a tuple for plural ones) and the first file that has it."""
    method_map, options_map = mapping()
    found: dict[Msgid, str] = {}
    for filename, _line, message, _comments, _context in extract_from_dir(
        SOURCE, method_map, options_map
    ):
        key: Msgid = message if isinstance(message, str) else tuple(m for m in message if m)
        found.setdefault(key, filename)
    return found


def mapping() -> tuple[list[tuple[str, str]], dict[str, dict[str, Any]]]:
    """babel.cfg as Babel's extractor takes it: [method: pattern] sections and their options."""
    config = ConfigParser()
    config.read(ROOT / "babel.cfg")
    method_map: list[tuple[str, str]] = []
    options_map: dict[str, dict[str, Any]] = {}
    for section in config.sections():
        method, pattern = (part.strip() for part in section.split(":", 1))
        method_map.append((pattern, method))
        options_map[pattern] = dict(config.items(section))
    return method_map, options_map


def texts(value: Any) -> tuple[str, ...]:
    """A msgid or msgstr as its texts: one, or one per plural form."""
    return (value,) if isinstance(value, str) else tuple(value)


def french() -> Catalog:
    with FRENCH.open("rb") as source:
        return read_po(source, locale="fr")


def test_the_source_has_strings_to_translate() -> None:
    messages = extracted()

    assert "Page not found" in messages
    assert ("%(num)d hour", "%(num)d hours") in messages


def test_every_string_has_a_french_translation_and_none_is_fuzzy() -> None:
    catalog = french()
    problems = []
    for msgid, filename in extracted().items():
        entry = catalog.get(msgid[0] if isinstance(msgid, tuple) else msgid)
        if entry is None:
            problems.append(f"{filename}: {msgid!r} is not in fr/messages.po")
            continue
        if not all(texts(entry.string)):
            problems.append(f"{filename}: {msgid!r} has no French translation")
        if entry.fuzzy:
            problems.append(f"{filename}: {msgid!r} is marked fuzzy")
    assert not problems, "\n".join(problems)


def test_translations_keep_the_placeholders_of_their_msgid() -> None:
    problems = []
    for entry in french():
        if not entry.id:
            continue
        wanted = set().union(*(_PLACEHOLDER.findall(text) for text in texts(entry.id)))
        for text in texts(entry.string):
            if text and set(_PLACEHOLDER.findall(text)) != wanted:
                problems.append(f"{entry.id!r}: {text!r}")
    assert not problems, "\n".join(problems)


def test_the_catalog_has_no_fuzzy_header() -> None:
    assert not french().fuzzy
