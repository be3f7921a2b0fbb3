"""The /admin/brand page: the coach sets the business and coach names, bio, photo and colour.

Thin like the other admin routes: check the session, the CSRF token and origin, hand the typed
values and the uploaded file to `BrandService.save`, re-show the form (values kept, fields
named) when it refuses, redirect when it saved. Customers' pages show the change on their next
load: no restart.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData, UploadFile

from sessionbook.admin.auth import AdminSession
from sessionbook.admin.pages import AdminSite
from sessionbook.admin.routes import ADMIN_DEPENDENCIES, checked_upload, require_admin
from sessionbook.branding.colors import AA_TEXT_CONTRAST, WHITE, contrast_ratio, shown_ratio
from sessionbook.branding.models import BIO_MAX_LENGTH, NAME_MAX_LENGTH
from sessionbook.branding.photo import PHOTO_MAX_BYTES, PHOTO_MAX_SIDE
from sessionbook.branding.profile import BrandProfile
from sessionbook.branding.routes import BrandDep
from sessionbook.branding.service import FIELDS, BrandAuthor, BrandDraft, BrandRefused
from sessionbook.core.i18n import SUPPORTED_LOCALES
from sessionbook.http.deps import ClientAddressDep

BRAND_FORM_PATH = "/admin/brand"
# The form's body may carry a photo: room for one well over the 2 MB it may be, so a photo a
# little too large gets the form back with the field named, not a bare 413.
BRAND_FORM_MAX_BYTES = 3 * PHOTO_MAX_BYTES
LANGUAGE_NAMES = {"en": "English", "fr": "Français"}

router = APIRouter(prefix=BRAND_FORM_PATH, include_in_schema=False, dependencies=ADMIN_DEPENDENCIES)


@router.get("")
async def brand_form(request: Request, brand: BrandDep) -> Response:
    site, session = require_admin(request)
    profile = await brand.current()
    notice = None
    if request.query_params.get("done") == "saved":
        notice = ("ok", "The brand was saved. Customers see it on their next page.")
    return _form_page(site, session, profile, _values_of(profile), {}, notice=notice)


@router.post("")
async def save_brand(request: Request, brand: BrandDep, address: ClientAddressDep) -> Response:
    site, session, form = await checked_upload(request)
    values = {name: _text(form, name) for name in FIELDS}
    photo = await _uploaded(form.get("photo"))
    remove_photo = form.get("remove_photo") == "on"
    try:
        await brand.save(
            BrandDraft(**values),
            BrandAuthor(changed_by="admin", client_address=address),
            photo=photo,
            remove_photo=remove_photo,
        )
    except BrandRefused as refused:
        profile = await brand.current()
        notice = ("error", refused.message)
        errors = refused.fields or {}
        return _form_page(site, session, profile, values, errors, notice=notice, status_code=400)
    return RedirectResponse(f"{BRAND_FORM_PATH}?done=saved", status_code=303)


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


async def _uploaded(value: object) -> bytes | None:
    """The chosen file's bytes (one byte past the limit at most), or None when none was chosen."""
    if not isinstance(value, UploadFile) or not value.filename:
        return None
    # Never more than the limit and one byte: the service refuses it by its size alone.
    return await value.read(PHOTO_MAX_BYTES + 1)


def _values_of(profile: BrandProfile) -> dict[str, str]:
    return {
        "business_name": profile.business_name,
        "coach_name": profile.coach_name,
        "bio": profile.bio,
        "accent_color": profile.accent_color,
        "support_email": profile.support_email or "",
        "default_language": profile.default_language,
    }


def _form_page(
    site: AdminSite,
    session: AdminSession,
    profile: BrandProfile,
    values: dict[str, str],
    errors: dict[str, str],
    *,
    notice: tuple[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    context = {
        "profile": profile,
        "values": values,
        "errors": errors,
        "notice": notice,
        "contrast": shown_ratio(contrast_ratio(profile.accent_color, WHITE)),
        "contrast_needed": AA_TEXT_CONTRAST,
        "languages": [(code, LANGUAGE_NAMES.get(code, code)) for code in SUPPORTED_LOCALES],
        "name_max": NAME_MAX_LENGTH,
        "bio_max": BIO_MAX_LENGTH,
        "photo_max_side": PHOTO_MAX_SIDE,
    }
    return site.page("brand.html", context, session=session, status_code=status_code)
