"""SQL of the brand: its one row, without or with the photo's bytes."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sessionbook.branding.models import BRAND_ROW_ID, Brand


@dataclass(frozen=True, slots=True)
class StoredPhoto:
    """The photo as served: its bytes, their media type and their sha256 version."""

    data: bytes
    content_type: str
    version: str


class BrandRepository:
    """Reads and writes of the brand row within one transaction; rules live in the service."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def current(self, *, for_update: bool = False) -> Brand | None:
        query = select(Brand).where(Brand.id == BRAND_ROW_ID)
        if for_update:
            query = query.with_for_update()
        found: Brand | None = await self.session.scalar(query)
        return found

    async def photo(self) -> StoredPhoto | None:
        query = select(Brand.photo, Brand.photo_content_type, Brand.photo_version).where(
            Brand.id == BRAND_ROW_ID
        )
        row = (await self.session.execute(query)).first()
        if row is None or row.photo is None or row.photo_content_type is None:
            return None
        return StoredPhoto(
            data=bytes(row.photo),
            content_type=row.photo_content_type,
            version=row.photo_version or "",
        )

    async def add(self, brand: Brand) -> None:
        self.session.add(brand)
        await self.session.flush()
