"""Add the operations surface to an app: health, readiness and metrics routes, and the admin."""

from __future__ import annotations

import uuid

from fastapi import FastAPI

from sessionbook.admin.package_routes import router as packages_router
from sessionbook.admin.routes import install_admin
from sessionbook.admin.service import AdminService
from sessionbook.bootstrap import Services
from sessionbook.monitoring.routes import router as monitoring_router


def admin_service(services: Services) -> AdminService:
    """The operator's use cases, wired to the payment and scheduling services' own."""
    payments = services.payment_service

    async def refund(booking_id: uuid.UUID, amount_cents: int, reason: str) -> object:
        return await payments.refund(
            booking_id, amount_cents=amount_cents, reason=reason, source="admin"
        )

    async def cancel(booking_id: uuid.UUID, reason: str) -> object:
        return await services.scheduling.cancel_as_operator(booking_id, reason)

    return AdminService(
        database=services.database,
        coach_timezone=services.settings.coach_timezone,
        refund=refund,
        cancel=cancel,
    )


def install_operations(app: FastAPI, services: Services) -> None:
    app.include_router(monitoring_router)
    # No password hash, no dashboard: /admin is a plain 404 in every mode.
    if services.settings.admin_enabled:
        install_admin(app, admin_service(services))
        app.include_router(packages_router)
