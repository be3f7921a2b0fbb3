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
from sessionbook.bookings.routes import router as bookings_router
from sessionbook.bookings.service import BookingService
from sessionbook.catalog import Catalog, build_catalog
from sessionbook.container import Services
from sessionbook.db import Database
from sessionbook.payments.client import AirwallexClient
from sessionbook.settings import (
    SANDBOX_AIRWALLEX_API_KEY,
    SANDBOX_AIRWALLEX_CLIENT_ID,
    ConfigurationError,
    Settings,
    load_settings,
)

AIRWALLEX_SANDBOX_PATH = "/sandbox/airwallex"
CAL_SANDBOX_PATH = "/sandbox/cal"


def build_services(settings: Settings) -> Services:
    """Wire adapters for these settings: real clients, pointed at live APIs or the stand-ins."""
    catalog = build_catalog(settings)
    database = Database(settings.database_url)
    if settings.payments_live:
        assert settings.airwallex_client_id
        assert settings.airwallex_api_key
        payments = AirwallexClient(
            settings.airwallex_base_url,
            settings.airwallex_client_id,
            settings.airwallex_api_key,
        )
    else:
        payments = AirwallexClient(
            settings.site_url + AIRWALLEX_SANDBOX_PATH,
            SANDBOX_AIRWALLEX_CLIENT_ID,
            SANDBOX_AIRWALLEX_API_KEY,
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
    services = Services(
        settings=settings,
        catalog=catalog,
        database=database,
        payments=payments,
        bookings=bookings,
        limits=limits,
    )
    services.closers.append(payments.aclose)
    if isinstance(limits, RedisLimitStore):
        services.closers.append(limits.aclose)
    return services


def create_app(settings: Settings | None = None) -> FastAPI:
    """The whole service as one ASGI app; the sandbox stand-ins are mounted only without keys."""
    settings = settings or load_settings()
    services = build_services(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
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
    if not settings.payments_live:
        _mount_airwallex_sandbox(app, settings)

    if settings.allowed_origin_list:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.allowed_origin_list,
            allow_methods=["GET", "POST"],
            allow_headers=["Content-Type", "X-Booking-Token"],
            max_age=600,
        )
    app.add_middleware(BodyLimitMiddleware)
    app.add_middleware(SecurityHeadersMiddleware, form_targets=_form_targets(settings))
    app.add_middleware(RequestLogMiddleware)
    return app


def _form_targets(settings: Settings) -> str:
    return "" if settings.payments_live else settings.site_url


def _mount_airwallex_sandbox(app: FastAPI, settings: Settings) -> None:
    from sessionbook.sandbox.airwallex import create_airwallex_sandbox

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
