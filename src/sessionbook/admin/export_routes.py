"""The /admin/exports pages: the form, and downloads of bookings, sessions, payments, refunds.

`GET /admin/exports/{kind}.{csv|json}?from=YYYY-MM-DD&to=YYYY-MM-DD[&excel=1]` streams the
file as `exports.render` writes it (the same bytes `sessionbook export` prints). A date that
is not a date, or `to` before `from`, shows the form again naming the field, with 400.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse

from sessionbook.admin.auth import AdminSession
from sessionbook.admin.export_repository import ExportReader
from sessionbook.admin.exports import (
    MEDIA_TYPES,
    ExportFormat,
    ExportKind,
    ExportRangeError,
    ExportRequest,
    filename,
    parse_range,
    render,
)
from sessionbook.admin.pages import AdminSite
from sessionbook.admin.routes import ADMIN_DEPENDENCIES, require_admin

router = APIRouter(
    prefix="/admin/exports", include_in_schema=False, dependencies=ADMIN_DEPENDENCIES
)

KIND_TITLES = {
    ExportKind.BOOKINGS: "Bookings (by the day they were made)",
    ExportKind.SESSIONS: "Sessions (by the day they take place)",
    ExportKind.PAYMENTS: "Payments (by the day they were paid)",
    ExportKind.REFUNDS: "Refunds (by the day they were requested)",
}


def _values(request: Request, site: AdminSite) -> dict[str, str]:
    """What the form shows: the query's values, else this month so far in the coach's zone."""
    today = datetime.now(site.zone).date()
    query = request.query_params
    return {
        "kind": query.get("kind", ExportKind.BOOKINGS.value),
        "format": query.get("format", ExportFormat.CSV.value),
        "from": query.get("from", str(today.replace(day=1))),
        "to": query.get("to", str(today)),
        "excel": "1" if query.get("excel") == "1" else "",
    }


def _form(
    site: AdminSite,
    session: AdminSession,
    values: dict[str, str],
    error: ExportRangeError | None = None,
) -> Response:
    context = {
        "values": values,
        "kinds": KIND_TITLES,
        "formats": list(ExportFormat),
        "errors": {error.field: error.message} if error else {},
        "notice": ("error", "Nothing was exported. " + error.message) if error else None,
    }
    return site.page("exports.html", context, session=session, status_code=400 if error else 200)


@router.get("")
async def export_form(request: Request) -> Response:
    site, session = require_admin(request)
    return _form(site, session, _values(request, site))


@router.get("/download")
async def download_from_form(request: Request) -> Response:
    """The form's submission: checked here, then sent on to the file's own address."""
    site, session = require_admin(request)
    values = _values(request, site)
    if values["kind"] not in set(ExportKind) or values["format"] not in set(ExportFormat):
        return site.page("missing.html", {}, session=session, status_code=404)
    try:
        parse_range(values["from"], values["to"], site.zone)
    except ExportRangeError as error:
        return _form(site, session, values, error)
    query = {"from": values["from"], "to": values["to"]}
    if values["excel"]:
        query["excel"] = "1"
    target = f"/admin/exports/{values['kind']}.{values['format']}?{urlencode(query)}"
    return RedirectResponse(target, status_code=303)


@router.get("/{kind}.{export_format}")
async def download(request: Request, kind: str, export_format: str) -> Response:
    site, session = require_admin(request)
    if kind not in set(ExportKind) or export_format not in set(ExportFormat):
        return site.page("missing.html", {}, session=session, status_code=404)
    values = {**_values(request, site), "kind": kind, "format": export_format}
    values["from"] = request.query_params.get("from", "")
    values["to"] = request.query_params.get("to", "")
    try:
        days = parse_range(values["from"], values["to"], site.zone)
    except ExportRangeError as error:
        return _form(site, session, values, error)
    export = ExportRequest(
        ExportKind(kind), days, ExportFormat(export_format), excel=values["excel"] == "1"
    )
    reader = ExportReader(site.service.database)
    chunks = render(export, reader.batches(export.kind, days.start, days.end), site.zone)
    name = filename(export.kind, days, export.export_format)
    headers = {
        "Content-Disposition": f'attachment; filename="{name}"',
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
    }
    return StreamingResponse(chunks, media_type=MEDIA_TYPES[export.export_format], headers=headers)
