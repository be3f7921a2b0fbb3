"""Imports every table so Alembic and tests see the whole schema in one MetaData."""

from __future__ import annotations

from sessionbook.admin.models import AdminLoginCounter, AdminSessionRecord
from sessionbook.bookings.models import Booking, BookingEvent, BookingSession
from sessionbook.branding.models import Brand
from sessionbook.catalog.models import Package, PackageChange
from sessionbook.core.db import Base
from sessionbook.notifications.models import OutboxMessage
from sessionbook.payments.models import PaymentRefund, WebhookEvent
from sessionbook.scheduling.models import SlotClaim

metadata = Base.metadata

__all__ = [
    "AdminLoginCounter",
    "AdminSessionRecord",
    "Booking",
    "BookingEvent",
    "BookingSession",
    "Brand",
    "OutboxMessage",
    "Package",
    "PackageChange",
    "PaymentRefund",
    "SlotClaim",
    "WebhookEvent",
    "metadata",
]
