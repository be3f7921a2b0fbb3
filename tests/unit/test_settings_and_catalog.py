"""Configuration is checked at start, and a bad value names its variable."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sessionbook.catalog.defaults import SANDBOX_EVENT_TYPES, PackageSeed, seed_packages
from sessionbook.core.settings import ConfigurationError, Settings, load_settings

LIVE = {
    "airwallex_client_id": "cid",
    "airwallex_api_key": "key",
    "airwallex_webhook_secret": "whsec",
}


def test_defaults_are_the_contracts() -> None:
    settings = load_settings()

    assert settings.database_url == "sqlite+aiosqlite:///./sessionbook.db"
    assert settings.site_url == "http://127.0.0.1:8000"
    assert settings.airwallex_base_url == "https://api-demo.airwallex.com"
    assert settings.cal_api_url == "https://api.cal.com/v2"
    assert settings.payment_window_minutes == 1440
    assert settings.scheduling_window_days == 90
    assert settings.rate_limits_enabled
    assert settings.sandbox
    assert not settings.payments_live
    assert not settings.calendar_live


@pytest.mark.parametrize(
    ("overrides", "variable"),
    [
        ({"airwallex_client_id": "cid", "airwallex_api_key": "key"}, "AIRWALLEX_WEBHOOK_SECRET"),
        ({"airwallex_client_id": "cid"}, "AIRWALLEX_API_KEY"),
        ({"airwallex_api_key": "key"}, "AIRWALLEX_CLIENT_ID"),
        ({"site_url": "not a url"}, "SITE_URL"),
        ({"airwallex_base_url": "ftp://x"}, "AIRWALLEX_BASE_URL"),
        ({"cal_api_url": "api.cal.com"}, "CAL_API_URL"),
        ({"database_url": "mysql://x"}, "DATABASE_URL"),
        ({"cal_api_key": "cal_live"}, "CAL_DISCOVERY_EVENT_TYPE_ID"),
        ({"cal_single_event_type_id": "abc"}, "CAL_SINGLE_EVENT_TYPE_ID"),
        ({"payment_window_minutes": "0"}, "PAYMENT_WINDOW_MINUTES"),
        ({"rate_limits": "maybe"}, "RATE_LIMITS"),
        ({"trusted_proxies": "not-an-ip"}, "TRUSTED_PROXIES"),
        ({"allowed_origins": "coach.example"}, "ALLOWED_ORIGINS"),
    ],
)
def test_bad_configuration_names_the_variable(overrides: dict[str, str], variable: str) -> None:
    with pytest.raises(ConfigurationError, match=variable):
        load_settings(**overrides)


def test_live_credentials_with_secret_are_accepted() -> None:
    settings = load_settings(**LIVE)

    assert settings.payments_live
    assert settings.webhook_secret == "whsec"


def seeds(settings: Settings) -> dict[str, PackageSeed]:
    return {seed.id: seed for seed in seed_packages(settings)}


def test_catalog_defaults() -> None:
    catalog = seeds(load_settings())

    assert list(catalog) == ["discovery", "single", "monthly", "quarterly"]
    assert catalog["discovery"].price_cents == 0
    assert catalog["discovery"].duration_minutes == 30
    for paid in ("single", "monthly", "quarterly"):
        assert catalog[paid].price_cents > 0
        assert catalog[paid].duration_minutes == 60
        assert catalog[paid].currency == "USD"
    assert (catalog["monthly"].sessions, catalog["monthly"].valid_days) == (4, 31)
    assert (catalog["quarterly"].sessions, catalog["quarterly"].valid_days) == (12, 92)
    assert (catalog["single"].sessions, catalog["single"].valid_days) == (1, None)
    assert "4 sessions of 60 minutes, to book within 31 days" in catalog["monthly"].description


def test_catalog_is_overridable_by_configuration() -> None:
    overrides = {"single": {"priceCents": 9900, "title": "One session"}}
    catalog = seeds(load_settings(catalog=json.dumps(overrides), currency="EUR"))

    assert catalog["single"].price_cents == 9900
    assert catalog["single"].title == "One session"
    assert catalog["monthly"].currency == "EUR"


@pytest.mark.parametrize(
    "overrides",
    [
        {"platinum": {"priceCents": 1}},
        {"single": {"priceCents": -1}},
        {"single": {"priceCents": "cheap"}},
        {"single": {"durationMinutes": 0}},
        {"single": {"sessions": 0}},
        {"monthly": {"validDays": 0}},
        {"single": {"colour": "red"}},
    ],
)
def test_bad_catalog_stops_the_start(overrides: dict[str, object]) -> None:
    with pytest.raises(ConfigurationError, match="SESSIONBOOK_CATALOG"):
        seed_packages(load_settings(catalog=json.dumps(overrides)))


def test_event_type_ids_come_from_configuration() -> None:
    settings = Settings(
        cal_api_key="cal_live",
        cal_discovery_event_type_id=11,
        cal_single_event_type_id=12,
        cal_monthly_event_type_id=13,
        cal_quarterly_event_type_id=14,
    )

    assert seeds(settings)["monthly"].cal_event_type_id == 13


def test_sandbox_seeds_use_a_sandbox_event_type_of_the_same_length() -> None:
    sandbox_lengths = {
        event_type.id: event_type.length_minutes for event_type in SANDBOX_EVENT_TYPES
    }
    overrides = {"single": {"durationMinutes": 45}}

    catalog = seeds(load_settings(catalog=json.dumps(overrides)))

    for seed in catalog.values():
        assert sandbox_lengths[seed.cal_event_type_id] == seed.duration_minutes
    assert catalog["monthly"].cal_event_type_id == 1003


def test_serve_refuses_to_start_naming_the_variable(tmp_path: Path) -> None:
    environment = {
        **os.environ,
        "AIRWALLEX_CLIENT_ID": "cid",
        "AIRWALLEX_API_KEY": "key",
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'x.db'}",
    }
    environment.pop("AIRWALLEX_WEBHOOK_SECRET", None)

    result = subprocess.run(
        [sys.executable, "-m", "sessionbook.cli.main", "serve", "--port", "1"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 2
    assert "AIRWALLEX_WEBHOOK_SECRET" in result.stderr
    assert "Traceback" not in result.stderr
