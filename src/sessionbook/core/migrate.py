"""Apply or check Alembic migrations for a database URL, from code (CLI, tests, serve)."""

from __future__ import annotations

import asyncio
from importlib import resources

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from sessionbook.core.settings import Settings

# Config attribute that hands the settings to migrations that seed data (the packages).
SEED_SETTINGS = "seed_settings"


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(resources.files("sessionbook") / "migrations"))
    config.set_main_option("sqlalchemy.url", database_url)
    config.set_main_option("path_separator", "os")
    return config


def upgrade(database_url: str, revision: str = "head", *, settings: Settings | None = None) -> None:
    """Bring the database to `revision`; run outside any event loop.

    `settings` are what seeding migrations read (the first packages); without them they read
    the environment, as `sessionbook migrate` does.
    """
    config = alembic_config(database_url)
    if settings is not None:
        config.attributes[SEED_SETTINGS] = settings
    command.upgrade(config, revision)


def check(database_url: str) -> None:
    """Fail when the models and the migrations disagree (alembic check)."""
    command.check(alembic_config(database_url))


def head_revision() -> str | None:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return script.get_current_head()


async def current_revision(database_url: str) -> str | None:
    """The revision the database is at, or None before the first migration."""
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            if connection.dialect.name == "postgresql":
                await _assume_service_role(connection)
            return await connection.run_sync(
                lambda sync: MigrationContext.configure(sync).get_current_revision()
            )
    finally:
        await engine.dispose()


async def _assume_service_role(connection: AsyncConnection) -> None:
    """The application's NOINHERIT login can read alembic_version only through its roles."""
    member = await connection.scalar(
        text(
            "SELECT 1 FROM pg_roles WHERE rolname = 'sessionbook_service' "
            "AND pg_has_role(current_user, oid, 'MEMBER')"
        )
    )
    if member:
        await connection.execute(text("SET LOCAL ROLE sessionbook_service"))


def is_current(database_url: str) -> bool:
    return asyncio.run(current_revision(database_url)) == head_revision()
