"""The brand's rules: what a save accepts, and the current brand for pages and emails.

Reads are cached in this process for `CACHE_SECONDS` (5 s). Every page asks for the brand,
and it changes a few times a year: the cache spares a query per page. A save on this server
replaces the cached value at once, so the coach sees the change on the next page load; another
server behind the same database serves the old brand for at most those 5 seconds. No message
bus is needed for that, and 5 s is shorter than anyone takes to switch to a customer's page.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace

import structlog
from email_validator import EmailNotValidError, validate_email
from sqlalchemy.ext.asyncio import AsyncSession

from sessionbook.branding.colors import (
    AA_TEXT_CONTRAST,
    HEX_COLOR,
    WHITE,
    contrast_ratio,
    shown_ratio,
)
from sessionbook.branding.models import (
    BIO_MAX_LENGTH,
    BRAND_ROW_ID,
    EMAIL_MAX_LENGTH,
    NAME_MAX_LENGTH,
    Brand,
)
from sessionbook.branding.photo import PhotoRefused, ProcessedPhoto, process_photo
from sessionbook.branding.profile import BrandProfile
from sessionbook.branding.repository import BrandRepository, StoredPhoto
from sessionbook.core.api_models import has_control_characters
from sessionbook.core.db import ADMIN, Actor, Database, Role, utcnow
from sessionbook.core.errors import ValidationFailed
from sessionbook.core.i18n import SUPPORTED_LOCALES

log = structlog.get_logger(__name__)

CACHE_SECONDS = 5.0
# Pages read the brand as a customer without a token: the least a reader can be.
PUBLIC = Actor(Role.CUSTOMER)
FIELDS = (
    "business_name",
    "coach_name",
    "bio",
    "accent_color",
    "support_email",
    "default_language",
)


class BrandRefused(ValidationFailed):
    """A save with a field that breaks a rule; `fields` names each one."""

    default_message = "The brand was not saved. Please correct the fields named."


@dataclass(frozen=True, slots=True)
class BrandDraft:
    """What the coach typed, before the rules are checked."""

    business_name: str = ""
    coach_name: str = ""
    bio: str = ""
    accent_color: str = ""
    support_email: str = ""
    default_language: str = "en"


@dataclass(frozen=True, slots=True)
class BrandAuthor:
    """Who saved: one password, one operator, told apart by address (as packages do)."""

    changed_by: str
    client_address: str | None = None


@dataclass(frozen=True, slots=True)
class _CleanBrand:
    business_name: str
    coach_name: str
    bio: str
    accent_color: str
    support_email: str | None
    default_language: str


def check_draft(draft: BrandDraft) -> tuple[_CleanBrand | None, dict[str, str]]:
    """The values a save stores, or the problems, each under the name of its field."""
    problems: dict[str, str] = {}
    business_name = _one_line(draft.business_name, "business_name", problems)
    coach_name = _one_line(draft.coach_name, "coach_name", problems)
    if not business_name and not coach_name and "business_name" not in problems:
        problems["business_name"] = "give a business name or a coach name (or both)"
    bio = draft.bio.replace("\r\n", "\n").replace("\r", "\n").strip()
    if len(bio) > BIO_MAX_LENGTH:
        problems["bio"] = f"must be at most {BIO_MAX_LENGTH} characters (it has {len(bio)})"
    elif has_control_characters(bio, allow_newlines=True):
        problems["bio"] = "must not contain control characters"
    accent = _accent(draft.accent_color.strip(), problems)
    email = _email(draft.support_email.strip(), problems)
    language = draft.default_language.strip().lower()
    if language not in SUPPORTED_LOCALES:
        problems["default_language"] = f"must be one of {', '.join(SUPPORTED_LOCALES)}"
    if problems:
        return None, problems
    return _CleanBrand(business_name, coach_name, bio, accent, email, language), {}


def _one_line(typed: str, field: str, problems: dict[str, str]) -> str:
    value = " ".join(typed.split())
    if len(value) > NAME_MAX_LENGTH:
        problems[field] = f"must be at most {NAME_MAX_LENGTH} characters (it has {len(value)})"
    elif has_control_characters(value):
        problems[field] = "must not contain control characters"
    return value


def _accent(typed: str, problems: dict[str, str]) -> str:
    if not HEX_COLOR.fullmatch(typed):
        problems["accent_color"] = "must be a colour written #rrggbb, like #2f5d8a"
        return typed
    colour = typed.lower()
    ratio = contrast_ratio(colour, WHITE)
    if ratio < AA_TEXT_CONTRAST:
        problems["accent_color"] = (
            f"has a contrast of {shown_ratio(ratio)} against white; white text on it and it "
            f"as text on white need at least {AA_TEXT_CONTRAST}:1 (WCAG AA): choose a darker "
            "colour"
        )
    return colour


def _email(typed: str, problems: dict[str, str]) -> str | None:
    if not typed:
        return None
    if len(typed) > EMAIL_MAX_LENGTH or has_control_characters(typed):
        problems["support_email"] = "must be a valid email address"
        return None
    try:
        checked = validate_email(typed, check_deliverability=False)
    except EmailNotValidError:
        problems["support_email"] = "must be a valid email address, like help@example.com"
        return None
    return str(checked.normalized)


def profile_of(row: Brand | None) -> BrandProfile:
    if row is None:
        return BrandProfile()
    return BrandProfile(
        business_name=row.business_name,
        coach_name=row.coach_name,
        bio=row.bio,
        accent_color=row.accent_color,
        support_email=row.support_email,
        default_language=row.default_language,
        photo_version=row.photo_version,
        configured=row.configured,
    )


class BrandService:
    """Implements `BrandSource` from the database, and the admin's save."""

    def __init__(
        self,
        database: Database,
        *,
        cache_seconds: float = CACHE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.database = database
        self.cache_seconds = cache_seconds
        self.clock = clock
        self._cached: BrandProfile | None = None
        self._cached_at = 0.0
        # Bumped by every save here, so a read that began before it cannot cache older data.
        self._generation = 0
        self._photo: StoredPhoto | None = None

    async def current(self) -> BrandProfile:
        """The brand as saved, at most `cache_seconds` old (at once after a save here)."""
        cached = self._cached
        if cached is not None and self.clock() - self._cached_at < self.cache_seconds:
            return cached
        generation = self._generation
        async with self._reading() as session:
            profile = profile_of(await BrandRepository(session).current())
        if generation == self._generation:
            self._remember(profile)
        return profile

    async def default_language(self) -> str | None:
        """The language pages fall back to when a request names none we speak."""
        return (await self.current()).default_language

    def last_known(self) -> BrandProfile:
        """Without waiting: the last brand read (defaults before the first), for error pages."""
        return self._cached or BrandProfile()

    async def photo(self) -> StoredPhoto | None:
        """The stored photo, kept in memory while it is the current one."""
        version = (await self.current()).photo_version
        if version is None:
            return None
        kept = self._photo
        if kept is not None and kept.version == version:
            return kept
        async with self._reading() as session:
            stored = await BrandRepository(session).photo()
        if stored is not None and stored.version == version:
            self._photo = stored
        return stored

    async def save(
        self,
        draft: BrandDraft,
        author: BrandAuthor,
        *,
        photo: bytes | None = None,
        remove_photo: bool = False,
    ) -> BrandProfile:
        """Check every field (and the photo), then store them; BrandRefused names each problem.

        `photo` replaces the stored one; `remove_photo` drops it; neither keeps it.
        """
        clean, problems = check_draft(draft)
        processed: ProcessedPhoto | None = None
        if photo is not None and not remove_photo:
            try:
                processed = await asyncio.to_thread(process_photo, photo)
            except PhotoRefused as refused:
                problems["photo"] = str(refused)
        if clean is None or problems:
            raise BrandRefused(fields=problems)
        self._generation += 1
        async with self.database.transaction(ADMIN) as session:
            repository = BrandRepository(session)
            found = await repository.current(for_update=True)
            # The migration seeds the row; a missing one (restored from elsewhere) is made anew.
            row = found or Brand(id=BRAND_ROW_ID)
            before = profile_of(found) if found is not None and found.configured else None
            _apply(row, clean, author)
            if found is None:
                await repository.add(row)
            if processed is not None:
                row.photo = processed.data
                row.photo_content_type = processed.content_type
                row.photo_version = processed.version
            elif remove_photo:
                row.photo = None
                row.photo_content_type = None
                row.photo_version = None
            await session.flush()
            profile = profile_of(row)
        self._generation += 1
        self._remember(profile)
        log.info(
            "brand_saved",
            changed_by=author.changed_by,
            client_address=author.client_address,
            fields=_changed_fields(before, profile),
            photo="replaced" if processed else "removed" if remove_photo else "kept",
        )
        return profile

    def _remember(self, profile: BrandProfile) -> None:
        self._cached = profile
        self._cached_at = self.clock()

    @asynccontextmanager
    async def _reading(self) -> AsyncIterator[AsyncSession]:
        # On SQLite a plain read must not take the one write lock every booking waits for.
        if self.database.is_sqlite:
            async with self.database.sqlite_read_transaction() as session:
                yield session
        else:
            async with self.database.transaction(PUBLIC) as session:
                yield session


def _apply(row: Brand, clean: _CleanBrand, author: BrandAuthor) -> None:
    row.business_name = clean.business_name
    row.coach_name = clean.coach_name
    row.bio = clean.bio
    row.accent_color = clean.accent_color
    row.support_email = clean.support_email
    row.default_language = clean.default_language
    row.configured = True
    row.updated_by = author.changed_by[:100]
    row.updated_at = utcnow()


def _changed_fields(before: BrandProfile | None, after: BrandProfile) -> list[str]:
    if before is None:
        return list(FIELDS)
    # Compared as profiles, so the photo's version counts only through the `photo` log field.
    before = replace(before, photo_version=after.photo_version)
    return [name for name in FIELDS if getattr(before, name) != getattr(after, name)]
