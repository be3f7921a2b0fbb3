"""Attach the booking pages to the app: page routes, their JSON helpers, templates and files."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

from sessionbook.core.settings import Settings
from sessionbook.web.api import router as api_router
from sessionbook.web.routes import router as pages_router
from sessionbook.web.templating import STATIC_DIR, STATIC_PREFIX, build_templates


def install_booking_pages(app: FastAPI, settings: Settings) -> None:
    app.state.templates = build_templates(settings)
    app.include_router(pages_router)
    app.include_router(api_router)
    app.mount(STATIC_PREFIX, StaticFiles(directory=STATIC_DIR), name="static")
