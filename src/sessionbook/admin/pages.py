"""The admin pages' plumbing: templates and filters, the session cookies, the CSRF check."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from sessionbook.admin.auth import (
    ADMIN_ACCOUNT,
    ANONYMOUS_SECONDS,
    DEVICE_COOKIE,
    DEVICE_SECONDS,
    SESSION_COOKIE,
    SESSION_SECONDS,
    AdminSession,
    DeviceSigner,
    SessionSigner,
    fingerprint,
)
from sessionbook.admin.login_throttle import LoginThrottle
from sessionbook.admin.service import AdminService
from sessionbook.admin.session_store import AdminSessions
from sessionbook.core.money import format_charge, format_money, payment_label
from sessionbook.core.settings import Settings
from sessionbook.http.csrf import request_is_ours, site_origin
from sessionbook.payments.airwallex.money import MoneyError, cents_to_amount

ADMIN_DIR = Path(__file__).parent
COOKIE_PATH = "/admin"
CSRF_FIELD = "csrf_token"
STATIC_PREFIX = "/admin/static"
_LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "::1"}


def _money(amount_cents: int | None, currency: str) -> str:
    return "" if amount_cents is None else format_money(amount_cents, currency)


def _amount(amount_cents: int, currency: str) -> str:
    """Major units without the code, as an operator types it into the refund form."""
    try:
        return str(cents_to_amount(amount_cents, currency))
    except MoneyError:
        return ""


def _pretty(data: object) -> str:
    if not data:
        return ""
    return json.dumps(data, sort_keys=True, ensure_ascii=False, default=str)


@dataclass
class AdminSite:
    """Everything the admin routes share; built once in `install_admin`."""

    settings: Settings
    service: AdminService
    signer: SessionSigner
    devices: DeviceSigner
    sessions: AdminSessions
    throttle: LoginThrottle
    password_hash: str
    templates: Environment

    @classmethod
    def build(cls, settings: Settings, service: AdminService) -> AdminSite:
        assert settings.admin_password_hash is not None
        assert settings.session_secret is not None
        zone = ZoneInfo(settings.coach_timezone)
        environment = Environment(
            loader=FileSystemLoader(ADMIN_DIR / "templates"),
            autoescape=select_autoescape(default=True, default_for_string=True),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )

        def when(moment: datetime | None) -> str:
            return "" if moment is None else f"{moment.astimezone(zone):%Y-%m-%d %H:%M}"

        environment.filters.update(
            when=when, money=_money, charge=format_charge, amount=_amount, pretty=_pretty
        )
        environment.globals.update(
            payment_label=payment_label,
            sandbox=settings.sandbox,
            coach_timezone=settings.coach_timezone,
            stylesheet=f"{STATIC_PREFIX}/admin.css",
        )
        return cls(
            settings=settings,
            service=service,
            signer=SessionSigner(settings.session_secret),
            devices=DeviceSigner(settings.session_secret),
            sessions=AdminSessions(service.database, lifetime=timedelta(seconds=SESSION_SECONDS)),
            throttle=LoginThrottle(service.database),
            password_hash=settings.admin_password_hash,
            templates=environment,
        )

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.settings.coach_timezone)

    @property
    def password_fingerprint(self) -> str:
        return fingerprint(self.password_hash)

    @property
    def secure_cookies(self) -> bool:
        """Secure everywhere except plain http on a loopback host, where browsers would drop it."""
        parts = urlsplit(self.settings.site_url)
        return not (parts.scheme == "http" and (parts.hostname or "") in _LOOPBACK_HOSTS)

    def session(self, request: Request) -> AdminSession | None:
        """The session the cookie claims, signature checked; not yet whether it was ended."""
        return self.signer.loads(request.cookies.get(SESSION_COOKIE), self.password_fingerprint)

    def signed_in(self, request: Request) -> AdminSession | None:
        """The session `routes.verify_admin_session` found live on the server for this request."""
        session: AdminSession | None = getattr(request.state, "admin_session", None)
        return session

    def signed_in_id(self, request: Request) -> str | None:
        """The public id of this request's live session, to tell it apart in the list."""
        public_id: str | None = getattr(request.state, "admin_session_id", None)
        return public_id

    def known_device(self, request: Request) -> bool:
        return self.devices.recognises(request.cookies.get(DEVICE_COOKIE), ADMIN_ACCOUNT)

    def set_known_device(self, response: Response) -> None:
        response.set_cookie(
            DEVICE_COOKIE,
            self.devices.dumps(ADMIN_ACCOUNT),
            max_age=DEVICE_SECONDS,
            path=COOKIE_PATH,
            secure=self.secure_cookies,
            httponly=True,
            samesite="strict",
        )

    def set_session(self, response: Response, session: AdminSession) -> None:
        response.set_cookie(
            SESSION_COOKIE,
            self.signer.dumps(session),
            max_age=SESSION_SECONDS if session.authenticated else ANONYMOUS_SECONDS,
            path=COOKIE_PATH,
            secure=self.secure_cookies,
            httponly=True,
            samesite="strict",
        )

    def clear_session(self, response: Response) -> None:
        response.delete_cookie(
            SESSION_COOKIE,
            path=COOKIE_PATH,
            secure=self.secure_cookies,
            httponly=True,
            samesite="strict",
        )

    def request_is_ours(
        self, request: Request, session: AdminSession, submitted: str | None
    ) -> bool:
        """A POST from our own signed page with this session's CSRF token (see `http.csrf`)."""
        own_origin = site_origin(self.settings.site_url)
        return request_is_ours(request.headers, own_origin, session.csrf, submitted)

    def page(
        self,
        name: str,
        context: dict[str, Any],
        *,
        session: AdminSession | None,
        status_code: int = 200,
    ) -> HTMLResponse:
        context.setdefault("notice", None)
        context.setdefault("query", "")
        context["csrf_token"] = session.csrf if session is not None else ""
        context["signed_in"] = bool(session and session.authenticated)
        html = self.templates.get_template(name).render(context)
        return HTMLResponse(html, status_code=status_code)
