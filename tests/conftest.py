"""Shared fixtures: a migrated database per backend and the app served over real HTTP."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from sessionbook.app import create_app
from sessionbook.bootstrap import Services, build_services
from sessionbook.core.db import Database
from sessionbook.core.logs import configure_logging
from sessionbook.core.settings import Settings
from tests.support.databases import (
    create_postgres_database,
    drop_postgres_database,
    new_sqlite_database,
    postgres_admin_url,
    postgres_reachable,
)
from tests.support.live_server import free_port, live_server

# Keep the developer's own environment out of the tests.
for _name in list(os.environ):
    if _name.startswith(("AIRWALLEX_", "CAL_", "SESSIONBOOK_", "ADMIN_", "SMTP_")) or _name in (
        "DATABASE_URL",
        "SITE_URL",
        "RATE_LIMITS",
        "ALLOWED_ORIGINS",
        "TRUSTED_PROXIES",
        "REDIS_URL",
        "SESSION_SECRET",
        "COACH_TIMEZONE",
        "METRICS_TOKEN",
        "SWEEP_INTERVAL_SECONDS",
        "PROMETHEUS_MULTIPROC_DIR",
    ):
        del os.environ[_name]

configure_logging(level="info", json_format=True)


@dataclass(frozen=True)
class DatabaseUnderTest:
    """A migrated database: the owner's URL (for assertions) and the application's URL."""

    backend: str
    owner_url: str
    app_url: str

    @property
    def is_postgres(self) -> bool:
        return self.backend == "postgres"


@asynccontextmanager
async def fresh_test_database(backend: str, directory: Path) -> AsyncIterator[DatabaseUnderTest]:
    """A new migrated database of `backend`; PostgreSQL's is dropped afterwards."""
    if backend == "sqlite":
        url = await new_sqlite_database(directory)
        yield DatabaseUnderTest("sqlite", url, url)
        return
    admin_url = postgres_admin_url()
    if admin_url is None or not await postgres_reachable(admin_url):
        if os.environ.get("REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL is required but not reachable at {admin_url!r}")
        pytest.skip("PostgreSQL not reachable (set TEST_DATABASE_URL)")
    owner_url, app_url = await create_postgres_database(admin_url)
    try:
        yield DatabaseUnderTest("postgres", owner_url, app_url)
    finally:
        await drop_postgres_database(admin_url, owner_url)


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
async def test_db(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[DatabaseUnderTest]:
    async with fresh_test_database(request.param, tmp_path_factory.mktemp("sqlite")) as database:
        yield database


@asynccontextmanager
async def separate_database(
    test_db: DatabaseUnderTest, directory: Path, **seed: Any
) -> AsyncIterator[DatabaseUnderTest]:
    """A fresh database of the same backend, its packages seeded from `seed` settings.

    For tests that change the catalog, which every other test shares through `test_db`.
    """
    settings = Settings(**seed)
    if not test_db.is_postgres:
        url = await new_sqlite_database(directory, settings)
        yield DatabaseUnderTest("sqlite", url, url)
        return
    admin_url = postgres_admin_url()
    assert admin_url is not None
    owner_url, app_url = await create_postgres_database(admin_url, settings)
    try:
        yield DatabaseUnderTest("postgres", owner_url, app_url)
    finally:
        await drop_postgres_database(admin_url, owner_url)


@pytest.fixture(scope="session")
async def owner_db(test_db: DatabaseUnderTest) -> AsyncIterator[Database]:
    """The database as its owner sees it, for assertions behind the API's back."""
    database = Database(test_db.owner_url)
    yield database
    await database.dispose()


@dataclass
class RunningServer:
    """The whole app on a loopback port, with its settings and wired services."""

    url: str
    app: FastAPI
    settings: Settings

    @property
    def services(self) -> Services:
        services: Services = self.app.state.services
        return services

    def client(self, **kwargs: Any) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, timeout=30, **kwargs)

    @asynccontextmanager
    async def local_services(self) -> AsyncIterator[Services]:
        """Services wired like the server's, but bound to the test's own event loop."""
        services = build_services(self.settings)
        try:
            yield services
        finally:
            await services.aclose()


def make_settings(test_db: DatabaseUnderTest, port: int, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": test_db.app_url,
        "site_url": f"http://127.0.0.1:{port}",
        "rate_limits": "off",
        "log_format": "json",
        # Tests run the sweep themselves; a background pass would race their assertions.
        "sweep_interval_seconds": 0,
    }
    values.update(overrides)
    return Settings(**values)


@contextmanager
def run_server(test_db: DatabaseUnderTest, **overrides: Any) -> Iterator[RunningServer]:
    """Start a server with these settings; in sandbox mode it serves its own stand-ins."""
    port = free_port()
    settings = make_settings(test_db, port, **overrides)
    app = create_app(settings)
    with live_server(app, port=port) as url:
        yield RunningServer(url=url, app=app, settings=settings)


@pytest.fixture(scope="module")
def server(test_db: DatabaseUnderTest) -> Iterator[RunningServer]:
    """A default sandbox server per backend, shared by a test module."""
    with run_server(test_db) as running:
        yield running


@pytest.fixture
async def api(server: RunningServer) -> AsyncIterator[httpx.AsyncClient]:
    async with server.client() as client:
        yield client


@pytest.fixture
def artifacts_dir() -> Path:
    path = Path(__file__).resolve().parent.parent / "test-artifacts"
    path.mkdir(exist_ok=True)
    return path
