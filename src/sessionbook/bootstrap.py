"""The composition root: builds every service, live or sandbox per provider, in this one place.

The app factory, the CLI and the tests all get their services here; nothing else chooses an
implementation, and nothing below this module imports it.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import time, timedelta
from typing import Any

from fastapi import FastAPI

from sessionbook.admin.service import AdminService
from sessionbook.bookings.service import BookingService
from sessionbook.branding.service import BrandService
from sessionbook.catalog.defaults import SANDBOX_EVENT_TYPES
from sessionbook.catalog.service import CatalogService
from sessionbook.core.db import Database
from sessionbook.core.http_transport import InstrumentedTransport
from sessionbook.core.settings import (
    SANDBOX_AIRWALLEX_API_KEY,
    SANDBOX_AIRWALLEX_CLIENT_ID,
    SANDBOX_CAL_API_KEY,
    Settings,
)
from sessionbook.core.wakeup import Wakeup
from sessionbook.http.ratelimit import LimitStore, MemoryLimitStore, RedisLimitStore
from sessionbook.monitoring.sweep import SweepDuty
from sessionbook.notifications.email import EmailSender, LogEmailSender
from sessionbook.notifications.outbox import OutboxNews
from sessionbook.notifications.service import NotificationService, message_domain
from sessionbook.notifications.smtp import SmtpEmailSender
from sessionbook.payments.airwallex.client import AirwallexClient
from sessionbook.payments.airwallex.gateway import PaymentGateway
from sessionbook.payments.links import GatewayPaymentLinks
from sessionbook.payments.service import PaymentService
from sessionbook.scheduling.calcom.calendar import Calendar
from sessionbook.scheduling.calcom.client import CalComClient
from sessionbook.scheduling.event_types import check_event_types, event_type_length_of
from sessionbook.scheduling.service import SchedulingService

AIRWALLEX_SANDBOX_PATH = "/sandbox/airwallex"
CAL_SANDBOX_PATH = "/sandbox/cal"
# The sandbox coach works every day, so whoever tries the service finds a time within hours.
SANDBOX_WEEKLY_HOURS = {weekday: ((time(9), time(18)),) for weekday in range(7)}
SANDBOX_HOST_TIME_ZONE = "Europe/London"
# The stand-in forgets its bookings when the server stops, the database does not: each start
# numbers Cal.com ids from a random point, so ids stored by an earlier run are not handed out
# again (the odds of two runs overlapping are about one in a hundred thousand), while staying
# well below PostgreSQL's integer limit.
_SANDBOX_FIRST_IDS = (1_000_000, 2_000_000_000)


@dataclass
class Services:
    """Everything a route, a command or the sweep may call; tests build it the same way."""

    settings: Settings
    database: Database
    catalog: CatalogService
    limits: LimitStore
    payment_gateway: PaymentGateway
    calendar: Calendar
    bookings: BookingService
    payments: PaymentService
    scheduling: SchedulingService
    notifications: NotificationService
    admin: AdminService
    wakeup: Wakeup
    brand: BrandService
    closers: list[Any] = field(default_factory=list)

    @property
    def sweep_duties(self) -> list[SweepDuty]:
        """The background duties in the order one pass runs them."""
        payments = self.payments
        recovery = self.scheduling.recovery
        return [
            ("expired", self.bookings.expire_due),
            ("sessions_lapsed", self.bookings.lapse_due),
            # After expiry, so links of bookings that just expired are stopped in the same pass.
            ("webhooks_retried", payments.retry_webhook_events),
            ("payments_reconciled", payments.reconcile_pending),
            ("payment_links_deactivated", payments.deactivate_expired_links),
            ("refunds_followed", payments.follow_refunds),
            # Before the emails, so a booking adopted here gets its confirmation in this pass.
            ("scheduling_recovered", recovery.recover_lapsed),
            ("calendar_cancelled", recovery.cancel_for_cancelled),
            *self._coach_duties(),
            # Last: reminders are queued, then everything due (the news above included) is sent.
            ("reminders_queued", self.notifications.queue_reminders),
            ("lapse_warnings_queued", self.notifications.queue_lapse_warnings),
            ("emails_sent", self.notifications.deliver_due),
        ]

    @property
    def rung_duties(self) -> list[SweepDuty]:
        """What a ring of `wakeup` is for: the emails just queued (the whole pass still runs
        every SWEEP_INTERVAL_SECONDS)."""
        return [("emails_sent", self.notifications.deliver_due)]

    def _coach_duties(self) -> list[SweepDuty]:
        # Before the emails, so the customer hears of a coach's change in this pass.
        coach = self.scheduling.coach_changes
        if coach is None:
            return []
        return [
            ("calendar_webhooks_retried", coach.retry_events),
            ("calendar_compared", coach.compare_upcoming),
        ]

    async def aclose(self) -> None:
        for resource in reversed(self.closers):
            await resource()
        await self.database.dispose()


def build_services(settings: Settings) -> Services:
    """Wire every service for these settings: real clients, pointed at live APIs or stand-ins."""
    database = Database(settings.database_url, pool_size=settings.database_pool_size)
    # Read by every page, every email and each payment link's title.
    brand = BrandService(database)
    payment_gateway = build_payment_gateway(settings)
    calendar = build_calendar(settings)
    catalog = CatalogService(
        database=database,
        default_currency=settings.currency,
        event_type_length=event_type_length_of(calendar),
    )
    limits: LimitStore = (
        RedisLimitStore(settings.redis_url) if settings.redis_url else MemoryLimitStore()
    )
    # Rung when an email is queued, so the in-process sweep sends it within seconds.
    wakeup = Wakeup()
    news = OutboxNews(wakeup)
    payments = PaymentService(
        database=database,
        gateway=payment_gateway,
        news=news,
        webhook_secret=settings.webhook_secret,
        scheduling_window=timedelta(days=settings.scheduling_window_days),
    )
    bookings = BookingService(
        database=database,
        payment_links=GatewayPaymentLinks(payment_gateway, brand),
        # A status read re-checks a stale pending payment (the booking side knows no Airwallex).
        refresh_stale_payment=payments.refresh_if_stale,
        news=news,
        payment_window=timedelta(minutes=settings.payment_window_minutes),
        scheduling_window=timedelta(days=settings.scheduling_window_days),
    )
    scheduling = SchedulingService(
        database=database,
        bookings=bookings,
        calendar=calendar,
        news=news,
        refunds=payments,
        coach_news=news,
        calendar_webhook_secret=settings.calendar_webhook_secret,
        cancellation_cutoff=timedelta(hours=settings.cancellation_cutoff_hours),
    )
    services = Services(
        settings=settings,
        database=database,
        catalog=catalog,
        limits=limits,
        payment_gateway=payment_gateway,
        calendar=calendar,
        bookings=bookings,
        payments=payments,
        scheduling=scheduling,
        notifications=NotificationService(
            database=database,
            sender=build_email_sender(settings),
            brand=brand,
            site_url=settings.site_url,
            coach_timezone=settings.coach_timezone,
            message_domain=message_domain(settings.smtp_from),
        ),
        admin=build_admin(settings, database, payments, scheduling),
        wakeup=wakeup,
        brand=brand,
    )
    services.closers.append(payment_gateway.aclose)
    services.closers.append(calendar.aclose)
    if isinstance(limits, RedisLimitStore):
        services.closers.append(limits.aclose)
    return services


def build_payment_gateway(settings: Settings) -> AirwallexClient:
    """The real Airwallex client, pointed at Airwallex with keys, or at our own stand-in."""
    if settings.payments_live:
        assert settings.airwallex_client_id
        assert settings.airwallex_api_key
        return AirwallexClient(
            settings.airwallex_base_url,
            settings.airwallex_client_id,
            settings.airwallex_api_key,
            transport=InstrumentedTransport("airwallex"),
        )
    return AirwallexClient(
        settings.site_url + AIRWALLEX_SANDBOX_PATH,
        SANDBOX_AIRWALLEX_CLIENT_ID,
        SANDBOX_AIRWALLEX_API_KEY,
        transport=InstrumentedTransport("airwallex"),
    )


def build_calendar(settings: Settings) -> CalComClient:
    """The real Cal.com client, pointed at Cal.com with a key, or at our own stand-in."""
    if settings.calendar_live:
        assert settings.cal_api_key is not None
        return CalComClient(
            settings.cal_api_url,
            settings.cal_api_key,
            transport=InstrumentedTransport("calcom"),
        )
    return CalComClient(
        settings.site_url + CAL_SANDBOX_PATH + "/v2",
        SANDBOX_CAL_API_KEY,
        transport=InstrumentedTransport("calcom"),
    )


def build_email_sender(settings: Settings) -> EmailSender:
    """SMTP when SMTP_HOST is set; otherwise a sender that only logs kind and booking id."""
    if settings.smtp_host is None:
        return LogEmailSender()
    assert settings.smtp_from is not None  # settings refuse SMTP_HOST without SMTP_FROM
    return SmtpEmailSender(
        host=settings.smtp_host,
        port=settings.smtp_port,
        sender=settings.smtp_from,
        username=settings.smtp_username,
        password=settings.smtp_password,
        starttls=settings.smtp_starttls,
    )


def build_admin(
    settings: Settings,
    database: Database,
    payments: PaymentService,
    scheduling: SchedulingService,
) -> AdminService:
    """The operator's use cases, acting through the payment and scheduling services' own."""

    async def refund(booking_id: uuid.UUID, amount_cents: int, reason: str) -> object:
        return await payments.refund(
            booking_id, amount_cents=amount_cents, reason=reason, source="admin"
        )

    async def cancel(booking_id: uuid.UUID, reason: str) -> object:
        return await scheduling.cancel_as_operator(booking_id, reason)

    return AdminService(
        database=database,
        coach_timezone=settings.coach_timezone,
        refund=refund,
        cancel=cancel,
    )


def build_admin_reader(settings: Settings) -> AdminService:
    """The operator's read-only views for the CLI: one connection, no provider clients.

    The caller disposes `service.database` when done.
    """
    database = Database(settings.database_url, pool_size=1)
    return AdminService(database=database, coach_timezone=settings.coach_timezone)


async def check_providers(services: Services) -> None:
    """At start: refuse to run against a live Cal.com whose event types disagree with us.

    Raises ConfigurationError naming the variable to fix.
    """
    if services.settings.calendar_live:
        await check_event_types(services.calendar, await services.catalog.on_sale())


def mount_sandboxes(app: FastAPI, services: Services) -> None:
    """Serve the stand-ins of the providers that have no keys, where the clients expect them."""
    settings = services.settings
    if not settings.payments_live:
        _mount_airwallex_sandbox(app, settings)
    if not settings.calendar_live:
        _mount_cal_sandbox(app, settings)


def _mount_airwallex_sandbox(app: FastAPI, settings: Settings) -> None:
    from sessionbook_sandbox.airwallex import create_airwallex_sandbox

    app.mount(
        AIRWALLEX_SANDBOX_PATH,
        create_airwallex_sandbox(
            client_id=SANDBOX_AIRWALLEX_CLIENT_ID,
            api_key=SANDBOX_AIRWALLEX_API_KEY,
            webhook_url=settings.site_url + "/functions/v1/payment-webhook",
            webhook_secret=settings.webhook_secret,
            public_base_url=settings.site_url + AIRWALLEX_SANDBOX_PATH,
            return_url=settings.site_url + "/book",
        ),
    )


def _mount_cal_sandbox(app: FastAPI, settings: Settings) -> None:
    """The Cal.com stand-in with its fixed event types (see `SANDBOX_EVENT_TYPES`).

    Fixed rather than read from the packages: the coach may create a package later, and it
    must find an event type of its length already there.
    """
    from sessionbook_sandbox.cal import EventTypeSpec, create_cal_sandbox

    event_types = {
        event_type.id: EventTypeSpec(
            length_minutes=event_type.length_minutes, title=event_type.title, slug=event_type.slug
        )
        for event_type in SANDBOX_EVENT_TYPES
    }
    app.mount(
        CAL_SANDBOX_PATH,
        create_cal_sandbox(
            api_key=SANDBOX_CAL_API_KEY,
            event_types=event_types,
            host_time_zone=SANDBOX_HOST_TIME_ZONE,
            weekly_hours=SANDBOX_WEEKLY_HOURS,
            public_base_url=settings.site_url + CAL_SANDBOX_PATH,
            first_booking_id=random.randint(*_SANDBOX_FIRST_IDS),
            webhook_url=settings.site_url + "/functions/v1/calendar-webhook",
            webhook_secret=settings.calendar_webhook_secret,
        ),
    )
