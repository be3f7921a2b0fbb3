"""The booking pages: choose a package, give details, pay, then the booking's own page at /book.

Thin like every route here: read the form or the cookie, call the booking service, render.
The booking token arrives at most once in a URL (`/book?token=`) and leaves it at once for an
HttpOnly cookie; no page ever contains it.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from sessionbook.bookings.errors import BookingNotFound
from sessionbook.bookings.service import BookingStatusView
from sessionbook.catalog.models import Package
from sessionbook.core import i18n
from sessionbook.core.db import utcnow
from sessionbook.core.errors import ProviderUnavailable, RateLimited, ServiceError, ValidationFailed
from sessionbook.core.i18n import gettext as _
from sessionbook.http.deps import (
    BadTokenGuard,
    BadTokenGuardDep,
    ClientAddressDep,
    LimitsDep,
    rate_limited,
)
from sessionbook.http.middleware import PAGE_CSP
from sessionbook.scheduling.errors import SlotUnavailable
from sessionbook.scheduling.schemas import PickedTime, SlotsQuery
from sessionbook.web.calendar import (
    build_month,
    clamp_month,
    day_name,
    first_weekday,
    last_bookable_day,
    month_end,
    month_start,
    parse_day,
    parse_interval,
    parse_month,
)
from sessionbook.web.deps import PageServices, PageServicesDep
from sessionbook.web.formatting import is_known_zone, zone_or_utc
from sessionbook.web.forms import DetailsForm
from sessionbook.web.language import page_language, remember_language
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
from sessionbook.web.views import CONFIRMED, SCHEDULE, BookingView, booking_view

# Every page renders in its request's language; the JSON helpers (web.api) do not need one.
router = APIRouter(include_in_schema=False, dependencies=[Depends(page_language)])

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
        return await _choice_page(request, services, None, error=_("Choose a package to continue."))
    return _details_page(request, services, package, DetailsForm.empty(package.id))


@router.post("/book/details", response_class=HTMLResponse)
async def submit_details(
    request: Request, services: PageServicesDep, limits: LimitsDep, address: ClientAddressDep
) -> Response:
    submitted = dict(await request.form())
    form = DetailsForm.from_submission(submitted)
    package = await services.catalog.on_sale_by_id(form.values["package"])
    if package is None:
        return await _choice_page(request, services, None, error=_("Choose a package to continue."))
    token_field = submitted.get(CSRF_FIELD)
    try:
        check_same_origin(
            request, services.settings, token_field if isinstance(token_field, str) else None
        )
    except CsrfRejected:
        notice = ("error", _("Your session had expired. Please check your details and send again."))
        return _details_page(request, services, package, form, notice=notice, status_code=403)
    booking_request = form.validate()
    if booking_request is None:
        notice = ("error", _("Please correct the highlighted fields."))
        return _details_page(request, services, package, form, notice=notice, status_code=400)
    try:
        await rate_limited("create")(services.settings, limits, address)
        created = await services.bookings.create(booking_request, locale=i18n.current_locale())
    except RateLimited as exc:
        wait = _("Too many bookings from here. Please wait %(seconds)s s.")
        notice = ("error", wait % {"seconds": exc.retry_after})
        return _details_page(request, services, package, form, notice=notice, status_code=429)
    except ValidationFailed:
        # The package went off sale while the customer was typing.
        return await _choice_page(request, services, None, error=_("Choose a package to continue."))
    except ProviderUnavailable:
        notice = (
            "error",
            _(
                "The payment provider is not answering right now, so nothing was booked or "
                "charged. Your details are still here: please try again in a moment."
            ),
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
    if "token" in request.query_params:
        return await _trade_link(request, services, guard, request.query_params["token"].strip())
    token = booking_token(request)
    if token is None:
        return _page(request, services, "missing.html", {"reason": "none"})
    found = await _status_or_missing(request, services, guard, token)
    if isinstance(found, Response):
        return found
    return await _booking_page(request, services, found, token)


async def _status_or_missing(
    request: Request, services: PageServices, guard: BadTokenGuard, token: str
) -> BookingStatusView | Response:
    """The booking of the browser's cookie, or the page saying why there is none to show."""
    try:
        await guard.check()
        return await services.bookings.status_of(token)
    except RateLimited as exc:
        context = {"reason": "limited", "retry_after": exc.retry_after}
        return _page(request, services, "missing.html", context, status_code=429)
    except BookingNotFound:
        await guard.record_miss()
        response = _page(request, services, "missing.html", {"reason": "unknown"}, status_code=404)
        clear_booking_cookie(response, services.settings)
        return response


@router.post("/book/slot", response_class=HTMLResponse)
async def choose_slot(
    request: Request,
    services: PageServicesDep,
    guard: BadTokenGuardDep,
    limits: LimitsDep,
    address: ClientAddressDep,
) -> Response:
    """The calendar's form without script: book (or move) the chosen time, then show the page.

    The same service call as the page's script makes through /book/api; a refusal comes back
    as the page itself with a message and the day's fresh times.
    """
    token = booking_token(request)
    if token is None:
        return _page(request, services, "missing.html", {"reason": "none"})
    submitted = await request.form()
    fields = {name: value for name, value in submitted.items() if isinstance(value, str)}
    found = await _status_or_missing(request, services, guard, token)
    if isinstance(found, Response):
        return found
    status = found
    again = {name: fields.get(name, "") for name in ("month", "day", "tz")}
    try:
        check_same_origin(request, services.settings, fields.get(CSRF_FIELD))
    except CsrfRejected:
        notice = ("error", _("This page had expired. Please choose your time again."))
        return await _booking_page(
            request, services, status, token, notice=notice, status_code=403, wanted=again
        )
    picked = _picked_time(fields)
    if picked is None:
        notice = ("error", _("Please choose a time first."))
        return await _booking_page(
            request, services, status, token, notice=notice, status_code=400, wanted=again
        )
    moving = fields.get("mode") == "reschedule"
    session_id = _session_id(fields.get("session"))
    try:
        await rate_limited("manage" if moving else "schedule")(services.settings, limits, address)
        if moving:
            await services.scheduling.reschedule(
                token,
                start=picked.start_time,
                end=picked.end_time,
                time_zone=picked.timezone,
                session_id=session_id,
            )
        else:
            await services.scheduling.schedule(
                token,
                start=picked.start_time,
                end=picked.end_time,
                time_zone=picked.timezone,
                notes=None,
            )
    except SlotUnavailable:
        notice = ("error", _("Sorry, that time was just taken. Please pick another one."))
        status = await services.bookings.status_of(token)
        return await _booking_page(
            request, services, status, token, notice=notice, status_code=409, wanted=again
        )
    except RateLimited as exc:
        notice = (
            "error",
            _("Too many tries in a short time. Please wait %(seconds)s s, then try again.")
            % {"seconds": exc.retry_after},
        )
        return await _booking_page(
            request, services, status, token, notice=notice, status_code=429, wanted=again
        )
    except ProviderUnavailable:
        notice = (
            "error",
            _("The calendar isn't answering right now. Nothing was booked; please try again."),
        )
        return await _booking_page(
            request, services, status, token, notice=notice, status_code=502, wanted=again
        )
    except ServiceError as exc:
        # Booked up, cancelled or expired meanwhile: the page shows where the booking stands now.
        notice = (
            "error",
            _("That time could not be booked: your booking changed meanwhile. Here it is now."),
        )
        status = await services.bookings.status_of(token)
        return await _booking_page(
            request, services, status, token, notice=notice, status_code=exc.status_code
        )
    return RedirectResponse("/book", status_code=303)


def _picked_time(fields: dict[str, str]) -> PickedTime | None:
    interval = parse_interval(fields.get("slot"))
    if interval is None:
        return None
    zone = fields.get("tz", "")
    try:
        return PickedTime.model_validate(
            {
                "startTime": interval[0].isoformat(),
                "endTime": interval[1].isoformat(),
                "timezone": zone if is_known_zone(zone) else None,
            }
        )
    except ValidationError:
        return None


def _session_id(text: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(text) if text else None
    except ValueError:
        return None


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


async def _booking_page(
    request: Request,
    services: PageServices,
    status: BookingStatusView,
    token: str,
    *,
    notice: tuple[str, str] | None = None,
    status_code: int = 200,
    wanted: dict[str, str] | None = None,
) -> Response:
    now = utcnow()
    cutoff_hours = services.settings.cancellation_cutoff_hours
    cutoff = timedelta(hours=cutoff_hours)
    view = booking_view(status, now=now, cutoff=cutoff)
    context: dict[str, Any] = {"booking": view, "cutoff_hours": cutoff_hours, "notice": notice}
    if view.name in (SCHEDULE, CONFIRMED):
        asked = wanted if wanted is not None else dict(request.query_params)
        listing = view.name == SCHEDULE
        facts = await _calendar(
            services, token, view, asked, now=now, cutoff=cutoff, listing=listing
        )
        context.update(facts)
    if view.name == CONFIRMED:
        # The service has the last word; this only spares the customer a button that must fail.
        context["can_change"] = (
            view.scheduled_start is not None and now < view.scheduled_start - cutoff
        )
    return _page(request, services, "book.html", context, status_code=status_code)


async def _calendar(
    services: PageServices,
    token: str,
    view: BookingView,
    asked: dict[str, str],
    *,
    now: datetime,
    cutoff: timedelta,
    listing: bool,
) -> dict[str, Any]:
    """The month calendar's facts: its bounds always, its month and times when `listing`."""
    wanted_zone = asked.get("tz", "")
    zone = zone_or_utc(wanted_zone if is_known_zone(wanted_zone) else view.time_zone)
    locale = i18n.current_locale()
    today = now.astimezone(zone).date()
    last_day = last_bookable_day(today, view.valid_until, zone)
    facts: dict[str, Any] = {
        "locale": locale,
        "first_weekday": first_weekday(locale),
        "shown_zone": zone.key,
        "first_month": month_start(today),
        "last_day": last_day,
        "calendar": None,
        "calendar_error": None,
    }
    if not listing:
        return facts
    month = clamp_month(parse_month(asked.get("month")), today, last_day)
    query = SlotsQuery(first=month, last=month_end(month), time_zone=zone.key)
    try:
        slots = await services.scheduling.list_slots(token, query)
    except ServiceError:
        facts["calendar_error"] = _(
            "The calendar isn't answering right now. Nothing was lost; please reload this page "
            "in a moment."
        )
        return facts
    facts["calendar"] = build_month(
        month,
        slots,
        zone=zone,
        now=now,
        last_day=last_day,
        wanted_day=parse_day(asked.get("day")),
        cutoff=cutoff,
        locale=locale,
    )
    facts["today_label"] = day_name(today, locale)
    return facts


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
    # The switcher's links from the form's answer (a POST) lead back to this package's form.
    context = {
        "package": package,
        "form": form,
        "notice": notice,
        "lang_keep": {"package": package.id},
    }
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
    remember_language(request, response, services.settings)
    return response
