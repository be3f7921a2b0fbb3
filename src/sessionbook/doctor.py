"""The checks of `sessionbook doctor`: are the providers, site, SMTP and database ready to go live?

Each check is a small async function returning one `CheckResult`; none sends mail, takes money
or books a time. Details name the setting to fix and never carry a secret.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from urllib.parse import urlsplit

import aiosmtplib
import httpx
from sqlalchemy import text

from sessionbook.bootstrap import Services
from sessionbook.catalog.models import Package
from sessionbook.core import migrate
from sessionbook.core.settings import PACKAGE_IDS, SANDBOX_WEBHOOK_SECRET, Settings
from sessionbook.payments.airwallex.errors import (
    PaymentAuthenticationFailed,
    PaymentProviderError,
)
from sessionbook.scheduling.calcom.errors import (
    CalendarAuthFailed,
    CalendarError,
    CalendarNotFound,
    CalendarRateLimited,
)

Status = Literal["ok", "fail", "skip"]

# Airwallex's documented hosts (https://www.airwallex.com/docs/api, "API endpoints").
AIRWALLEX_PRODUCTION_HOST = "api.airwallex.com"
AIRWALLEX_DEMO_HOST = "api-demo.airwallex.com"
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
SLOTS_LOOKAHEAD = timedelta(days=7)
CHECK_TIMEOUT_SECONDS = 30.0
SITE_TIMEOUT_SECONDS = 5.0
SMTP_TIMEOUT_SECONDS = 10.0
SERVER_HINT = (
    "the stand-ins are served by the app itself: is `sessionbook serve` running at SITE_URL?"
)


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One line of the report: `skip` is a check that does not apply and fails nothing."""

    name: str
    status: Status
    detail: str

    @property
    def ok(self) -> bool:
        return self.status != "fail"

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status, "ok": self.ok, "detail": self.detail}


def passed(name: str, detail: str) -> CheckResult:
    return CheckResult(name, "ok", detail)


def failed(name: str, detail: str) -> CheckResult:
    return CheckResult(name, "fail", detail)


def skipped(name: str, detail: str) -> CheckResult:
    return CheckResult(name, "skip", detail)


async def run_checks(services: Services) -> list[CheckResult]:
    """Every check, side by side; the order of the report is fixed, whatever answers first."""
    settings = services.settings
    groups: Sequence[Awaitable[list[CheckResult]]] = (
        _one(check_airwallex_login(settings, services), "airwallex login"),
        _one(check_webhook_secret(settings), "airwallex webhook secret"),
        check_event_types_guarded(services),
        _one(check_slots(services), "cal.com slots"),
        _one(check_site_url(settings), "site url"),
        _one(check_smtp(settings), "smtp"),
        _one(check_migrated(settings), "database migrations"),
        _one(check_database_role(services), "database role"),
    )
    results = await asyncio.gather(*groups)
    return [result for group in results for result in group]


async def _one(check: Awaitable[CheckResult], name: str) -> list[CheckResult]:
    try:
        return [await asyncio.wait_for(check, CHECK_TIMEOUT_SECONDS)]
    except TimeoutError:
        return [failed(name, f"no answer within {CHECK_TIMEOUT_SECONDS:.0f} s")]
    except Exception as exc:  # a check must report, never stop the others
        return [failed(name, f"unexpected {type(exc).__name__}")]


# -- Airwallex ------------------------------------------------------------------------------


def airwallex_environment(base_url: str) -> str:
    host = urlsplit(base_url).hostname or ""
    if host == AIRWALLEX_PRODUCTION_HOST:
        return "production"
    if host == AIRWALLEX_DEMO_HOST:
        return "demo, no real money"
    return "not an Airwallex host"


async def check_airwallex_login(settings: Settings, services: Services) -> CheckResult:
    """The credentials log in at the base URL they belong to (demo keys fail at production)."""
    name = "airwallex login"
    if settings.payments_live:
        where = (
            f"{settings.airwallex_base_url} ({airwallex_environment(settings.airwallex_base_url)})"
        )
    else:
        where = f"the sandbox stand-in at {settings.site_url}"
    try:
        await services.payment_gateway.log_in()
    except PaymentAuthenticationFailed as exc:
        return failed(
            name,
            f"login refused at {where} (HTTP {exc.status_code} {exc.code}): check "
            "AIRWALLEX_CLIENT_ID and AIRWALLEX_API_KEY, and that AIRWALLEX_BASE_URL is the "
            f"environment they were made in: https://{AIRWALLEX_DEMO_HOST} for demo keys, "
            f"https://{AIRWALLEX_PRODUCTION_HOST} for production keys",
        )
    except PaymentProviderError as exc:
        hint = "" if settings.payments_live else f"; {SERVER_HINT}"
        return failed(name, f"no login at {where}: {exc.code}{hint}")
    return passed(name, f"logged in at {where}")


async def check_webhook_secret(settings: Settings) -> CheckResult:
    name = "airwallex webhook secret"
    webhook_url = f"{settings.site_url}/functions/v1/payment-webhook"
    if not settings.payments_live:
        return passed(name, "sandbox: the stand-in signs webhooks with the public sandbox secret")
    secret = settings.airwallex_webhook_secret
    if secret is None:
        return failed(name, "AIRWALLEX_WEBHOOK_SECRET is not set: every webhook would be refused")
    if secret == SANDBOX_WEBHOOK_SECRET:
        return failed(
            name,
            "AIRWALLEX_WEBHOOK_SECRET is the public sandbox value: copy the secret of the "
            f"webhook endpoint {webhook_url} from the Airwallex web app",
        )
    return passed(name, f"set; Airwallex must send events to {webhook_url}")


# -- Cal.com --------------------------------------------------------------------------------


def _calendar_failure(error: CalendarError, settings: Settings, doing: str) -> str:
    if isinstance(error, CalendarAuthFailed):
        return f"Cal.com refused {doing} (HTTP {error.status_code}): check CAL_API_KEY"
    if isinstance(error, CalendarRateLimited):
        return f"Cal.com throttled {doing}: try again in a minute"
    hint = "" if settings.calendar_live else f"; {SERVER_HINT}"
    return f"Cal.com did not answer {doing} ({error.code}){hint}"


def _packages_unreadable(exc: Exception) -> str:
    return f"cannot read the packages ({type(exc).__name__}): see the database lines"


def _package_source(package: Package) -> str:
    if package.id in PACKAGE_IDS:
        return f" (first set from CAL_{package.id.upper()}_EVENT_TYPE_ID)"
    return ""


async def check_event_types_guarded(services: Services) -> list[CheckResult]:
    try:
        return await asyncio.wait_for(check_event_types(services), CHECK_TIMEOUT_SECONDS)
    except TimeoutError:
        return [failed("cal.com event types", f"no answer within {CHECK_TIMEOUT_SECONDS:.0f} s")]
    except Exception as exc:
        return [failed("cal.com event types", _packages_unreadable(exc))]


async def check_event_types(services: Services) -> list[CheckResult]:
    """One line per package on sale: its event type exists, lasts as long, and has video."""
    packages = await services.catalog.on_sale()
    if not packages:
        return [failed("cal.com event types", "no package is on sale: nothing can be booked")]
    return list(
        await asyncio.gather(*(check_event_type(services, package) for package in packages))
    )


async def check_event_type(services: Services, package: Package) -> CheckResult:
    name = f"cal.com event type {package.id}"
    event_type_id = package.cal_event_type_id
    try:
        event_type = await services.calendar.get_event_type(event_type_id)
    except CalendarNotFound:
        return failed(
            name,
            f"Cal.com has no event type {event_type_id} for this API key{_package_source(package)}"
            ": set the right id in the admin's Packages page",
        )
    except CalendarError as error:
        return failed(
            name,
            _calendar_failure(error, services.settings, f"event type {event_type_id}"),
        )
    if event_type.length_minutes != package.duration_minutes:
        return failed(
            name,
            f"event type {event_type_id} lasts {event_type.length_minutes} minutes but the "
            f"package lasts {package.duration_minutes}: make them equal",
        )
    videos = event_type.video_locations
    if not videos:
        found = ", ".join(location.describe() for location in event_type.locations) or "none"
        return failed(
            name,
            f"event type {event_type_id} has no video location (locations: {found}): add Cal "
            "Video, Google Meet, Zoom or another conferencing app to it in Cal.com",
        )
    return passed(
        name,
        f"event type {event_type_id}, {event_type.length_minutes} minutes, video by "
        + ", ".join(location.describe() for location in videos),
    )


async def check_slots(services: Services) -> CheckResult:
    """The key can list free times of the first package on sale for the coming week."""
    name = "cal.com slots"
    try:
        packages = await services.catalog.on_sale()
    except Exception as exc:
        return failed(name, _packages_unreadable(exc))
    if not packages:
        return failed(name, "no package is on sale to ask Cal.com about")
    package = packages[0]
    now = datetime.now(UTC)
    try:
        slots = await services.calendar.get_slots(
            event_type_id=package.cal_event_type_id,
            start=now,
            end=now + SLOTS_LOOKAHEAD,
            time_zone=services.settings.coach_timezone,
            duration_minutes=package.duration_minutes,
        )
    except CalendarError as error:
        return failed(name, _calendar_failure(error, services.settings, "to list slots"))
    return passed(
        name,
        f"{len(slots)} free times in the next 7 days for event type "
        f"{package.cal_event_type_id} ({package.id})",
    )


# -- the site -------------------------------------------------------------------------------


async def check_site_url(settings: Settings) -> CheckResult:
    """SITE_URL is https (plain http only on loopback in sandbox mode) and answers /healthz."""
    name = "site url"
    parts = urlsplit(settings.site_url)
    problems: list[str] = []
    loopback_sandbox = settings.sandbox and parts.hostname in LOOPBACK_HOSTS
    if parts.scheme != "https" and not loopback_sandbox:
        problems.append(
            "SITE_URL is not https: payment returns and customers' links need it "
            "(plain http passes only on localhost in sandbox mode)"
        )
    health = f"{settings.site_url}/healthz"
    try:
        async with httpx.AsyncClient(timeout=SITE_TIMEOUT_SECONDS) as client:
            response = await client.get(health)
    except httpx.HTTPError as exc:
        problems.append(
            f"nothing answers at {health} ({type(exc).__name__}): is `sessionbook serve` "
            "running, and SITE_URL its public address?"
        )
    else:
        if response.status_code != 200:
            problems.append(f"{health} answered HTTP {response.status_code}, not 200")
    if problems:
        return failed(name, "; ".join(problems))
    return passed(name, f"{health} answers 200")


# -- SMTP -----------------------------------------------------------------------------------


async def check_smtp(settings: Settings) -> CheckResult:
    """The mail server greets us (EHLO, STARTTLS and login when configured); no mail is sent."""
    name = "smtp"
    if settings.smtp_host is None:
        return skipped(name, "SMTP_HOST is not set: emails are only logged, never sent")
    where = f"{settings.smtp_host}:{settings.smtp_port}"
    try:
        done = await _smtp_handshake(settings)
    except aiosmtplib.SMTPAuthenticationError as exc:
        return failed(name, f"{where} refused SMTP_USERNAME/SMTP_PASSWORD ({exc.code})")
    except aiosmtplib.SMTPResponseException as exc:
        return failed(name, f"{where} answered {exc.code}")
    except _NoStartTls as exc:
        return failed(name, f"{where}: {exc}")
    except (aiosmtplib.SMTPException, OSError) as exc:
        # aiosmtplib wraps the socket's error; the operator needs the socket's own word.
        reason = type(exc.__cause__ or exc).__name__
        return failed(name, f"cannot talk to {where} ({reason}): check SMTP_HOST/PORT")
    return passed(name, f"{where} answered EHLO" + "".join(f", {step}" for step in done))


class _NoStartTls(Exception):
    """SMTP_STARTTLS is on but the server does not offer it."""


async def _smtp_handshake(settings: Settings) -> list[str]:
    assert settings.smtp_host is not None
    done: list[str] = []
    smtp = aiosmtplib.SMTP(
        hostname=settings.smtp_host,
        port=settings.smtp_port,
        timeout=SMTP_TIMEOUT_SECONDS,
        start_tls=False,
    )
    await smtp.connect()
    try:
        await smtp.ehlo()
        if settings.smtp_starttls:
            if not smtp.supports_extension("starttls"):
                raise _NoStartTls(
                    "the server offers no STARTTLS (SMTP_STARTTLS=true): turn it on there, "
                    "or set SMTP_STARTTLS=false on a trusted network"
                )
            await smtp.starttls(tls_context=ssl.create_default_context())
            done.append("STARTTLS")
        if settings.smtp_username is not None and settings.smtp_password is not None:
            await smtp.login(settings.smtp_username, settings.smtp_password)
            done.append(f"logged in as {settings.smtp_username}")
        await smtp.quit()
    finally:
        smtp.close()
    return done


# -- the database ---------------------------------------------------------------------------


async def check_migrated(settings: Settings) -> CheckResult:
    name = "database migrations"
    try:
        current = await migrate.current_revision(settings.database_url)
    except Exception as exc:  # the URL's password must not reach the report: no message
        return failed(name, f"cannot read DATABASE_URL's revision ({type(exc).__name__})")
    expected = migrate.head_revision()
    if current != expected:
        return failed(
            name,
            f"the database is at {current or 'no migration at all'}, this code expects "
            f"{expected}: run `sessionbook migrate` as the tables' owner",
        )
    return passed(name, f"at the latest migration {expected}")


async def check_database_role(services: Services) -> CheckResult:
    """On PostgreSQL the app's login owns nothing, bypasses nothing, and bookings have RLS."""
    name = "database role"
    if services.database.is_sqlite:
        return skipped(name, "SQLite: no login roles, row-level security does not apply")
    try:
        facts = await _role_facts(services)
    except Exception as exc:  # the URL's password must not reach the report: no message
        return failed(name, f"cannot inspect the login role ({type(exc).__name__})")
    role, owned, rls = facts
    problems: list[str] = []
    if role.rolsuper:
        problems.append(f"{role.login} is a superuser, which row-level security never limits")
    elif role.rolbypassrls:
        problems.append(f"{role.login} has BYPASSRLS")
    if owned:
        shown = ", ".join(owned[:3]) + (", ..." if len(owned) > 3 else "")
        problems.append(f"{role.login} owns the tables ({shown})")
    if not role.member:
        problems.append(f"{role.login} is not a member of sessionbook_service")
    if rls is None:
        problems.append("there is no bookings table")
    elif not rls.relrowsecurity:
        problems.append("row-level security is off on bookings")
    if problems:
        return failed(
            name,
            "; ".join(problems) + ": the app must log in as its own role "
            "(docs/deployment.md, PostgreSQL roles)",
        )
    return passed(name, f"{role.login} owns no table, no superuser, row-level security on bookings")


async def _role_facts(services: Services) -> tuple[Any, Sequence[str], Any]:
    """The login role's powers, the tables it owns, and the row-level security of bookings."""
    async with services.database.engine.connect() as connection:
        role = (
            await connection.execute(
                text(
                    "SELECT current_user AS login, rolsuper, rolbypassrls, "
                    "pg_has_role(current_user, 'sessionbook_service', 'MEMBER') AS member "
                    "FROM pg_roles WHERE rolname = current_user"
                )
            )
        ).one()
        owned = (
            await connection.scalars(
                text(
                    "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
                    "AND tableowner = current_user ORDER BY tablename"
                )
            )
        ).all()
        rls = (
            await connection.execute(
                text("SELECT relrowsecurity FROM pg_class WHERE oid = to_regclass('bookings')")
            )
        ).one_or_none()
    return role, owned, rls
