"""`GET /functions/v1/packages`: the packages on sale, for a front end to show."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response

from sessionbook.catalog.models import Package
from sessionbook.catalog.service import CatalogService
from sessionbook.core.api_models import ResponseModel
from sessionbook.http.deps import service

CatalogDep = Annotated[CatalogService, Depends(service(CatalogService))]

router = APIRouter(prefix="/functions/v1")

# Public and the same for everyone: a front end and any cache in between may keep it a minute.
PACKAGES_CACHE_CONTROL = "public, max-age=60"


class PackageOnSale(ResponseModel):
    id: str
    title: str
    description: str
    duration_minutes: int
    sessions: int
    valid_days: int | None
    amount_cents: int
    currency: str
    requires_payment: bool

    @classmethod
    def of(cls, package: Package) -> PackageOnSale:
        return cls(
            id=package.id,
            title=package.title,
            description=package.description,
            duration_minutes=package.duration_minutes,
            sessions=package.sessions,
            valid_days=package.valid_days,
            amount_cents=package.price_cents,
            currency=package.currency,
            requires_payment=package.requires_payment,
        )


class PackagesResponse(ResponseModel):
    packages: list[PackageOnSale]


@router.get("/packages")
async def packages_on_sale(catalog: CatalogDep, response: Response) -> PackagesResponse:
    response.headers["Cache-Control"] = PACKAGES_CACHE_CONTROL
    packages = await catalog.on_sale()
    return PackagesResponse(packages=[PackageOnSale.of(package) for package in packages])
