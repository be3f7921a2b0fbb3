"""Engine, sessions and the one transaction helper that sets the database role for each caller."""

from __future__ import annotations

import asyncio
import enum
import re
import socket
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
from sqlalchemy import DateTime, MetaData, event, text
from sqlalchemy import exc as sa_errors
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


# PostgreSQL's SQLSTATE classes and codes that say the server or the link to it is gone:
# 08 connection exceptions, 57P01-57P03 shutdown / crash / not accepting connections yet,
# 53300 too many connections. Anything else (a syntax error, a constraint) is a bug or a rule.
_UNREACHABLE_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "53300"})
# What SQLite says when the file cannot be opened, or when the busy timeout ran out.
_SQLITE_UNREACHABLE = ("unable to open database file", "database is locked")
# What asyncpg's InterfaceError says about a connection that is gone (it says other things
# about misuse, which are bugs).
_CLOSED_CONNECTION = ("connection is closed", "connection was closed")


# The families every database failure belongs to, for error handlers to register; which of
# them mean "unreachable" is `database_unreachable`'s call.
DATABASE_ERROR_TYPES: tuple[type[Exception], ...] = (
    OSError,
    sa_errors.SQLAlchemyError,
    sqlite3.Error,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
)


def database_unreachable(error: BaseException) -> bool:
    """True when `error`, or an error it was raised from, means the database could not be used.

    Connection refused or reset, a name that does not resolve, a timeout connecting or waiting
    for a pooled connection, a connection the server killed or is shutting down, a SQLite file
    that cannot be opened: a retry later can succeed and nothing was half-done, because the
    transaction did not commit. Programming errors never match.
    """
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if _means_unreachable(current):
            return True
        current = current.__cause__ or current.__context__
    return False


def _means_unreachable(error: BaseException) -> bool:
    if isinstance(error, sa_errors.DBAPIError) and error.connection_invalidated:
        return True
    if isinstance(error, sa_errors.TimeoutError):  # no pooled connection came free in time
        return True
    if isinstance(error, ConnectionError | TimeoutError | socket.gaierror):
        return True
    if type(error) is OSError:
        # asyncio's connect says "Multiple exceptions: ..." as a bare OSError when every
        # address of a host refused; subclasses (FileNotFoundError, ...) are not the network.
        return True
    if isinstance(error, sqlite3.OperationalError):
        return str(error).startswith(_SQLITE_UNREACHABLE)
    if isinstance(error, asyncpg.PostgresError):
        sqlstate = str(getattr(error, "sqlstate", "") or "")
        return sqlstate.startswith("08") or sqlstate in _UNREACHABLE_SQLSTATES
    if isinstance(error, asyncpg.InterfaceError):
        return str(error).startswith(_CLOSED_CONNECTION)
    return False


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


_SET_ROLE = text("SELECT set_config('role', :role, true)")
_SET_ROLE_AND_TOKEN = text(
    "SELECT set_config('role', :role, true), set_config('sessionbook.token_hash', :hash, true)"
)


# How long a SQLite writer waits in SQLite's busy handler for another process's writer (each
# process lets one writer at a time at the file, `_WriterQueue`) before it fails with "database
# is locked". Chosen from the sweep in bench/RESULTS.md ("SQLite under concurrent writers").
SQLITE_BUSY_TIMEOUT_MS = 5000
# How long a writer waits for its turn among this process's writers: as long as a writer could
# wait in SQLite's busy handler before writers were queued, so none fails sooner than it did.
SQLITE_QUEUE_TIMEOUT_SECONDS = 30.0

# Execution option of `Database.sqlite_read_transaction`: BEGIN without IMMEDIATE.
_DEFERRED_BEGIN = "sessionbook_deferred_begin"
_TOKEN_HASH_SHAPE = re.compile(r"[0-9a-f]{64}")


def _begin_as(actor: Actor) -> str:
    """BEGIN plus the actor's settings as one simple query (values inlined, so checked first)."""
    settings = f"set_config('role', '{Role(actor.role).value}', true)"
    if actor.token_hash is not None:
        if not _TOKEN_HASH_SHAPE.fullmatch(actor.token_hash):
            raise ValueError("a token hash is 64 lowercase hex digits")
        settings += f", set_config('sessionbook.token_hash', '{actor.token_hash}', true)"
    return f"BEGIN; SELECT {settings}"


# Set while the current task (and the tasks it starts) is inside a SQLite write transaction
# of this process, so a transaction begun inside another never queues behind itself.
_IN_SQLITE_WRITE: ContextVar[bool] = ContextVar("sessionbook_in_sqlite_write", default=False)


class _WriterQueue:
    """SQLite writers of one process, one at a time, in arrival order.

    SQLite has one write lock per file. Writers that meet it held wait in SQLite's busy
    handler, which sleeps 1 to 100 ms between tries and lets whoever tries at the right moment
    in first: 16 concurrent creates took 1.2 to 2.4 s at p99 that way. Queued here, a writer
    waits only for the ones before it and begins the moment the last one commits. Other worker
    processes on the same file are still met in SQLite's busy handler, at most one writer each.

    Waiting here is bounded (`SQLITE_QUEUE_TIMEOUT_SECONDS`) and ends the way SQLite's own
    wait ends, with "database is locked", so a writer fails no sooner and no later than before.
    """

    def __init__(self, timeout_seconds: float) -> None:
        self._timeout = timeout_seconds
        # asyncio locks belong to one event loop; tests and the CLI run several in turn.
        self._locks: dict[asyncio.AbstractEventLoop, asyncio.Lock] = {}

    def _lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        lock = self._locks.get(loop)
        if lock is None:
            self._locks = {
                known: held for known, held in self._locks.items() if not known.is_closed()
            }
            lock = self._locks[loop] = asyncio.Lock()
        return lock

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        if _IN_SQLITE_WRITE.get():
            # Begun inside a write transaction of this task: it meets the outer one's lock in
            # SQLite's busy handler, as before, instead of waiting here for itself forever.
            yield
            return
        lock = self._lock()
        try:
            # asyncio.timeout, not wait_for: the wait stays in this task, so the writer runs
            # in the loop pass after the last one releases (wait_for's extra task costs two
            # more passes per turn, and under load that is time the lock stands idle).
            async with asyncio.timeout(self._timeout):
                await lock.acquire()
        except TimeoutError:
            raise sqlite3.OperationalError("database is locked") from None
        marker = _IN_SQLITE_WRITE.set(True)
        try:
            yield
        finally:
            _IN_SQLITE_WRITE.reset(marker)
            lock.release()


class Database:
    """Owns the engine; hands out transactions that carry the caller's role on PostgreSQL."""

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 10,
        echo: bool = False,
        sqlite_busy_timeout_ms: int | None = None,
    ) -> None:
        busy_timeout_ms = (
            SQLITE_BUSY_TIMEOUT_MS if sqlite_busy_timeout_ms is None else sqlite_busy_timeout_ms
        )
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self.engine: AsyncEngine = _make_engine(
            url, pool_size=pool_size, echo=echo, busy_timeout_ms=busy_timeout_ms
        )
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self._writers = _WriterQueue(SQLITE_QUEUE_TIMEOUT_SECONDS)

    @asynccontextmanager
    async def transaction(self, actor: Actor) -> AsyncIterator[AsyncSession]:
        """One unit of work: commits when the block ends, rolls back when it raises.

        On SQLite every transaction takes the write lock at once (BEGIN IMMEDIATE), which is
        how "lock the row" is spelled there, after its turn among this process's writers
        (`_WriterQueue`). On PostgreSQL the transaction switches to the actor's role, so
        row-level security decides what it may see.
        """
        if self.is_sqlite:
            async with self._writers.turn(), self._sessions() as session, session.begin():
                yield session
            return
        async with self._sessions() as session, session.begin():
            # set_config('role', ..., true) is SET LOCAL ROLE (same membership check), and
            # one statement for role and token hash saves a round trip on every request.
            if actor.token_hash is None:
                await session.execute(_SET_ROLE, {"role": actor.role.value})
            else:
                await session.execute(
                    _SET_ROLE_AND_TOKEN, {"role": actor.role.value, "hash": actor.token_hash}
                )
            yield session

    @asynccontextmanager
    async def sqlite_read_transaction(self) -> AsyncIterator[AsyncSession]:
        """SQLite only: a plain, deferred transaction for a read that changes nothing.

        BEGIN IMMEDIATE takes SQLite's one write lock, so concurrent booking-status reads queued
        behind each other in SQLite's busy handler, which sleeps up to 100 ms a try (p99 near a
        second at 16 clients, bench/RESULTS.md). In WAL mode a deferred reader never waits and
        sees the last committed state. Whatever must change a row goes through `transaction`.
        """
        if not self.is_sqlite:
            raise RuntimeError("sqlite_read_transaction is for SQLite")
        async with self._sessions() as session:
            await session.connection(execution_options={_DEFERRED_BEGIN: True})
            yield session
            # COMMIT (not ROLLBACK) ends the read: objects read stay loaded after it.
            await session.commit()

    @asynccontextmanager
    async def driver_transaction(self, actor: Actor) -> AsyncIterator[Any]:
        """PostgreSQL only: a transaction as `transaction` gives, on the bare asyncpg connection.

        For the hottest read (a booking by its token): the ORM session and its async adaption
        cost several times the query itself, and BEGIN with the role and token settings goes in
        one round trip here, so a read takes three (BEGIN+settings, the query, COMMIT).
        A connection whose state is unknown after a failure is discarded, never pooled again.
        """
        if self.is_sqlite:
            raise RuntimeError("driver transactions are for PostgreSQL")
        begin = _begin_as(actor)
        async with self.engine.connect() as connection:
            driver: Any = (await connection.get_raw_connection()).driver_connection
            settled = False
            try:
                await driver.execute(begin)
                try:
                    yield driver
                except BaseException:
                    await driver.execute("ROLLBACK")
                    settled = True
                    raise
                await driver.execute("COMMIT")
                settled = True
            finally:
                if not settled:
                    await connection.invalidate()

    async def ping(self) -> None:
        async with self.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()


def _make_engine(url: str, *, pool_size: int, echo: bool, busy_timeout_ms: int) -> AsyncEngine:
    if url.startswith("sqlite"):
        engine = create_async_engine(
            url, echo=echo, connect_args={"timeout": busy_timeout_ms / 1000}
        )
        _configure_sqlite(engine, busy_timeout_ms)
        return engine
    engine = create_async_engine(
        url,
        echo=echo,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_timeout=10,
        # A ping on every checkout: asyncpg may not yet have noticed that the server closed a
        # socket a moment ago (pg_terminate_backend, a restart), and only asking is sure.
        pool_pre_ping=True,
    )
    return engine


def _configure_sqlite(engine: AsyncEngine, busy_timeout_ms: int) -> None:
    """Let SQLAlchemy, not the sqlite3 module, begin transactions, and begin them IMMEDIATE.

    WAL lets readers read while a writer writes. synchronous=NORMAL syncs the WAL at each
    checkpoint instead of at each commit: a committed transaction survives the process
    crashing (the WAL is in the operating system's hands once written), and the file is never
    corrupted; only an operating-system crash or power loss can take back the last commits.
    """

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        if connection.get_execution_options().get(_DEFERRED_BEGIN):
            connection.exec_driver_sql("BEGIN")
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
