"""What the booking pages are given per request: the four services they call, in one value."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends

from sessionbook.bookings.routes import BookingsDep
from sessionbook.bookings.service import BookingService
from sessionbook.catalog.routes import CatalogDep
from sessionbook.catalog.service import CatalogService
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
