"""The booking pages: choose a package, give details, pay, then the booking's own page at /book.

Thin like every route here: read the form or the cookie, call the booking service, render.
The booking token arrives at most once in a URL (`/book?token=`) and leaves it at once for an
HttpOnly cookie; no page ever contains it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from sessionbook.bookings.errors import BookingNotFound
from sessionbook.bookings.service import BookingStatusView
from sessionbook.catalog.models import Package
from sessionbook.core.db import utcnow
from sessionbook.core.errors import ProviderUnavailable, RateLimited, ValidationFailed
from sessionbook.http.deps import (
    BadTokenGuard,
    BadTokenGuardDep,
    ClientAddressDep,
    LimitsDep,
    rate_limited,
)
from sessionbook.http.middleware import PAGE_CSP
from sessionbook.web.deps import PageServices, PageServicesDep
from sessionbook.web.forms import DetailsForm
from sessionbook.web.session import (
    CSRF_FIELD,
    CsrfRejected,
    booking_token,
    check_same_origin,
    clear_booking_cookie,
    csrf_token,
    remember_csrf_token,
    set_booking_cookie,
)
from sessionbook.web.templating import STATIC_DIR, render
from sessionbook.web.views import CONFIRMED, SCHEDULE, booking_view

router = APIRouter(include_in_schema=False)

# How far ahead the slot picker lets a customer page, in weeks.
MAX_WEEKS_AHEAD = 12
# Browsers ask for /favicon.ico on every visit; a week's caching spares most of those requests.
FAVICON_CACHE = "public, max-age=604800"


@router.get("/", response_class=HTMLResponse)
async def choose_package(request: Request, services: PageServicesDep) -> Response:
    return await _choice_page(request, services, request.query_params.get("package"))


@router.get("/favicon.ico")
async def favicon() -> Response:
    return FileResponse(
        STATIC_DIR / "favicon.ico",
        media_type="image/x-icon",
        headers={"Cache-Control": FAVICON_CACHE},
    )


@router.get("/book/details", response_class=HTMLResponse)
async def details_form(request: Request, services: PageServicesDep) -> Response:
    package_id = request.query_params.get("package", "")
    package = await services.catalog.on_sale_by_id(package_id)
    if package is None:
        return await _choice_page(request, services, None, error="Choose a package to continue.")
    return _details_page(request, services, package, DetailsForm.empty(package.id))


@router.post("/book/details", response_class=HTMLResponse)
async def submit_details(
    request: Request, services: PageServicesDep, limits: LimitsDep, address: ClientAddressDep
) -> Response:
    submitted = dict(await request.form())
    form = DetailsForm.from_submission(submitted)
    package = await services.catalog.on_sale_by_id(form.values["package"])
    if package is None:
        return await _choice_page(request, services, None, error="Choose a package to continue.")
    token_field = submitted.get(CSRF_FIELD)
    try:
        check_same_origin(
            request, services.settings, token_field if isinstance(token_field, str) else None
        )
    except CsrfRejected:
        notice = ("error", "Your session had expired. Please check your details and send again.")
        return _details_page(request, services, package, form, notice=notice, status_code=403)
    booking_request = form.validate()
    if booking_request is None:
        notice = ("error", "Please correct the highlighted fields.")
        return _details_page(request, services, package, form, notice=notice, status_code=400)
    try:
        await rate_limited("create")(services.settings, limits, address)
        created = await services.bookings.create(booking_request)
    except RateLimited as exc:
        notice = ("error", f"Too many bookings from here. Please wait {exc.retry_after} s.")
        return _details_page(request, services, package, form, notice=notice, status_code=429)
    except ValidationFailed:
        # The package went off sale while the customer was typing.
        return await _choice_page(request, services, None, error="Choose a package to continue.")
    except ProviderUnavailable:
        notice = (
            "error",
            "The payment provider is not answering right now, so nothing was booked or "
            "charged. Your details are still here: please try again in a moment.",
        )
        return _details_page(request, services, package, form, notice=notice, status_code=502)
    payment_url = created.booking.payment_url
    response = RedirectResponse(payment_url or "/book", status_code=303)
    set_booking_cookie(response, created.token, services.settings)
    return response


@router.get("/book", response_class=HTMLResponse)
async def booking_page(
    request: Request, services: PageServicesDep, guard: BadTokenGuardDep
) -> Response:
    settings = services.settings
    if "token" in request.query_params:
        return await _trade_link(request, services, guard, request.query_params["token"].strip())
    token = booking_token(request)
    if token is None:
        return _page(request, services, "missing.html", {"reason": "none"})
    try:
        await guard.check()
        status = await services.bookings.status_of(token)
    except RateLimited as exc:
        context = {"reason": "limited", "retry_after": exc.retry_after}
        return _page(request, services, "missing.html", context, status_code=429)
    except BookingNotFound:
        await guard.record_miss()
        response = _page(request, services, "missing.html", {"reason": "unknown"}, status_code=404)
        clear_booking_cookie(response, settings)
        return response
    return _booking_page(request, services, status)


async def _trade_link(
    request: Request, services: PageServices, guard: BadTokenGuard, presented: str
) -> Response:
    """Trade a link's token for the cookie and drop it from the address bar and history.

    Only a token that opens a booking replaces the cookie: a mistyped or made-up link must
    not cost this browser the booking it already holds, and it counts as a guess.
    """
    if not presented:
        return RedirectResponse("/book", status_code=303)
    try:
        await guard.check()
        await services.bookings.find_by_token(presented)
    except RateLimited as exc:
        context = {"reason": "limited", "retry_after": exc.retry_after}
        return _page(request, services, "missing.html", context, status_code=429)
    except BookingNotFound:
        await guard.record_miss()
        context = {"reason": "unknown", "kept": booking_token(request) is not None}
        return _page(request, services, "missing.html", context, status_code=404)
    response = RedirectResponse("/book", status_code=303)
    set_booking_cookie(response, presented, services.settings)
    return response


def _booking_page(request: Request, services: PageServices, status: BookingStatusView) -> Response:
    now = utcnow()
    cutoff_hours = services.settings.cancellation_cutoff_hours
    cutoff = timedelta(hours=cutoff_hours)
    view = booking_view(status, now=now, cutoff=cutoff)
    context: dict[str, Any] = {"booking": view, "cutoff_hours": cutoff_hours}
    if view.name in (SCHEDULE, CONFIRMED):
        context["max_weeks"] = MAX_WEEKS_AHEAD
    if view.name == CONFIRMED:
        # The service has the last word; this only spares the customer a button that must fail.
        context["can_change"] = (
            view.scheduled_start is not None and now < view.scheduled_start - cutoff
        )
    return _page(request, services, "book.html", context)


async def _choice_page(
    request: Request, services: PageServices, selected: str | None, *, error: str | None = None
) -> Response:
    packages = await services.catalog.on_sale()
    if all(package.id != selected for package in packages):
        selected = packages[0].id if packages else None
    context: dict[str, Any] = {"packages": packages, "selected": selected}
    if error is not None:
        context["notice"] = ("error", error)
    return _page(request, services, "index.html", context, status_code=400 if error else 200)


def _details_page(
    request: Request,
    services: PageServices,
    package: Package,
    form: DetailsForm,
    *,
    notice: tuple[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    context = {"package": package, "form": form, "notice": notice}
    response = _page(request, services, "details.html", context, status_code=status_code)
    if services.settings.payments_live:
        # The form's answer redirects to Airwallex's hosted page, whose host only the
        # payment link knows; browsers check form-action on that redirect too.
        response.headers["Content-Security-Policy"] = PAGE_CSP.format(form_targets="https:")
    return response


def _page(
    request: Request,
    services: PageServices,
    name: str,
    context: dict[str, Any],
    *,
    status_code: int = 200,
) -> Response:
    # Only pages under /book post anything, and only they receive the /book-scoped cookie.
    token = csrf_token(request) if request.url.path.startswith("/book") else None
    context["csrf_token"] = token
    response = render(request.app.state.templates, request, name, context, status_code=status_code)
    if token is not None:
        remember_csrf_token(request, response, token, services.settings)
    return response
