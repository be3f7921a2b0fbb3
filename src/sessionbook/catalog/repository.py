"""SQL of the catalog: packages in the operator's order and their change history."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from sessionbook.catalog.models import Package, PackageChange


class PackageRepository:
    """Reads and writes of packages within one transaction; rules live in the service."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def in_order(self, *, active_only: bool) -> Sequence[Package]:
        query = select(Package).order_by(Package.position, Package.id)
        if active_only:
            query = query.where(Package.active.is_(True))
        return (await self.session.scalars(query)).all()

    async def by_id(self, package_id: str, *, for_update: bool = False) -> Package | None:
        query = select(Package).where(Package.id == package_id)
        if for_update:
            query = query.with_for_update()
        found: Package | None = await self.session.scalar(query)
        return found

    async def active_by_id(self, package_id: str) -> Package | None:
        query = select(Package).where(Package.id == package_id, Package.active.is_(True))
        found: Package | None = await self.session.scalar(query)
        return found

    async def next_position(self) -> int:
        highest = await self.session.scalar(select(func.max(Package.position)))
        return 0 if highest is None else int(highest) + 1

    async def add(self, package: Package) -> None:
        self.session.add(package)
        await self.session.flush()

    async def add_change(self, change: PackageChange) -> None:
        self.session.add(change)
        await self.session.flush()

    async def changes_of(self, package_id: str) -> Sequence[PackageChange]:
        query = (
            select(PackageChange)
            .where(PackageChange.package_id == package_id)
            .order_by(PackageChange.id.desc())
        )
        return (await self.session.scalars(query)).all()
