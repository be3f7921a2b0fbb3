"""The wired services of one running app; built once by `app.create_app`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sessionbook.bookings.service import BookingService
from sessionbook.catalog.service import CatalogService
from sessionbook.core.db import Database
from sessionbook.core.settings import Settings
from sessionbook.http.ratelimit import LimitStore
from sessionbook.notifications.service import NotificationService
from sessionbook.payments.airwallex.gateway import PaymentGateway
from sessionbook.payments.service import PaymentService
from sessionbook.scheduling.calcom.calendar import Calendar
from sessionbook.scheduling.service import SchedulingService


@dataclass
class Services:
    """Everything a route may call; tests build it the same way production does."""

    settings: Settings
    catalog: CatalogService
    database: Database
    payments: PaymentGateway
    bookings: BookingService
    payment_service: PaymentService
    limits: LimitStore
    notifications: NotificationService
    calendar: Calendar
    scheduling: SchedulingService
    closers: list[Any] = field(default_factory=list)

    async def aclose(self) -> None:
        for resource in reversed(self.closers):
            await resource()
        await self.database.dispose()
