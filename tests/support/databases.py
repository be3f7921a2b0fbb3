"""Fresh, migrated databases for tests: a SQLite file, or a new PostgreSQL database per run."""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from sessionbook.core import migrate
from sessionbook.core.settings import Settings

APP_LOGIN_ROLE = "sessionbook_test_app"


def postgres_admin_url() -> str | None:
    return os.environ.get("TEST_DATABASE_URL") or None


def _plain_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


def with_database(url: str, database: str, user: str | None = None) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc
    if user is not None:
        host = netloc.rsplit("@", 1)[-1]
        netloc = f"{user}@{host}"
    return urlunsplit((parts.scheme, netloc, f"/{database}", parts.query, parts.fragment))


async def postgres_reachable(url: str) -> bool:
    try:
        connection = await asyncio.wait_for(asyncpg.connect(_plain_dsn(url)), timeout=5)
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return False
    await connection.close()
    return True


async def new_sqlite_database(directory: Path, seed: Settings | None = None) -> str:
    url = f"sqlite+aiosqlite:///{directory / f'test-{uuid.uuid4().hex[:8]}.db'}"
    await asyncio.to_thread(migrate.upgrade, url, settings=seed)
    return url


async def create_postgres_database(admin_url: str, seed: Settings | None = None) -> tuple[str, str]:
    """A new database migrated by the owner; returns (owner URL, application URL).

    The application URL logs in as a role that owns nothing and is only a member of the
    sessionbook roles, as the contract asks of production.
    """
    name = f"sb_test_{uuid.uuid4().hex[:12]}"
    connection = await asyncpg.connect(_plain_dsn(admin_url))
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
        exists = await connection.fetchval(
            "SELECT 1 FROM pg_roles WHERE rolname = $1", APP_LOGIN_ROLE
        )
        if not exists:
            with contextlib.suppress(asyncpg.DuplicateObjectError):
                await connection.execute(f"CREATE ROLE {APP_LOGIN_ROLE} LOGIN NOINHERIT")
    finally:
        await connection.close()
    owner_url = with_database(admin_url, name)
    await asyncio.to_thread(migrate.upgrade, owner_url, settings=seed)
    owner = await asyncpg.connect(_plain_dsn(owner_url))
    try:
        await owner.execute(
            "GRANT sessionbook_customer, sessionbook_service, sessionbook_admin "
            f"TO {APP_LOGIN_ROLE}"
        )
    finally:
        await owner.close()
    return owner_url, with_database(admin_url, name, user=APP_LOGIN_ROLE)


async def drop_postgres_database(admin_url: str, owner_url: str) -> None:
    name = urlsplit(owner_url).path.lstrip("/")
    connection = await asyncpg.connect(_plain_dsn(admin_url))
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()
