"""Every customer-facing string of the code and pages has its French translation.

The strings are extracted the way `make messages` extracts them (babel.cfg, Babel's own
extractors), so a new `_()` anywhere in src/sessionbook fails here until fr/messages.po has it.
"""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from sessionbook.core import i18n

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "src" / "sessionbook"
FRENCH = i18n.LOCALES_DIR / "fr" / "LC_MESSAGES" / "messages.po"
_PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")

Msgid = str | tuple[str, ...]


def extracted() -> dict[Msgid, str]:
    """Each msgid of the source (a tuple for plural ones) and the first file that has it."""
    with (ROOT / "babel.cfg").open() as config:
        method_map, options_map = parse_mapping_cfg(config, str(ROOT / "babel.cfg"))
    found: dict[Msgid, str] = {}
    for filename, _line, message, _comments, _context in extract_from_dir(
        SOURCE, method_map, options_map
    ):
        key: Msgid = message if isinstance(message, str) else tuple(m for m in message if m)
        found.setdefault(key, filename)
    return found


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
        strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        if not all(strings):
            problems.append(f"{filename}: {msgid!r} has no French translation")
        if entry.fuzzy:
            problems.append(f"{filename}: {msgid!r} is marked fuzzy")
    assert not problems, "\n".join(problems)


def test_translations_keep_the_placeholders_of_their_msgid() -> None:
    problems = []
    for entry in french():
        if not entry.id:
            continue
        ids = entry.id if isinstance(entry.id, tuple) else (entry.id,)
        wanted = set().union(*(_PLACEHOLDER.findall(text) for text in ids))
        strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        for text in strings:
            if text and set(_PLACEHOLDER.findall(text)) != wanted:
                problems.append(f"{entry.id!r}: {text!r}")
    assert not problems, "\n".join(problems)


def test_the_catalog_has_no_fuzzy_header() -> None:
    assert not french().fuzzy
