"""The bootstrap: build the FastAPI app, wire live or sandbox providers, in one place."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from sessionbook.api.errors import install_error_handlers
from sessionbook.api.middleware import (
    BodyLimitMiddleware,
    RequestLogMiddleware,
    SecurityHeadersMiddleware,
)
from sessionbook.api.ratelimit import LimitStore, MemoryLimitStore, RedisLimitStore
from sessionbook.api.startup import StartupFailureMiddleware
from sessionbook.bookings.routes import router as bookings_router
from sessionbook.bookings.service import BookingService
from sessionbook.catalog import Catalog, build_catalog
from sessionbook.container import Services
from sessionbook.db import Database
from sessionbook.monitoring.install import install_operations
from sessionbook.monitoring.metrics import MetricsMiddleware
from sessionbook.monitoring.providers import InstrumentedTransport
from sessionbook.monitoring.worker import SweepWorker
from sessionbook.notifications.wiring import build_notifications
from sessionbook.payments.client import AirwallexClient
from sessionbook.payments.routes import router as payments_router
from sessionbook.payments.service import PaymentService
from sessionbook.scheduling.routes import router as scheduling_router
from sessionbook.scheduling.service import SchedulingService
from sessionbook.scheduling.wiring import build_calendar, check_event_types, mount_cal_sandbox
from sessionbook.settings import (
    SANDBOX_AIRWALLEX_API_KEY,
    SANDBOX_AIRWALLEX_CLIENT_ID,
    ConfigurationError,
    Settings,
    load_settings,
)
from sessionbook.sweep import run_sweep
from sessionbook.web.mount import install_booking_pages

AIRWALLEX_SANDBOX_PATH = "/sandbox/airwallex"
CAL_SANDBOX_PATH = "/sandbox/cal"


def build_services(settings: Settings) -> Services:
    """Wire adapters for these settings: real clients, pointed at live APIs or the stand-ins."""
    catalog = build_catalog(settings)
    database = Database(settings.database_url, pool_size=settings.database_pool_size)
    if settings.payments_live:
        assert settings.airwallex_client_id
        assert settings.airwallex_api_key
        payments = AirwallexClient(
            settings.airwallex_base_url,
            settings.airwallex_client_id,
            settings.airwallex_api_key,
            transport=InstrumentedTransport("airwallex"),
        )
    else:
        payments = AirwallexClient(
            settings.site_url + AIRWALLEX_SANDBOX_PATH,
            SANDBOX_AIRWALLEX_CLIENT_ID,
            SANDBOX_AIRWALLEX_API_KEY,
            transport=InstrumentedTransport("airwallex"),
        )
    limits: LimitStore = (
        RedisLimitStore(settings.redis_url) if settings.redis_url else MemoryLimitStore()
    )
    bookings = BookingService(
        database=database,
        catalog=catalog,
        payments=payments,
        payment_window=timedelta(minutes=settings.payment_window_minutes),
        scheduling_window=timedelta(days=settings.scheduling_window_days),
    )
    payment_service = PaymentService(
        database=database,
        gateway=payments,
        webhook_secret=settings.webhook_secret,
        scheduling_window=timedelta(days=settings.scheduling_window_days),
    )
    # A status read re-checks a stale pending payment (the booking side knows no Airwallex).
    bookings.payment_refresh = payment_service.refresh_if_stale
    calendar = build_calendar(settings)
    scheduling = SchedulingService(
        database=database,
        catalog=catalog,
        bookings=bookings,
        calendar=calendar,
        refunds=payment_service,
        cancellation_cutoff=timedelta(hours=settings.cancellation_cutoff_hours),
    )
    services = Services(
        settings=settings,
        catalog=catalog,
        database=database,
        payments=payments,
        bookings=bookings,
        payment_service=payment_service,
        limits=limits,
        notifications=build_notifications(settings, database, catalog),
        calendar=calendar,
        scheduling=scheduling,
    )
    services.closers.append(payments.aclose)
    services.closers.append(calendar.aclose)
    if isinstance(limits, RedisLimitStore):
        services.closers.append(limits.aclose)
    return services


def create_app(settings: Settings | None = None) -> FastAPI:
    """The whole service as one ASGI app; the sandbox stand-ins are mounted only without keys."""
    settings = settings or load_settings()
    services = build_services(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if settings.calendar_live:
            # A ConfigurationError here stops the start with its message alone (see api.startup).
            await check_event_types(services.calendar, services.catalog)
        # Started here, outside any request, so its log lines carry no request id.
        sweeper = SweepWorker(lambda: run_sweep(services), settings.sweep_interval_seconds)
        sweeper.start()
        try:
            yield
        finally:
            await sweeper.stop()
            await services.aclose()

    app = FastAPI(
        title="sessionbook",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.services = services
    install_error_handlers(app)
    app.include_router(bookings_router)
    app.include_router(payments_router)
    app.include_router(scheduling_router)
    install_booking_pages(app, settings)
    install_operations(app, services)
    if not settings.payments_live:
        _mount_airwallex_sandbox(app, settings)
    if not settings.calendar_live:
        mount_cal_sandbox(app, settings, services.catalog)

    if settings.allowed_origin_list:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.allowed_origin_list,
            allow_methods=["GET", "POST"],
            allow_headers=["Content-Type", "X-Booking-Token"],
            max_age=600,
        )
    app.add_middleware(MetricsMiddleware)
    app.add_middleware(BodyLimitMiddleware)
    app.add_middleware(SecurityHeadersMiddleware, form_targets=_form_targets(settings))
    app.add_middleware(RequestLogMiddleware)
    app.add_middleware(StartupFailureMiddleware)
    return app


def _form_targets(settings: Settings) -> str:
    return "" if settings.payments_live else settings.site_url


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


__all__ = ["Catalog", "ConfigurationError", "build_services", "create_app"]
