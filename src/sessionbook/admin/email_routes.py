"""The /admin/emails pages: each kind of customer email, previewed as a customer receives it.

Thin like the other admin routes: check the session, ask the notification service to render
the kind for a fictitious booking of the catalog's first package (the same `render` the
outbox sends with), show both parts. The HTML part is shown in a sandboxed frame: no script
in it could run, and nothing in it reaches the admin page.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from sessionbook.admin.routes import ADMIN_DEPENDENCIES, require_admin
from sessionbook.catalog.routes import CatalogDep
from sessionbook.core.i18n import DEFAULT_LOCALE
from sessionbook.http.deps import SettingsDep, service
from sessionbook.http.middleware import PAGE_CSP
from sessionbook.notifications.email import from_header, one_line, reply_to_header
from sessionbook.notifications.messages import (
    BOOKING_CONFIRMED,
    BOOKING_EXPIRED,
    BOOKING_REMINDER,
    PAYMENT_RECEIVED,
    SESSION_CANCELLED_BY_COACH,
    SESSIONS_LAPSING,
)
from sessionbook.notifications.service import NotificationService

router = APIRouter(prefix="/admin/emails", include_in_schema=False, dependencies=ADMIN_DEPENDENCIES)

NotificationsDep = Annotated[NotificationService, Depends(service(NotificationService))]

# What each email is, in the operator's words; every kind the outbox sends has one.
TITLES = {
    PAYMENT_RECEIVED: "Payment received",
    BOOKING_CONFIRMED: "Session booked (also sent when a session moves)",
    BOOKING_REMINDER: "Reminder, 24 hours before a session",
    SESSIONS_LAPSING: "Sessions about to lapse, 7 days before",
    SESSION_CANCELLED_BY_COACH: "Session cancelled by the coach",
    BOOKING_EXPIRED: "Booking expired",
}
# Each language the customer pages speak (i18n.SUPPORTED_LOCALES), in its own words.
LANGUAGES = {"en": "English", "fr": "Français"}


def preview_csp(site_url: str) -> str:
    """The admin pages' policy, with what an email's HTML needs inside its frame (a srcdoc
    frame lives under its page's policy): inline style attributes, the brand's photo."""
    parts = urlsplit(site_url)
    photo_origin = f"{parts.scheme}://{parts.netloc}" if parts.netloc else ""
    policy = PAGE_CSP.format(form_targets="").replace("  ", " ")
    policy = policy.replace(
        "style-src 'self';", "style-src 'self'; style-src-attr 'unsafe-inline';"
    )
    return policy.replace("img-src 'self' data:;", f"img-src 'self' data: {photo_origin};")


@router.get("")
async def email_list(request: Request) -> Response:
    site, session = require_admin(request)
    context = {"titles": TITLES, "languages": LANGUAGES}
    return site.page("emails.html", context, session=session)


@router.get("/{kind}")
async def email_preview(
    request: Request,
    kind: str,
    notifications: NotificationsDep,
    catalog: CatalogDep,
    settings: SettingsDep,
) -> Response:
    site, session = require_admin(request)
    if kind not in TITLES:
        return site.page("missing.html", {}, session=session, status_code=404)
    locale = request.query_params.get("locale", DEFAULT_LOCALE)
    context: dict[str, object] = {
        "kind": kind,
        "title": TITLES[kind],
        "languages": LANGUAGES,
        "locale": locale,
        "email": None,
    }
    if locale not in LANGUAGES:
        context["locale"] = DEFAULT_LOCALE
        context["notice"] = ("error", f"locale: choose one of {', '.join(LANGUAGES)}.")
        return site.page("email.html", context, session=session, status_code=400)
    packages = await catalog.on_sale() or await catalog.every_package()
    if not packages:
        context["notice"] = ("error", "Create a package first: the preview shows a booking of it.")
        return site.page("email.html", context, session=session, status_code=409)
    email = await notifications.preview(kind, locale=locale, package=packages[0])
    context.update(
        email=email,
        package=packages[0],
        sender=(
            from_header(email.sender_name, settings.smtp_from)
            if settings.smtp_from
            else one_line(email.sender_name) or "(SMTP_FROM is not set: emails are only logged)"
        ),
        reply_to=reply_to_header(email.reply_to),
        attachments=[attachment.filename for attachment in email.attachments],
    )
    response = site.page("email.html", context, session=session)
    response.headers["Content-Security-Policy"] = preview_csp(settings.site_url)
    return response
