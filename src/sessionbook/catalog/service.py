"""Catalog use cases: packages on sale for new bookings, and the coach's edits with their audit.

Every figure a new booking copies comes from here; an existing booking reads its own snapshot.
A package is never deleted and its id never reused: deactivating takes it off sale.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import structlog
from sqlalchemy.exc import IntegrityError

from sessionbook.catalog.models import Package, PackageChange
from sessionbook.catalog.repository import PackageRepository
from sessionbook.core.db import ADMIN, Actor, Database, Role, utcnow
from sessionbook.core.errors import ServiceError, ValidationFailed

log = structlog.get_logger(__name__)

PACKAGE_ID_SHAPE = re.compile(r"^[a-z0-9][a-z0-9-]{1,39}$")
MIN_DURATION, MAX_DURATION = 5, 480
MIN_SESSIONS, MAX_SESSIONS = 1, 100
MAX_TITLE_LENGTH = 200
MAX_DESCRIPTION_LENGTH = 2000
# A customer's transaction without a token: sees active packages, no booking at all.
PUBLIC = Actor(Role.CUSTOMER)


class EventTypeUnknown(Exception):
    """Cal.com has no event type with this id (for our API key)."""


class EventTypeUnchecked(Exception):
    """Cal.com could not be asked (outage, refused key); nothing may be saved unchecked."""


# Cal.com event type id -> its length in minutes; raises one of the two errors above.
EventTypeLength = Callable[[int], Awaitable[int]]


class PackageRefused(ValidationFailed):
    """A package edit broke a rule; `fields` names each field (by attribute) and why."""

    default_message = "The package was not saved. Please correct the fields named."


class PackageNotFound(ServiceError):
    status_code = 404
    code = "package_not_found"
    default_message = "There is no package with this id."


@dataclass(frozen=True, slots=True)
class PackageDraft:
    """What the coach typed, already turned into numbers; the service checks the rules."""

    title: str
    description: str
    price_cents: int
    duration_minutes: int
    sessions: int
    valid_days: int | None
    cal_event_type_id: int
    active: bool


@dataclass(frozen=True, slots=True)
class ChangeAuthor:
    """Who made a change, for the audit trail."""

    changed_by: str
    client_address: str | None


EDITABLE = (
    "title",
    "description",
    "price_cents",
    "duration_minutes",
    "sessions",
    "valid_days",
    "cal_event_type_id",
    "active",
)


def package_facts(package: Package) -> dict[str, Any]:
    """The package's values as the audit trail records them."""
    return {
        "title": package.title,
        "description": package.description,
        "priceCents": package.price_cents,
        "currency": package.currency,
        "durationMinutes": package.duration_minutes,
        "sessions": package.sessions,
        "validDays": package.valid_days,
        "calEventTypeId": package.cal_event_type_id,
        "active": package.active,
        "position": package.position,
    }


def draft_problems(draft: PackageDraft) -> dict[str, str]:
    """Every rule a draft breaks, by field; empty when it may be saved (Cal.com aside)."""
    problems: dict[str, str] = {}
    if not draft.title.strip():
        problems["title"] = "must not be empty"
    elif len(draft.title) > MAX_TITLE_LENGTH:
        problems["title"] = f"must be at most {MAX_TITLE_LENGTH} characters"
    if len(draft.description) > MAX_DESCRIPTION_LENGTH:
        problems["description"] = f"must be at most {MAX_DESCRIPTION_LENGTH} characters"
    if draft.price_cents < 0:
        problems["price_cents"] = "must not be negative"
    if not MIN_DURATION <= draft.duration_minutes <= MAX_DURATION:
        problems["duration_minutes"] = f"must be between {MIN_DURATION} and {MAX_DURATION} minutes"
    if not MIN_SESSIONS <= draft.sessions <= MAX_SESSIONS:
        problems["sessions"] = f"must be between {MIN_SESSIONS} and {MAX_SESSIONS}"
    if draft.valid_days is not None and draft.valid_days < 1:
        problems["valid_days"] = "must be at least 1 day, or empty for no limit"
    if draft.cal_event_type_id <= 0:
        problems["cal_event_type_id"] = "must be a positive whole number"
    return problems


class CatalogService:
    """Lists packages for new bookings and applies the coach's edits, each with an audit row."""

    def __init__(
        self,
        *,
        database: Database,
        default_currency: str,
        event_type_length: EventTypeLength,
    ) -> None:
        self.database = database
        self.default_currency = default_currency
        self.event_type_length = event_type_length

    # -- reads ----------------------------------------------------------------------------

    async def on_sale(self) -> Sequence[Package]:
        """Active packages in the operator's order, read as a customer may."""
        async with self.database.transaction(PUBLIC) as session:
            return await PackageRepository(session).in_order(active_only=True)

    async def on_sale_by_id(self, package_id: str) -> Package | None:
        async with self.database.transaction(PUBLIC) as session:
            return await PackageRepository(session).active_by_id(package_id)

    async def every_package(self) -> Sequence[Package]:
        """Active and inactive, in order: the admin's list."""
        async with self.database.transaction(ADMIN) as session:
            return await PackageRepository(session).in_order(active_only=False)

    async def package(self, package_id: str) -> Package:
        async with self.database.transaction(ADMIN) as session:
            found = await PackageRepository(session).by_id(package_id)
        if found is None:
            raise PackageNotFound()
        return found

    async def history(self, package_id: str) -> Sequence[PackageChange]:
        async with self.database.transaction(ADMIN) as session:
            return await PackageRepository(session).changes_of(package_id)

    # -- the coach's edits ---------------------------------------------------------------

    async def create(self, package_id: str, draft: PackageDraft, author: ChangeAuthor) -> Package:
        """A new package; its id must be a fresh slug, never one used before."""
        problems = draft_problems(draft)
        if not PACKAGE_ID_SHAPE.fullmatch(package_id):
            problems["id"] = (
                "must be 2-40 lowercase letters, digits or dashes, starting with a letter or digit"
            )
        elif await self._exists(package_id):
            problems["id"] = f"{package_id!r} is already used (ids are never reused)"
        if problems:
            raise PackageRefused(fields=problems)
        await self._check_event_type(package_id, draft)
        now = utcnow()
        try:
            async with self.database.transaction(ADMIN) as session:
                repository = PackageRepository(session)
                package = Package(
                    id=package_id,
                    currency=self.default_currency,
                    position=await repository.next_position(),
                    created_at=now,
                    updated_at=now,
                    **{name: getattr(draft, name) for name in EDITABLE},
                )
                await repository.add(package)
                await _audit(repository, package, "created", author, None, package_facts(package))
        except IntegrityError:
            # Another admin took the id between our check and the insert.
            raise PackageRefused(
                fields={"id": f"{package_id!r} is already used (ids are never reused)"}
            ) from None
        log.info("package_created", package_id=package_id)
        return package

    async def update(self, package_id: str, draft: PackageDraft, author: ChangeAuthor) -> Package:
        """Change a package for new bookings; bookings already made keep their snapshot."""
        await self.package(package_id)
        problems = draft_problems(draft)
        if problems:
            raise PackageRefused(fields=problems)
        if draft.active:
            await self._check_event_type(package_id, draft)
        async with self.database.transaction(ADMIN) as session:
            repository = PackageRepository(session)
            package = await repository.by_id(package_id, for_update=True)
            if package is None:
                raise PackageNotFound()
            before = package_facts(package)
            for name in EDITABLE:
                setattr(package, name, getattr(draft, name))
            package.updated_at = utcnow()
            after = package_facts(package)
            changed = [key for key in after if after[key] != before[key]]
            if changed:
                action = "edited"
                if before["active"] != after["active"]:
                    action = "reactivated" if package.active else "deactivated"
                await _audit(
                    repository,
                    package,
                    action,
                    author,
                    {key: before[key] for key in changed},
                    {key: after[key] for key in changed},
                )
        log.info("package_updated", package_id=package_id)
        return package

    async def set_active(self, package_id: str, active: bool, author: ChangeAuthor) -> Package:
        """Take a package off sale, or back on sale (checked against Cal.com first)."""
        current = await self.package(package_id)
        values = {name: getattr(current, name) for name in EDITABLE}
        values["active"] = active
        return await self.update(package_id, PackageDraft(**values), author)

    async def move(
        self, package_id: str, direction: Literal["up", "down"], author: ChangeAuthor
    ) -> None:
        """Swap a package with its neighbour in the operator's order."""
        async with self.database.transaction(ADMIN) as session:
            repository = PackageRepository(session)
            ordered = list(await repository.in_order(active_only=False))
            index = next((i for i, p in enumerate(ordered) if p.id == package_id), None)
            if index is None:
                raise PackageNotFound()
            other = index - 1 if direction == "up" else index + 1
            if not 0 <= other < len(ordered):
                return
            ordered[index], ordered[other] = ordered[other], ordered[index]
            for position, package in enumerate(ordered):
                if package.position != position:
                    before = package.position
                    package.position = position
                    await _audit(
                        repository,
                        package,
                        "moved",
                        author,
                        {"position": before},
                        {"position": position},
                    )

    # -- helpers -------------------------------------------------------------------------

    async def _exists(self, package_id: str) -> bool:
        async with self.database.transaction(ADMIN) as session:
            return await PackageRepository(session).by_id(package_id) is not None

    async def _check_event_type(self, package_id: str, draft: PackageDraft) -> None:
        """The event type must exist at Cal.com and last exactly as long as the package."""
        event_type_id = draft.cal_event_type_id
        try:
            length = await self.event_type_length(event_type_id)
        except EventTypeUnknown:
            raise PackageRefused(
                f"Package {package_id}: Cal.com has no event type {event_type_id}.",
                fields={"cal_event_type_id": f"Cal.com has no event type {event_type_id}"},
            ) from None
        except EventTypeUnchecked:
            raise PackageRefused(
                "Cal.com is not answering, so the event type could not be checked. "
                "Nothing was saved; please try again in a moment.",
                fields={"cal_event_type_id": "could not be checked with Cal.com"},
            ) from None
        if length != draft.duration_minutes:
            message = (
                f"Cal.com event type {event_type_id} lasts {length} minutes "
                f"but this package lasts {draft.duration_minutes}"
            )
            raise PackageRefused(
                f"Package {package_id}: {message}.",
                fields={"cal_event_type_id": message, "duration_minutes": message},
            )


async def _audit(
    repository: PackageRepository,
    package: Package,
    action: str,
    author: ChangeAuthor,
    before: dict[str, Any] | None,
    after: dict[str, Any],
) -> None:
    await repository.add_change(
        PackageChange(
            package_id=package.id,
            action=action,
            changed_by=author.changed_by,
            client_address=author.client_address,
            before=before,
            after=after,
            created_at=utcnow(),
        )
    )
