"""The /admin/packages pages: the coach lists, creates, edits, reorders and (de)activates packages.

Thin like the other admin routes: check the session (and, on POST, the CSRF token and origin),
turn the form into a draft, call one `CatalogService` method, render or redirect.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from sessionbook.admin.auth import AdminSession
from sessionbook.admin.package_forms import PackageForm
from sessionbook.admin.pages import AdminSite
from sessionbook.admin.routes import ADMIN_DEPENDENCIES, checked_form, require_admin
from sessionbook.catalog.defaults import SANDBOX_EVENT_TYPES
from sessionbook.catalog.models import Package
from sessionbook.catalog.routes import CatalogDep
from sessionbook.catalog.service import ChangeAuthor, PackageNotFound, PackageRefused
from sessionbook.http.deps import ClientAddressDep

router = APIRouter(
    prefix="/admin/packages", include_in_schema=False, dependencies=ADMIN_DEPENDENCIES
)

DONE = {
    "created": "The package was created.",
    "saved": "The package was saved. Bookings already made keep what they bought.",
    "activated": "The package is on sale again.",
    "deactivated": "The package is off sale. Bookings already made are not affected.",
}


def _author(address: str) -> ChangeAuthor:
    # One password, one operator: "admin" is who; the address tells sessions apart.
    return ChangeAuthor(changed_by="admin", client_address=address)


@router.get("")
async def package_list(request: Request, catalog: CatalogDep) -> Response:
    site, session = require_admin(request)
    done = DONE.get(request.query_params.get("done", ""))
    context = {
        "packages": await catalog.every_package(),
        "notice": ("ok", done) if done else None,
    }
    return site.page("packages.html", context, session=session)


@router.get("/new")
async def new_package_form(request: Request) -> Response:
    site, session = require_admin(request)
    return _form_page(site, session, None, PackageForm.blank(), [])


@router.post("/new")
async def create_package(
    request: Request, catalog: CatalogDep, address: ClientAddressDep
) -> Response:
    site, session, submitted = await checked_form(request)
    form = PackageForm.from_submission(submitted)
    draft = form.draft(catalog.default_currency)
    if draft is not None:
        try:
            await catalog.create(form.values["id"], draft, _author(address))
        except PackageRefused as refused:
            return _refused(site, session, None, form, refused)
        return RedirectResponse("/admin/packages?done=created", status_code=303)
    return _form_page(site, session, None, form, [], error=True)


@router.get("/{package_id}")
async def edit_package_form(request: Request, package_id: str, catalog: CatalogDep) -> Response:
    site, session = require_admin(request)
    try:
        package = await catalog.package(package_id)
    except PackageNotFound:
        return site.page("missing.html", {}, session=session, status_code=404)
    history = await catalog.history(package_id)
    return _form_page(site, session, package, PackageForm.of(package), history)


@router.post("/{package_id}")
async def save_package(
    request: Request, package_id: str, catalog: CatalogDep, address: ClientAddressDep
) -> Response:
    site, session, submitted = await checked_form(request)
    try:
        package = await catalog.package(package_id)
    except PackageNotFound:
        return site.page("missing.html", {}, session=session, status_code=404)
    form = PackageForm.from_submission({**submitted, "id": package.id})
    draft = form.draft(package.currency)
    history = await catalog.history(package_id)
    if draft is None:
        return _form_page(site, session, package, form, history, error=True)
    try:
        await catalog.update(package_id, draft, _author(address))
    except PackageRefused as refused:
        return _refused(site, session, package, form, refused, history)
    return RedirectResponse("/admin/packages?done=saved", status_code=303)


@router.post("/{package_id}/move")
async def move_package(
    request: Request, package_id: str, catalog: CatalogDep, address: ClientAddressDep
) -> Response:
    _site, _session, submitted = await checked_form(request)
    direction: Literal["up", "down"] = "up" if submitted.get("direction") == "up" else "down"
    try:
        await catalog.move(package_id, direction, _author(address))
    except PackageNotFound:
        return _site.page("missing.html", {}, session=_session, status_code=404)
    return RedirectResponse("/admin/packages", status_code=303)


@router.post("/{package_id}/active")
async def activate_package(
    request: Request, package_id: str, catalog: CatalogDep, address: ClientAddressDep
) -> Response:
    site, session, submitted = await checked_form(request)
    active = submitted.get("active") == "on"
    try:
        await catalog.set_active(package_id, active, _author(address))
    except PackageNotFound:
        return site.page("missing.html", {}, session=session, status_code=404)
    except PackageRefused as refused:
        context = {
            "packages": await catalog.every_package(),
            "notice": ("error", refused.message),
        }
        return site.page("packages.html", context, session=session, status_code=400)
    done = "activated" if active else "deactivated"
    return RedirectResponse(f"/admin/packages?done={done}", status_code=303)


def _refused(
    site: AdminSite,
    session: AdminSession,
    package: Package | None,
    form: PackageForm,
    refused: PackageRefused,
    history: object = (),
) -> Response:
    form.add_service_errors(refused.fields or {})
    return _form_page(site, session, package, form, history, error=True, message=refused.message)


def _form_page(
    site: AdminSite,
    session: AdminSession,
    package: Package | None,
    form: PackageForm,
    history: object,
    *,
    error: bool = False,
    message: str | None = None,
) -> Response:
    notice = None
    if error:
        notice = ("error", message or "The package was not saved. Please correct the fields named.")
    context = {
        "package": package,
        "form": form,
        "history": history,
        "notice": notice,
        "sandbox_event_types": () if site.settings.calendar_live else SANDBOX_EVENT_TYPES,
    }
    return site.page("package.html", context, session=session, status_code=400 if error else 200)
