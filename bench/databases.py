"""A fresh database per bench run, migrated with `sessionbook migrate`, dropped afterwards.

On PostgreSQL the server logs in as a role that owns nothing and is only a member of the
sessionbook roles, as the README asks of production, so row-level security is on the path
being measured.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from bench.procs import VENV_BIN, clean_environment

DEFAULT_ADMIN_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
APP_LOGIN_ROLE = "sessionbook_bench_app"
LOOPBACK = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class BenchDatabase:
    """A migrated database: the owner's URL (seeding, baseline) and the application's URL."""

    backend: str
    owner_url: str
    app_url: str

    @property
    def owner_dsn(self) -> str:
        return plain_dsn(self.owner_url)


def admin_url() -> str:
    url = os.environ.get("BENCH_DATABASE_URL") or DEFAULT_ADMIN_URL
    if urlsplit(url).hostname not in LOOPBACK:
        raise SystemExit("BENCH_DATABASE_URL must point at this machine (127.0.0.1)")
    return url


def plain_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


def _with(url: str, database: str, user: str | None = None) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc
    if user is not None:
        netloc = f"{user}@{netloc.rsplit('@', 1)[-1]}"
    return urlunsplit((parts.scheme, netloc, f"/{database}", parts.query, parts.fragment))


def migrate(url: str) -> None:
    """`sessionbook migrate`, the operator's command, against `url`."""
    subprocess.run(
        [str(VENV_BIN / "sessionbook"), "migrate"],
        env=clean_environment({"DATABASE_URL": url}),
        check=True,
        capture_output=True,
        timeout=120,
    )


async def postgres_available(url: str) -> bool:
    try:
        connection = await asyncpg.connect(plain_dsn(url), timeout=5)
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return False
    await connection.close()
    return True


async def create_postgres() -> BenchDatabase:
    admin = admin_url()
    name = f"sb_bench_{uuid.uuid4().hex[:12]}"
    connection = await asyncpg.connect(plain_dsn(admin))
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
    owner_url = _with(admin, name)
    try:
        migrate(owner_url)
        owner = await asyncpg.connect(plain_dsn(owner_url))
        try:
            await owner.execute(
                "GRANT sessionbook_customer, sessionbook_service, sessionbook_admin "
                f"TO {APP_LOGIN_ROLE}"
            )
            # `sessionbook serve` reads alembic_version before it starts, as the login itself
            # (NOINHERIT, so the group roles' grants do not count for that check).
            await owner.execute(f"GRANT SELECT ON alembic_version TO {APP_LOGIN_ROLE}")
        finally:
            await owner.close()
    except BaseException:
        await drop_postgres(owner_url)
        raise
    return BenchDatabase("postgres", owner_url, _with(admin, name, user=APP_LOGIN_ROLE))


async def drop_postgres(owner_url: str) -> None:
    name = urlsplit(owner_url).path.lstrip("/")
    if not name.startswith("sb_bench_"):
        raise ValueError(f"refusing to drop {name!r}: not a bench database")
    connection = await asyncpg.connect(plain_dsn(admin_url()))
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


@contextlib.contextmanager
def sqlite_database() -> Iterator[BenchDatabase]:
    """A migrated SQLite file in a temporary folder, removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="sb-bench-"))
    try:
        url = f"sqlite+aiosqlite:///{folder / 'bench.db'}"
        migrate(url)
        yield BenchDatabase("sqlite", url, url)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
