"""The /admin pages: sign in and out, sessions, the dashboard, search, a booking's story, actions.

Thin like every route: check the session (and, on POST, the CSRF token and origin), call one
`AdminService` method, render. The router exists only when ADMIN_PASSWORD_HASH is configured.
Every admin router carries `ADMIN_DEPENDENCIES`, which checks the session on the server once
per request; a router without it has nobody signed in (it fails closed).
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import FormData

from sessionbook.admin.auth import ADMIN_ACCOUNT, AdminSession, verify_password
from sessionbook.admin.pages import ADMIN_DIR, CSRF_FIELD, STATIC_PREFIX, AdminSite
from sessionbook.admin.paging import cursor_after, parse_cursor
from sessionbook.admin.service import LAPSING_WITHIN, LIST_LIMIT, AdminService
from sessionbook.admin.views import BookingDetail
from sessionbook.bookings.models import BookingStatus
from sessionbook.branding.routes import BrandDep
from sessionbook.core.errors import ServiceError
from sessionbook.core.settings import Settings
from sessionbook.http.deps import ClientAddressDep, SettingsDep
from sessionbook.payments.airwallex.money import MoneyError, amount_to_cents


async def verify_admin_session(request: Request) -> None:
    """Who is signed in: a cookie signed by us whose session row is live (not ended, revoked
    or expired). Found once per request and kept on `request.state` for `AdminSite.signed_in`.
    """
    site: AdminSite = request.app.state.admin
    claimed = site.session(request)
    if claimed is None or not claimed.authenticated or claimed.secret is None:
        return
    record = await site.sessions.find(claimed.secret)
    if record is not None:
        request.state.admin_session = claimed
        request.state.admin_session_id = record.public_id


ADMIN_DEPENDENCIES = [Depends(verify_admin_session)]
router = APIRouter(prefix="/admin", include_in_schema=False, dependencies=ADMIN_DEPENDENCIES)

ACTIONS = {
    "refund": "Refund",
    "cancel": "Cancel the booking",
    "resend": "Send the confirmation again",
}
DONE = {
    "refund": "The refund was requested.",
    "cancel": "The booking was cancelled.",
    "resend": "The confirmation email was queued.",
}
MAX_REASON_LENGTH = 255
LISTED_STATUSES = tuple(status.value for status in BookingStatus)


class LoginRequired(Exception):
    """No signed-in admin session: the browser is sent to the login page."""


def _site(request: Request) -> AdminSite:
    site: AdminSite = request.app.state.admin
    return site


def require_admin(request: Request) -> tuple[AdminSite, AdminSession]:
    site = _site(request)
    session = site.signed_in(request)
    if session is None:
        raise LoginRequired()
    return site, session


async def checked_form(request: Request) -> tuple[AdminSite, AdminSession, dict[str, str]]:
    """A POST from our own signed-in page: same origin and the session's CSRF token."""
    site, session = require_admin(request)
    form = {key: str(value) for key, value in (await request.form()).items()}
    if not site.request_is_ours(request, session, form.get(CSRF_FIELD)):
        raise _Forbidden()
    return site, session, form


async def checked_upload(
    request: Request, *, max_files: int = 1
) -> tuple[AdminSite, AdminSession, FormData]:
    """As `checked_form`, for a multipart form whose files the route reads itself."""
    site, session = require_admin(request)
    form = await request.form(max_files=max_files, max_fields=50)
    submitted = form.get(CSRF_FIELD)
    token = submitted if isinstance(submitted, str) else None
    if not site.request_is_ours(request, session, token):
        raise _Forbidden()
    return site, session, form


class _Forbidden(Exception):
    """A POST without a valid CSRF token or from another origin."""


def _booking_id(raw: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(raw)
    except ValueError:
        return None


@router.get("/login")
async def login_form(request: Request) -> Response:
    site = _site(request)
    if site.signed_in(request) is not None:
        return RedirectResponse("/admin", status_code=303)
    session = site.session(request) or AdminSession.anonymous(site.password_fingerprint)
    response = site.page("login.html", {}, session=session)
    site.set_session(response, session)
    return response


@router.post("/login")
async def login(request: Request, settings: SettingsDep, address: ClientAddressDep) -> Response:
    site = _site(request)
    session = site.session(request)
    form = {key: str(value) for key, value in (await request.form()).items()}
    fresh = AdminSession.anonymous(site.password_fingerprint)
    if session is None or not site.request_is_ours(request, session, form.get(CSRF_FIELD)):
        return _login_again(site, fresh, "Your sign-in page expired. Please try again.", 403)
    if settings.rate_limits_enabled:
        # Counted before the password is checked, and answered the same whatever the password:
        # a locked-out attempt learns nothing about it.
        account = None if site.known_device(request) else ADMIN_ACCOUNT
        wait = await site.throttle.begin_attempt(address, account)
        if wait is not None:
            return _locked_out(site, session, wait)
    # argon2 is deliberately slow: keep it off the event loop.
    password = form.get("password", "")
    if not await asyncio.to_thread(verify_password, site.password_hash, password):
        return _login_again(site, session, "That password is not right.", 401)
    if settings.rate_limits_enabled:
        await site.throttle.succeeded(address)
    user_agent = request.headers.get("user-agent", "")
    secret, _record = await site.sessions.open(client_address=address, user_agent=user_agent)
    response = RedirectResponse("/admin", status_code=303)
    site.set_session(response, AdminSession.signed_in(site.password_fingerprint, secret))
    site.set_known_device(response)
    return response


def _locked_out(site: AdminSite, session: AdminSession, wait_seconds: int) -> Response:
    until = datetime.fromtimestamp(site.throttle.clock().timestamp() + wait_seconds, UTC)
    message = (
        "Too many sign-in attempts. Please try again after "
        f"{until.astimezone(site.zone):%H:%M:%S} ({wait_seconds} s from now)."
    )
    response = _login_again(site, session, message, 429)
    response.headers["Retry-After"] = str(wait_seconds)
    return response


def _login_again(site: AdminSite, session: AdminSession, message: str, status: int) -> Response:
    response = site.page(
        "login.html", {"notice": ("error", message)}, session=session, status_code=status
    )
    site.set_session(response, session)
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    site, session, _form = await checked_form(request)
    if session.secret is not None:
        await site.sessions.end(session.secret)
    response = RedirectResponse("/admin/login", status_code=303)
    site.clear_session(response)
    return response


SESSIONS_DONE = {
    "revoked": "The session was revoked.",
    "others": "Every other session was signed out.",
    "missing": "That session had already ended.",
}


@router.get("/sessions")
async def session_list(request: Request) -> Response:
    site, session = require_admin(request)
    done = SESSIONS_DONE.get(request.query_params.get("done", ""))
    context = {
        "sessions": await site.sessions.active(),
        "current_id": site.signed_in_id(request),
        "notice": ("ok", done) if done else None,
    }
    return site.page("sessions.html", context, session=session)


@router.post("/sessions/others/revoke")
async def revoke_other_sessions(request: Request) -> Response:
    site, _session, _form = await checked_form(request)
    current_id = site.signed_in_id(request)
    assert current_id is not None  # checked_form passed: this request has a live session
    await site.sessions.revoke_all_but(current_id)
    return RedirectResponse("/admin/sessions?done=others", status_code=303)


@router.post("/sessions/{public_id}/revoke")
async def revoke_session(request: Request, public_id: str) -> Response:
    site, _session, _form = await checked_form(request)
    revoked = await site.sessions.revoke(public_id[:32])
    if public_id == site.signed_in_id(request):
        response = RedirectResponse("/admin/login", status_code=303)
        site.clear_session(response)
        return response
    done = "revoked" if revoked else "missing"
    return RedirectResponse(f"/admin/sessions?done={done}", status_code=303)


@router.get("")
async def dashboard(request: Request, brand: BrandDep) -> Response:
    site, session = require_admin(request)
    context = {
        "view": await site.service.dashboard(),
        # Until the coach saves a brand, customers see neutral defaults: say where to set it.
        "brand_hint": not (await brand.current()).configured,
    }
    return site.page("dashboard.html", context, session=session)


@router.get("/bookings")
async def bookings(request: Request) -> Response:
    site, session = require_admin(request)
    params = request.query_params
    query = params.get("q", "").strip()[:200]
    if query:
        found = await site.service.search(query)
        matches: dict[str, object] = {"query": query, "bookings": found, "status": None}
        matches |= {"statuses": (), "paged": False, "older_query": None, "notice": None}
        return site.page("bookings.html", matches, session=session)
    status = params.get("status", "").strip() or None
    problem = None
    if status is not None and status not in LISTED_STATUSES:
        problem, status = f"status: must be one of {', '.join(LISTED_STATUSES)}.", None
    before = None
    if params.get("before"):
        try:
            before = parse_cursor(params["before"][:200])
        except ValueError as error:
            problem = f"before: {error}; showing the newest bookings."
    found = await site.service.recent(limit=LIST_LIMIT, status=status, before=before)
    older = None
    if len(found) == LIST_LIMIT:
        older = {
            "before": cursor_after(found[-1].booking),
            **({"status": status} if status else {}),
        }
    context = {
        "query": "",
        "bookings": found,
        "status": status,
        "statuses": LISTED_STATUSES,
        "paged": before is not None,
        "older_query": urlencode(older) if older else None,
        "notice": ("error", problem) if problem else None,
    }
    return site.page("bookings.html", context, session=session, status_code=400 if problem else 200)


@router.get("/lapsing")
async def lapsing(request: Request) -> Response:
    site, session = require_admin(request)
    found = await site.service.lapsing(within=LAPSING_WITHIN)
    context = {"bookings": found, "days": LAPSING_WITHIN.days}
    return site.page("lapsing.html", context, session=session)


@router.get("/bookings/{booking_id}")
async def booking(request: Request, booking_id: str) -> Response:
    site, session = require_admin(request)
    detail = await _detail(site, booking_id)
    if detail is None:
        return _missing(site, session)
    done = DONE.get(request.query_params.get("done", ""))
    context = {"detail": detail, "notice": ("ok", done) if done else None}
    return site.page("booking.html", context, session=session)


@router.get("/bookings/{booking_id}/{action}")
async def confirm_action(request: Request, booking_id: str, action: str) -> Response:
    site, session = require_admin(request)
    detail = await _detail(site, booking_id)
    if detail is None or action not in ACTIONS:
        return _missing(site, session)
    return _confirm_page(site, session, detail, action, {})


@router.post("/bookings/{booking_id}/{action}")
async def perform_action(request: Request, booking_id: str, action: str) -> Response:
    site, session, form = await checked_form(request)
    detail = await _detail(site, booking_id)
    if detail is None or action not in ACTIONS:
        return _missing(site, session)
    reason = " ".join(form.get("reason", "").split())[:MAX_REASON_LENGTH]
    try:
        if action == "resend":
            await site.service.resend_confirmation(detail.booking.id)
        elif not reason:
            return _confirm_page(site, session, detail, action, form, "Please give a reason.")
        elif action == "refund":
            try:
                cents = amount_to_cents(form.get("amount", "").strip(), detail.booking.currency)
            except (MoneyError, ValueError, ArithmeticError):
                message = "The amount is not a valid amount of money."
                return _confirm_page(site, session, detail, action, form, message)
            await site.service.refund(detail.booking.id, amount_cents=cents, reason=reason)
        else:
            await site.service.cancel(detail.booking.id, reason=reason)
    except ServiceError as error:
        return _confirm_page(site, session, detail, action, form, error.message, error.status_code)
    return RedirectResponse(f"/admin/bookings/{detail.booking.id}?done={action}", status_code=303)


async def _detail(site: AdminSite, raw_id: str) -> BookingDetail | None:
    booking_id = _booking_id(raw_id)
    if booking_id is None:
        return None
    try:
        return await site.service.detail(booking_id)
    except ServiceError:
        return None


def _missing(site: AdminSite, session: AdminSession) -> Response:
    return site.page("missing.html", {}, session=session, status_code=404)


def _confirm_page(
    site: AdminSite,
    session: AdminSession,
    detail: BookingDetail,
    action: str,
    form: dict[str, str],
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    context = {
        "detail": detail,
        "action": action,
        "action_title": ACTIONS[action],
        "form": form,
        "notice": ("error", error) if error else None,
    }
    if error and status_code == 200:
        status_code = 400
    return site.page("confirm.html", context, session=session, status_code=status_code)


def install_admin(app: FastAPI, settings: Settings, service: AdminService) -> None:
    """Add the dashboard to the app; called only when an admin password hash is configured."""
    app.state.admin = AdminSite.build(settings, service)

    async def to_login(_request: Request, _exc: Exception) -> Response:
        return RedirectResponse("/admin/login", status_code=303)

    async def forbidden(request: Request, _exc: Exception) -> Response:
        site = _site(request)
        notice = ("error", "This form expired or came from elsewhere. Reload the page and retry.")
        return site.page(
            "missing.html", {"notice": notice}, session=site.signed_in(request), status_code=403
        )

    app.add_exception_handler(LoginRequired, to_login)
    app.add_exception_handler(_Forbidden, forbidden)
    app.mount(STATIC_PREFIX, StaticFiles(directory=ADMIN_DIR / "static"), name="admin-static")
    app.include_router(router)
