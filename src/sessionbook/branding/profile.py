"""The brand as the pages and emails read it: one immutable value, with neutral defaults."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

# A blue dark enough for white text on it (contrast 6.9:1, above WCAG AA's 4.5:1).
DEFAULT_ACCENT = "#2f5d8a"


@dataclass(frozen=True, slots=True)
class BrandProfile:
    """What a fresh install shows until the coach sets their own (`configured` is then True)."""

    business_name: str = ""
    coach_name: str = ""
    bio: str = ""
    accent_color: str = DEFAULT_ACCENT
    support_email: str | None = None
    default_language: str = "en"
    # Content hash of the stored photo (it versions the photo's URL); None: no photo.
    photo_version: str | None = None
    configured: bool = False

    @property
    def display_name(self) -> str:
        """The name to sign with: the business, else the coach, else nothing set yet."""
        return self.business_name or self.coach_name

    @property
    def photo_url(self) -> str | None:
        return f"/brand/photo?v={self.photo_version}" if self.photo_version else None


class BrandSource(Protocol):
    """Where pages and emails read the current brand (the database, in the running service)."""

    async def current(self) -> BrandProfile: ...


class StaticBrand:
    """A `BrandSource` that always answers the same profile (tests, previews, fixed setups)."""

    def __init__(self, profile: BrandProfile) -> None:
        self.profile = profile

    async def current(self) -> BrandProfile:
        return self.profile
