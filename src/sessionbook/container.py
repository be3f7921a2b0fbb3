"""The wired services of one running app; built once by `app.create_app`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sessionbook.api.ratelimit import LimitStore
from sessionbook.bookings.service import BookingService
from sessionbook.catalog import Catalog
from sessionbook.db import Database
from sessionbook.notifications.service import NotificationService
from sessionbook.payments.gateway import PaymentGateway
from sessionbook.payments.service import PaymentService
from sessionbook.scheduling.calendar import Calendar
from sessionbook.scheduling.service import SchedulingService
from sessionbook.settings import Settings


@dataclass
class Services:
    """Everything a route may call; tests build it the same way production does."""

    settings: Settings
    catalog: Catalog
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
