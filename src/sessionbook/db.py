"""Engine, sessions and the one transaction helper that sets the database role for each caller."""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, MetaData, event, text
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base with named constraints, so migrations can refer to them."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out, on SQLite (which keeps no zone) as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Role(enum.StrEnum):
    """PostgreSQL roles a transaction runs as; row-level security keys off them."""

    CUSTOMER = "sessionbook_customer"
    SERVICE = "sessionbook_service"
    ADMIN = "sessionbook_admin"


@dataclass(frozen=True, slots=True)
class Actor:
    """Who a transaction acts for: a customer holding one token hash, the service, or an admin."""

    role: Role
    token_hash: str | None = None

    @classmethod
    def customer(cls, token_hash: str) -> Actor:
        return cls(Role.CUSTOMER, token_hash)


SERVICE = Actor(Role.SERVICE)
ADMIN = Actor(Role.ADMIN)


class Database:
    """Owns the engine; hands out transactions that carry the caller's role on PostgreSQL."""

    def __init__(self, url: str, *, pool_size: int = 10, echo: bool = False) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self.engine: AsyncEngine = _make_engine(url, pool_size=pool_size, echo=echo)
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    @asynccontextmanager
    async def transaction(self, actor: Actor) -> AsyncIterator[AsyncSession]:
        """One unit of work: commits when the block ends, rolls back when it raises.

        On SQLite every transaction takes the write lock at once (BEGIN IMMEDIATE), which is
        how "lock the row" is spelled there. On PostgreSQL the transaction switches to the
        actor's role, so row-level security decides what it may see.
        """
        async with self._sessions() as session, session.begin():
            if not self.is_sqlite:
                await session.execute(text(f"SET LOCAL ROLE {actor.role.value}"))
                if actor.token_hash is not None:
                    await session.execute(
                        text("SELECT set_config('sessionbook.token_hash', :hash, true)"),
                        {"hash": actor.token_hash},
                    )
            yield session

    async def ping(self) -> None:
        async with self.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()


def _make_engine(url: str, *, pool_size: int, echo: bool) -> AsyncEngine:
    if url.startswith("sqlite"):
        engine = create_async_engine(url, echo=echo, connect_args={"timeout": 30})
        _configure_sqlite(engine)
        return engine
    return create_async_engine(
        url,
        echo=echo,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        pool_timeout=10,
    )


def _configure_sqlite(engine: AsyncEngine) -> None:
    """Let SQLAlchemy, not the sqlite3 module, begin transactions, and begin them IMMEDIATE."""

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
