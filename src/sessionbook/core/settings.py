"""Every environment variable of the contract, parsed and checked once at start."""

from __future__ import annotations

import json
from functools import cached_property
from typing import Annotated, Any, Literal
from urllib.parse import urlparse

from pydantic import (
    AliasChoices,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

PackageId = Literal["discovery", "single", "monthly", "quarterly"]
PACKAGE_IDS: tuple[PackageId, ...] = ("discovery", "single", "monthly", "quarterly")

# Fixed, public sandbox credentials: the stand-ins never move real money, and every
# worker of one sandbox server must agree on them.
SANDBOX_AIRWALLEX_CLIENT_ID = "sandbox-client-id"
SANDBOX_AIRWALLEX_API_KEY = "sandbox-api-key"
SANDBOX_WEBHOOK_SECRET = "sandbox-webhook-secret"  # noqa: S105 - public sandbox value
SANDBOX_CAL_API_KEY = "cal_sandbox_key"
SANDBOX_CAL_WEBHOOK_SECRET = "sandbox-cal-webhook-secret"  # noqa: S105 - public sandbox value
SANDBOX_EVENT_TYPE_IDS: dict[PackageId, int] = {
    "discovery": 1001,
    "single": 1002,
    "monthly": 1003,
    "quarterly": 1004,
}


class ConfigurationError(Exception):
    """A setting is missing or wrong; the message names the variable."""


def _check_http_url(value: str, variable: str) -> str:
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ValueError(f"{variable} must be an http(s) URL, got {value!r}")
    return value.rstrip("/")


OptionalSecret = Annotated[str | None, Field(default=None)]


class Settings(BaseSettings):
    """The service's configuration; unknown variables are ignored, bad ones stop the start."""

    model_config = SettingsConfigDict(
        env_file=None, case_sensitive=False, extra="ignore", frozen=True
    )

    database_url: str = "sqlite+aiosqlite:///./sessionbook.db"
    site_url: str = "http://127.0.0.1:8000"
    airwallex_base_url: str = "https://api-demo.airwallex.com"
    airwallex_client_id: OptionalSecret
    airwallex_api_key: OptionalSecret
    airwallex_webhook_secret: OptionalSecret
    cal_api_url: str = "https://api.cal.com/v2"
    cal_api_key: OptionalSecret
    cal_webhook_secret: OptionalSecret
    cal_discovery_event_type_id: int | None = None
    cal_single_event_type_id: int | None = None
    cal_monthly_event_type_id: int | None = None
    cal_quarterly_event_type_id: int | None = None
    payment_window_minutes: int = Field(default=1440, ge=5, le=60 * 24 * 30)
    scheduling_window_days: int = Field(default=90, ge=1, le=3650)
    allowed_origins: str = ""
    rate_limits: Literal["on", "off"] = "on"
    trusted_proxies: str = ""
    redis_url: str | None = None
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
    catalog: str | None = Field(
        default=None, validation_alias=AliasChoices("sessionbook_catalog", "catalog")
    )
    cancellation_cutoff_hours: int = Field(default=24, ge=0, le=24 * 30)
    sweep_interval_seconds: int = Field(default=60, ge=0)
    # Connections each worker process keeps open to PostgreSQL (as many again may open for
    # bursts); bench/RESULTS.md has the measurements behind the default. Ignored on SQLite.
    database_pool_size: int = Field(default=10, ge=1, le=200)
    log_level: str = "info"
    log_format: Literal["json", "console"] = "json"
    # Operations (issue 7): the admin dashboard, notifications by email, metrics.
    admin_password_hash: OptionalSecret
    session_secret: OptionalSecret
    coach_timezone: str = "UTC"
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: OptionalSecret
    smtp_from: str | None = None
    smtp_starttls: bool = True
    metrics_token: OptionalSecret

    @field_validator("site_url", "airwallex_base_url", "cal_api_url")
    @classmethod
    def _urls_are_http(cls, value: str, info: Any) -> str:
        return _check_http_url(value, str(info.field_name).upper())

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if not (
            value.startswith("sqlite+aiosqlite://") or value.startswith("postgresql+asyncpg://")
        ):
            raise ValueError(
                "DATABASE_URL must start with sqlite+aiosqlite:// or postgresql+asyncpg://"
            )
        return value

    @field_validator(
        "airwallex_client_id",
        "airwallex_api_key",
        "airwallex_webhook_secret",
        "cal_api_key",
        "cal_webhook_secret",
        "redis_url",
        "catalog",
        "admin_password_hash",
        "session_secret",
        "smtp_host",
        "smtp_username",
        "smtp_password",
        "smtp_from",
        "metrics_token",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator(
        "cal_discovery_event_type_id",
        "cal_single_event_type_id",
        "cal_monthly_event_type_id",
        "cal_quarterly_event_type_id",
        mode="before",
    )
    @classmethod
    def _event_type_ids(cls, value: object, info: Any) -> object:
        if isinstance(value, str):
            if not value.strip():
                return None
            if not value.strip().isdigit() or int(value) <= 0:
                raise ValueError(f"{str(info.field_name).upper()} must be a positive integer")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        has_id = self.airwallex_client_id is not None
        has_key = self.airwallex_api_key is not None
        if has_id != has_key:
            missing = "AIRWALLEX_API_KEY" if has_id else "AIRWALLEX_CLIENT_ID"
            raise ValueError(f"{missing} is required when the other Airwallex credential is set")
        if has_id and self.airwallex_webhook_secret is None:
            raise ValueError("AIRWALLEX_WEBHOOK_SECRET is required when credentials are set")
        if self.cal_api_key is not None:
            for package_id in PACKAGE_IDS:
                if getattr(self, f"cal_{package_id}_event_type_id") is None:
                    raise ValueError(
                        f"CAL_{package_id.upper()}_EVENT_TYPE_ID is required when "
                        "CAL_API_KEY is set"
                    )
        for proxy in self.trusted_proxy_list:
            _check_ip(proxy)
        for origin in self.allowed_origin_list:
            _check_http_url(origin, "ALLOWED_ORIGINS")
        if self.catalog is not None:
            try:
                json.loads(self.catalog)
            except ValueError as exc:
                raise ValueError(f"SESSIONBOOK_CATALOG is not valid JSON: {exc}") from exc
        _check_operations(self)
        return self

    @property
    def payments_live(self) -> bool:
        """Real Airwallex credentials given: no payment stand-in is served."""
        return self.airwallex_client_id is not None

    @property
    def calendar_live(self) -> bool:
        """A real Cal.com key given: no calendar stand-in is served."""
        return self.cal_api_key is not None

    @property
    def sandbox(self) -> bool:
        """Any stand-in is served, so pages show the sandbox notice."""
        return not (self.payments_live and self.calendar_live)

    @property
    def rate_limits_enabled(self) -> bool:
        return self.rate_limits == "on"

    @property
    def admin_enabled(self) -> bool:
        """The dashboard exists only once an operator configured its password hash."""
        return self.admin_password_hash is not None

    @cached_property
    def allowed_origin_list(self) -> list[str]:
        return [o.strip().rstrip("/") for o in self.allowed_origins.split(",") if o.strip()]

    @cached_property
    def trusted_proxy_list(self) -> list[str]:
        return [p.strip() for p in self.trusted_proxies.split(",") if p.strip()]

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def webhook_secret(self) -> str:
        """The secret webhooks are verified with: the configured one, or the sandbox's."""
        return self.airwallex_webhook_secret or SANDBOX_WEBHOOK_SECRET

    @property
    def calendar_webhook_secret(self) -> str | None:
        """The secret Cal.com's webhooks are verified with; None turns the route off.

        The stand-in signs with a fixed sandbox secret, so the loop works with nothing set.
        """
        if self.cal_webhook_secret is not None:
            return self.cal_webhook_secret
        return None if self.calendar_live else SANDBOX_CAL_WEBHOOK_SECRET

    def event_type_id(self, package_id: PackageId) -> int:
        configured: int | None = getattr(self, f"cal_{package_id}_event_type_id")
        return configured if configured is not None else SANDBOX_EVENT_TYPE_IDS[package_id]


def _check_ip(value: str) -> None:
    import ipaddress

    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError as exc:
        raise ValueError(f"TRUSTED_PROXIES has an invalid address {value!r}") from exc


MIN_SESSION_SECRET_LENGTH = 32


def _check_operations(settings: Settings) -> None:
    """Admin, timezone and SMTP settings: wrong ones stop the start, naming the variable."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    if settings.admin_password_hash is not None:
        if not settings.admin_password_hash.startswith("$argon2"):
            raise ValueError(
                "ADMIN_PASSWORD_HASH must be an argon2 hash "
                "(make one with `sessionbook admin hash-password`)"
            )
        # Without a stable key every restart (and every worker) would sign differently.
        if settings.session_secret is None:
            raise ValueError("SESSION_SECRET is required when ADMIN_PASSWORD_HASH is set")
    if (
        settings.session_secret is not None
        and len(settings.session_secret) < MIN_SESSION_SECRET_LENGTH
    ):
        raise ValueError(f"SESSION_SECRET must be at least {MIN_SESSION_SECRET_LENGTH} characters")
    try:
        ZoneInfo(settings.coach_timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"COACH_TIMEZONE must be an IANA zone such as Europe/London, "
            f"got {settings.coach_timezone!r}"
        ) from None
    if settings.smtp_host is not None and settings.smtp_from is None:
        raise ValueError("SMTP_FROM is required when SMTP_HOST is set")
    if settings.smtp_from is not None and "@" not in settings.smtp_from:
        raise ValueError("SMTP_FROM must be an email address")
    if (settings.smtp_username is None) != (settings.smtp_password is None):
        raise ValueError("SMTP_USERNAME and SMTP_PASSWORD must be set together")


def load_settings(**overrides: Any) -> Settings:
    """Read the environment; turn pydantic's errors into one message naming the variable."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise ConfigurationError(describe_validation_error(exc)) from None


def describe_validation_error(exc: ValidationError) -> str:
    lines = []
    for error in exc.errors():
        location = ".".join(str(part) for part in error["loc"]).upper()
        message = str(error["msg"]).removeprefix("Value error, ")
        lines.append(f"{location}: {message}" if location else message)
    return "configuration error: " + "; ".join(lines)
