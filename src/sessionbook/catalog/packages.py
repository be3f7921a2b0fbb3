"""The packages on sale: price, currency, duration, title and Cal.com event type."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

from sessionbook.core.settings import PACKAGE_IDS, ConfigurationError, PackageId, Settings


@dataclass(frozen=True, slots=True)
class Package:
    """One thing a customer can buy; every figure here is server-side truth."""

    id: PackageId
    title: str
    description: str
    price_cents: int
    currency: str
    duration_minutes: int
    cal_event_type_id: int

    @property
    def requires_payment(self) -> bool:
        return self.price_cents > 0


# Defaults a coach can start with; documented in the README, overridable by SESSIONBOOK_CATALOG.
_DEFAULTS: dict[PackageId, dict[str, Any]] = {
    "discovery": {
        "title": "Discovery call",
        "description": "A free 30-minute call to see whether coaching suits you.",
        "price_cents": 0,
        "duration_minutes": 30,
    },
    "single": {
        "title": "Single session",
        "description": "One 60-minute coaching session.",
        "price_cents": 15000,
        "duration_minutes": 60,
    },
    "monthly": {
        "title": "Monthly package",
        "description": "A month of coaching, starting with a 60-minute session.",
        "price_cents": 50000,
        "duration_minutes": 60,
    },
    "quarterly": {
        "title": "Quarterly package",
        "description": "Three months of coaching, starting with a 60-minute session.",
        "price_cents": 135000,
        "duration_minutes": 60,
    },
}

_OVERRIDABLE = {
    "title": ("title", str),
    "description": ("description", str),
    "priceCents": ("price_cents", int),
    "durationMinutes": ("duration_minutes", int),
    "currency": ("currency", str),
}


class Catalog:
    """The four packages, in display order."""

    def __init__(self, packages: list[Package]) -> None:
        self._packages = {package.id: package for package in packages}

    def get(self, package_id: str) -> Package | None:
        for package in self._packages.values():
            if package.id == package_id:
                return package
        return None

    def __getitem__(self, package_id: PackageId) -> Package:
        return self._packages[package_id]

    def all(self) -> list[Package]:
        return [self._packages[package_id] for package_id in PACKAGE_IDS]


def build_catalog(settings: Settings) -> Catalog:
    """Defaults, then SESSIONBOOK_CATALOG overrides, checked so a typo stops the start."""
    packages = {
        package_id: Package(
            id=package_id,
            currency=settings.currency,
            cal_event_type_id=settings.event_type_id(package_id),
            **fields,
        )
        for package_id, fields in _DEFAULTS.items()
    }
    if settings.catalog:
        overrides = json.loads(settings.catalog)
        if not isinstance(overrides, dict):
            raise ConfigurationError("SESSIONBOOK_CATALOG must be a JSON object keyed by package")
        for package_id, changes in overrides.items():
            if package_id not in packages or not isinstance(changes, dict):
                raise ConfigurationError(f"SESSIONBOOK_CATALOG: unknown package {package_id!r}")
            updates: dict[str, Any] = {}
            for key, value in changes.items():
                if key not in _OVERRIDABLE:
                    raise ConfigurationError(
                        f"SESSIONBOOK_CATALOG.{package_id}: unknown field {key!r}"
                    )
                attribute, kind = _OVERRIDABLE[key]
                if not isinstance(value, kind) or isinstance(value, bool):
                    raise ConfigurationError(
                        f"SESSIONBOOK_CATALOG.{package_id}.{key} must be {kind.__name__}"
                    )
                updates[attribute] = value
            packages[package_id] = replace(packages[package_id], **updates)
    for package in packages.values():
        _check(package)
    return Catalog(list(packages.values()))


def _check(package: Package) -> None:
    where = f"SESSIONBOOK_CATALOG.{package.id}"
    if package.price_cents < 0:
        raise ConfigurationError(f"{where}.priceCents must not be negative")
    if not 5 <= package.duration_minutes <= 480:
        raise ConfigurationError(f"{where}.durationMinutes must be between 5 and 480")
    if (
        len(package.currency) != 3
        or not package.currency.isalpha()
        or not package.currency.isupper()
    ):
        raise ConfigurationError(f"{where}.currency must be an ISO 4217 code like USD")
    if not package.title.strip():
        raise ConfigurationError(f"{where}.title must not be empty")
