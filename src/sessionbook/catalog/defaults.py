"""The packages a fresh install starts with: the defaults, SESSIONBOOK_CATALOG and CAL_* ids.

Read once, by the migration that creates the packages table; from then on the coach edits
packages in the admin and these settings no longer matter.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

from sessionbook.core.settings import (
    PACKAGE_IDS,
    SANDBOX_EVENT_TYPE_IDS,
    ConfigurationError,
    PackageId,
    Settings,
)


@dataclass(frozen=True, slots=True)
class PackageSeed:
    """The first values of one package, as the migration inserts them."""

    id: str
    title: str
    description: str
    price_cents: int
    currency: str
    duration_minutes: int
    sessions: int
    valid_days: int | None
    cal_event_type_id: int


@dataclass(frozen=True, slots=True)
class SandboxEventType:
    """An event type the Cal.com stand-in knows; a package in sandbox mode must use one."""

    id: int
    length_minutes: int
    title: str
    slug: str


_DEFAULTS: dict[PackageId, dict[str, Any]] = {
    "discovery": {
        "title": "Discovery call",
        "description": "A free 30-minute call to see whether coaching suits you.",
        "price_cents": 0,
        "duration_minutes": 30,
        "sessions": 1,
        "valid_days": None,
    },
    "single": {
        "title": "Single session",
        "description": "One 60-minute coaching session.",
        "price_cents": 15000,
        "duration_minutes": 60,
        "sessions": 1,
        "valid_days": None,
    },
    "monthly": {
        "title": "Monthly package",
        "description": "4 sessions of 60 minutes, to book within 31 days.",
        "price_cents": 50000,
        "duration_minutes": 60,
        "sessions": 4,
        "valid_days": 31,
    },
    "quarterly": {
        "title": "Quarterly package",
        "description": "12 sessions of 60 minutes, to book within 92 days.",
        "price_cents": 135000,
        "duration_minutes": 60,
        "sessions": 12,
        "valid_days": 92,
    },
}

# The stand-in's fixed event types: one per default package (ids of SANDBOX_EVENT_TYPE_IDS),
# and generic lengths with stable ids that a package the coach creates can use.
GENERIC_SANDBOX_LENGTHS = (15, 30, 45, 60, 90, 120)
SANDBOX_EVENT_TYPES: tuple[SandboxEventType, ...] = (
    *(
        SandboxEventType(
            id=SANDBOX_EVENT_TYPE_IDS[package_id],
            length_minutes=_DEFAULTS[package_id]["duration_minutes"],
            title=_DEFAULTS[package_id]["title"],
            slug=package_id,
        )
        for package_id in PACKAGE_IDS
    ),
    *(
        SandboxEventType(
            id=2000 + minutes,
            length_minutes=minutes,
            title=f"{minutes} minutes",
            slug=f"{minutes}min",
        )
        for minutes in GENERIC_SANDBOX_LENGTHS
    ),
)

_OVERRIDABLE: dict[str, tuple[str, type]] = {
    "title": ("title", str),
    "description": ("description", str),
    "priceCents": ("price_cents", int),
    "durationMinutes": ("duration_minutes", int),
    "currency": ("currency", str),
    "sessions": ("sessions", int),
    "validDays": ("valid_days", int),
}


def seed_packages(settings: Settings) -> list[PackageSeed]:
    """Defaults, then SESSIONBOOK_CATALOG overrides, checked so a typo stops the migration."""
    packages = {
        package_id: PackageSeed(
            id=package_id, currency=settings.currency, cal_event_type_id=0, **fields
        )
        for package_id, fields in _DEFAULTS.items()
    }
    for package_id, updates in _overrides(settings.catalog).items():
        packages[package_id] = replace(packages[package_id], **updates)
    seeds = [
        replace(package, cal_event_type_id=_event_type_id(settings, package))
        for package in packages.values()
    ]
    for seed in seeds:
        _check(seed)
    return seeds


def _overrides(catalog: str | None) -> dict[PackageId, dict[str, Any]]:
    if not catalog:
        return {}
    overrides = json.loads(catalog)
    if not isinstance(overrides, dict):
        raise ConfigurationError("SESSIONBOOK_CATALOG must be a JSON object keyed by package")
    checked: dict[PackageId, dict[str, Any]] = {}
    for package_id, changes in overrides.items():
        if package_id not in PACKAGE_IDS or not isinstance(changes, dict):
            raise ConfigurationError(f"SESSIONBOOK_CATALOG: unknown package {package_id!r}")
        updates: dict[str, Any] = {}
        for key, value in changes.items():
            if key not in _OVERRIDABLE:
                raise ConfigurationError(f"SESSIONBOOK_CATALOG.{package_id}: unknown field {key!r}")
            attribute, kind = _OVERRIDABLE[key]
            optional = key == "validDays" and value is None
            if not optional and (not isinstance(value, kind) or isinstance(value, bool)):
                raise ConfigurationError(
                    f"SESSIONBOOK_CATALOG.{package_id}.{key} must be {kind.__name__}"
                )
            updates[attribute] = value
        checked[package_id] = updates
    return checked


def _event_type_id(settings: Settings, package: PackageSeed) -> int:
    """The configured id, or the sandbox event type that lasts as long as the package."""
    configured: int | None = getattr(settings, f"cal_{package.id}_event_type_id")
    if configured is not None:
        return configured
    own = SANDBOX_EVENT_TYPE_IDS[package.id]  # type: ignore[index]
    for event_type in SANDBOX_EVENT_TYPES:
        if event_type.id == own and event_type.length_minutes == package.duration_minutes:
            return own
    for event_type in SANDBOX_EVENT_TYPES:
        if event_type.length_minutes == package.duration_minutes:
            return event_type.id
    return own


def _check(package: PackageSeed) -> None:
    where = f"SESSIONBOOK_CATALOG.{package.id}"
    if package.price_cents < 0:
        raise ConfigurationError(f"{where}.priceCents must not be negative")
    if not 5 <= package.duration_minutes <= 480:
        raise ConfigurationError(f"{where}.durationMinutes must be between 5 and 480")
    if not 1 <= package.sessions <= 100:
        raise ConfigurationError(f"{where}.sessions must be between 1 and 100")
    if package.valid_days is not None and package.valid_days < 1:
        raise ConfigurationError(f"{where}.validDays must be at least 1")
    if (
        len(package.currency) != 3
        or not package.currency.isalpha()
        or not package.currency.isupper()
    ):
        raise ConfigurationError(f"{where}.currency must be an ISO 4217 code like USD")
    if not package.title.strip():
        raise ConfigurationError(f"{where}.title must not be empty")
