"""Attach the booking pages to the app: page routes, their JSON helpers, templates and files."""

from __future__ import annotations

from fastapi import Depends, FastAPI, Request
from fastapi.responses import Response
from starlette.middleware.gzip import GZipMiddleware
from starlette.staticfiles import StaticFiles

from sessionbook.core import i18n
from sessionbook.core.errors import ServiceUnavailable
from sessionbook.core.settings import Settings
from sessionbook.http.handlers import NOT_FOUND_PAGE_STATE, UNAVAILABLE_PAGE_STATE
from sessionbook.web.api import router as api_router
from sessionbook.web.deps import load_brand
from sessionbook.web.language import remember_language, request_choice
from sessionbook.web.routes import router as pages_router
from sessionbook.web.templating import STATIC_DIR, STATIC_PREFIX, build_templates, render

# Smaller files gain too little from compression to be worth the CPU.
STATIC_GZIP_MIN = 1000


def install_booking_pages(app: FastAPI, settings: Settings) -> None:
    app.state.templates = build_templates(settings)

    def unavailable_page(request: Request, _error: ServiceUnavailable) -> Response:
        """The friendly 503 page a browser gets while the database cannot be reached."""
        return _error_page(request, settings, "unavailable.html", 503)

    def not_found_page(request: Request) -> Response:
        """The 404 page a browser gets for an address that leads nowhere."""
        return _error_page(request, settings, "not_found.html", 404)

    setattr(app.state, UNAVAILABLE_PAGE_STATE, unavailable_page)
    setattr(app.state, NOT_FOUND_PAGE_STATE, not_found_page)
    # Every page shows the brand: read once per request, before the page's own route runs.
    app.include_router(pages_router, dependencies=[Depends(load_brand)])
    app.include_router(api_router)
    # Styles and scripts travel compressed (a phone's first visit stays well under 100 KB); the
    # pages themselves do not, as they carry a CSRF token beside text a request can reflect.
    static_files = GZipMiddleware(StaticFiles(directory=STATIC_DIR), minimum_size=STATIC_GZIP_MIN)
    app.mount(STATIC_PREFIX, static_files, name="static")


def _error_page(request: Request, settings: Settings, name: str, status_code: int) -> Response:
    """An error page in the request's language. The brand's default is not asked for here:
    the database behind it may be the very thing that failed."""
    with i18n.use_locale(request_choice(request).locale):
        response = render(request.app.state.templates, request, name, {}, status_code=status_code)
    remember_language(request, response, settings)
    return response
