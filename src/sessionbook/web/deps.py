"""What the booking pages are given per request: the four services they call, in one value."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from sessionbook.bookings.routes import BookingsDep
from sessionbook.bookings.service import BookingService
from sessionbook.branding.routes import BrandDep
from sessionbook.catalog.routes import CatalogDep
from sessionbook.catalog.service import CatalogService
from sessionbook.core.db import DATABASE_ERROR_TYPES, database_unreachable
from sessionbook.core.settings import Settings
from sessionbook.http.deps import SettingsDep
from sessionbook.scheduling.routes import SchedulingDep
from sessionbook.scheduling.service import SchedulingService


@dataclass(frozen=True, slots=True)
class PageServices:
    """The pages render from the settings and the catalog and act through two services."""

    settings: Settings
    catalog: CatalogService
    bookings: BookingService
    scheduling: SchedulingService


async def page_services(
    settings: SettingsDep, catalog: CatalogDep, bookings: BookingsDep, scheduling: SchedulingDep
) -> PageServices:
    return PageServices(settings, catalog, bookings, scheduling)


PageServicesDep = Annotated[PageServices, Depends(page_services)]


async def load_brand(request: Request, brand: BrandDep) -> None:
    """Read the brand once per page request, for `templating.render` to give every template."""
    try:
        request.state.brand = await brand.current()
    except DATABASE_ERROR_TYPES as error:
        if not database_unreachable(error):
            raise
        # The page's own queries meet the outage and answer for it; files such as the
        # favicon, which need no database, keep working with the last brand read.
        request.state.brand = brand.last_known()
