"""The FastAPI app: routers, middleware and lifespan around the services bootstrap builds."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from sessionbook.admin.brand_routes import BRAND_FORM_MAX_BYTES, BRAND_FORM_PATH
from sessionbook.admin.brand_routes import router as admin_brand_router
from sessionbook.admin.email_routes import router as admin_emails_router
from sessionbook.admin.export_routes import router as admin_exports_router
from sessionbook.admin.insights_routes import router as admin_insights_router
from sessionbook.admin.package_routes import router as admin_packages_router
from sessionbook.admin.routes import install_admin
from sessionbook.bookings.routes import router as bookings_router
from sessionbook.bookings.service import BookingService
from sessionbook.bookings.status_endpoint import BookingStatusEndpoint, status_route
from sessionbook.bootstrap import Services, build_services, check_providers, mount_sandboxes
from sessionbook.branding.routes import router as brand_router
from sessionbook.branding.service import BrandService
from sessionbook.catalog.routes import router as catalog_router
from sessionbook.catalog.service import CatalogService
from sessionbook.core.db import Database
from sessionbook.core.settings import Settings, load_settings
from sessionbook.http.deps import provide
from sessionbook.http.handlers import install_error_handlers
from sessionbook.http.language import install_default_locale
from sessionbook.http.middleware import EdgeMiddleware
from sessionbook.http.ratelimit import LimitStore
from sessionbook.http.startup import StartupFailureMiddleware
from sessionbook.monitoring.routes import router as monitoring_router
from sessionbook.monitoring.sweep import run_sweep
from sessionbook.monitoring.worker import SweepWorker
from sessionbook.notifications.service import NotificationService
from sessionbook.payments.routes import router as payments_router
from sessionbook.payments.service import PaymentService
from sessionbook.scheduling.routes import router as scheduling_router
from sessionbook.scheduling.service import SchedulingService
from sessionbook.web.mount import install_booking_pages


def create_app(settings: Settings | None = None) -> FastAPI:
    """The whole service as one ASGI app, wired by `bootstrap.build_services`."""
    settings = settings or load_settings()
    services = build_services(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # A ConfigurationError here stops the start with its message alone (see http.startup).
        await check_providers(services)
        # Started here, outside any request, so its log lines carry no request id.
        sweeper = SweepWorker(
            lambda: run_sweep(services.sweep_duties),
            settings.sweep_interval_seconds,
            wakeup=services.wakeup,
            run_rung=lambda: run_sweep(services.rung_duties),
        )
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
    _provide_to_routes(app, services)
    install_error_handlers(app)
    app.include_router(catalog_router)
    app.include_router(bookings_router)
    app.include_router(payments_router)
    app.include_router(scheduling_router)
    install_booking_pages(app, settings)
    install_default_locale(app, services.brand.default_language)
    app.include_router(brand_router)
    app.include_router(monitoring_router)
    # No password hash, no dashboard: /admin is a plain 404 in every mode.
    if settings.admin_enabled:
        install_admin(app, settings, services.admin)
        app.include_router(admin_packages_router)
        app.include_router(admin_exports_router)
        app.include_router(admin_insights_router)
        app.include_router(admin_emails_router)
        app.include_router(admin_brand_router)
    mount_sandboxes(app, services)

    # Innermost of ours, so every middleware below wraps it as it wraps the routes.
    app.add_middleware(
        BookingStatusEndpoint,
        bookings=services.bookings,
        route=status_route(bookings_router.routes),
    )
    if settings.allowed_origin_list:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.allowed_origin_list,
            allow_methods=["GET", "POST"],
            allow_headers=["Content-Type", "X-Booking-Token"],
            max_age=600,
        )
    # The brand form carries a photo: the one body allowed past 64 KB, and only with an admin.
    uploads = {BRAND_FORM_PATH: BRAND_FORM_MAX_BYTES} if settings.admin_enabled else {}
    app.add_middleware(EdgeMiddleware, form_targets=_form_targets(settings), upload_limits=uploads)
    app.add_middleware(StartupFailureMiddleware)
    return app


def _provide_to_routes(app: FastAPI, services: Services) -> None:
    """Register what the routes ask for by type (see `http.deps.service`)."""
    provide(app, Settings, services.settings)
    provide(app, Database, services.database)
    provide(app, LimitStore, services.limits)  # type: ignore[type-abstract]
    provide(app, CatalogService, services.catalog)
    provide(app, BrandService, services.brand)
    provide(app, BookingService, services.bookings)
    provide(app, PaymentService, services.payments)
    provide(app, SchedulingService, services.scheduling)
    provide(app, NotificationService, services.notifications)


def _form_targets(settings: Settings) -> str:
    # In sandbox mode the stand-in's payment page posts back to this very site.
    return "" if settings.payments_live else settings.site_url


__all__ = ["create_app"]
