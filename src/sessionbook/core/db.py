"""Engine, sessions and the one transaction helper that sets the database role for each caller."""

from __future__ import annotations

import asyncio
import contextlib
import enum
import json
import re
import socket
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import asyncpg
from sqlalchemy import DateTime, MetaData, Table, TextClause, bindparam, event, text
from sqlalchemy import exc as sa_errors
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.sql import FromClause
from sqlalchemy.types import TypeDecorator

T = TypeVar("T")

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


def insert_unless_present(
    table: FromClause,
    columns: tuple[str, ...],
    *,
    key: tuple[str, ...],
    returning: str | None = None,
) -> TextClause:
    """`INSERT ... ON CONFLICT (key) DO NOTHING`, one statement for PostgreSQL and SQLite alike.

    SQLAlchemy's dialect inserts (`postgresql.insert(...).on_conflict_do_nothing`) have no
    cache key, so every execution compiled them anew; a text statement with typed parameters
    (each column's own type, so JSON and UTC times bind as the ORM binds them) is compiled
    once per dialect and then taken from the engine's compiled cache.
    """
    if not isinstance(table, Table):
        raise TypeError("rows are inserted into a table")
    names = ", ".join(columns)
    values = ", ".join(f":{name}" for name in columns)
    sql = (
        f"INSERT INTO {table.name} ({names}) VALUES ({values}) "  # noqa: S608 - names from the table
        f"ON CONFLICT ({', '.join(key)}) DO NOTHING"
    )
    if returning is not None:
        sql += f" RETURNING {table.c[returning].name}"
    return text(sql).bindparams(*(bindparam(name, type_=table.c[name].type) for name in columns))


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


# Keys SQLAlchemy's asyncpg dialect takes from the URL for itself, which asyncpg.connect refuses.
_SQLALCHEMY_ONLY_ARGUMENTS = (
    "prepared_statement_cache_size",
    "prepared_statement_name_func",
    "async_fallback",
    "async_creator_fn",
)


# What asyncpg raises on a connection the server closed under it: at once (the socket is
# gone), or while the termination notice races with the next query (the protocol's state).
_LOST_CONNECTION = (
    asyncpg.ConnectionDoesNotExistError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    ConnectionError,
)


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
        # The same pool; its connections handed out in autocommit (see `_begun`).
        self._autocommit = self.engine.execution_options(isolation_level="AUTOCOMMIT")
        self._pool_size = pool_size
        self._lean_pool: Any = None  # asyncpg.Pool, made on first use (inside the event loop)
        self._lean_pool_lock = asyncio.Lock()
        self._writers = _WriterQueue(SQLITE_QUEUE_TIMEOUT_SECONDS)

    @asynccontextmanager
    async def transaction(self, actor: Actor) -> AsyncIterator[AsyncSession]:
        """One unit of work: commits when the block ends, rolls back when it raises.

        On SQLite every transaction takes the write lock at once (BEGIN IMMEDIATE), which is
        how "lock the row" is spelled there, after its turn among this process's writers
        (`_WriterQueue`). On PostgreSQL the transaction switches to the
        actor's role, so row-level security decides what it may see: BEGIN, role and token
        hash go in one round trip (`_begun`), and the ORM session works inside it.
        """
        if self.is_sqlite:
            async with self._writers.turn(), self._sessions() as session, session.begin():
                yield session
            return
        async with (
            self._begun(actor) as (connection, _driver),
            self._sessions(bind=connection) as session,
            session.begin(),
        ):
            yield session

    @asynccontextmanager
    async def _begun(self, actor: Actor) -> AsyncIterator[tuple[AsyncConnection, Any]]:
        """PostgreSQL: a pooled connection inside BEGIN with the actor's settings, ended by us.

        SQLAlchemy sees the connection in autocommit, so it sends no BEGIN or COMMIT of its own
        (its asyncpg adapter would spend a round trip on each, and another on setting the
        role); we send `BEGIN; SELECT set_config(...)` as one simple query, then COMMIT or
        ROLLBACK. That first query is also the liveness check the pool's pre-ping was (three
        round trips on asyncpg): a connection the server closed fails it before anything was
        done, so it is discarded and the next one tried. A connection whose state is unknown
        after a failure later on is discarded, never pooled again.
        """
        begin = _begin_as(actor)
        connection, driver = await self._connected_with(begin)
        settled = False
        try:
            try:
                yield connection, driver
            except BaseException:
                await driver.execute("ROLLBACK")
                settled = True
                raise
            await driver.execute("COMMIT")
            settled = True
        finally:
            if not settled:
                await connection.invalidate()
            await connection.close()

    async def _connected_with(self, first: str) -> tuple[AsyncConnection, Any]:
        """A pooled connection in autocommit on which `first` ran; closed ones are replaced.

        Every pooled connection may have been closed by the server (a restart): one more try
        than the pool holds reaches a fresh one.
        """
        for attempt in range(self._pool_size + 1):
            connection = await self._autocommit.connect()
            try:
                driver: Any = (await connection.get_raw_connection()).driver_connection
                await driver.execute(first)
            except _LOST_CONNECTION:
                await connection.invalidate()
                await connection.close()
                if attempt == self._pool_size:
                    raise
                continue
            except BaseException:
                await connection.invalidate()
                await connection.close()
                raise
            return connection, driver
        raise AssertionError("unreachable: the last attempt returns or raises")

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

    async def single_statement(self, call: Callable[[Any], Awaitable[T]]) -> T:
        """PostgreSQL only: `call(connection)` on a bare asyncpg connection in autocommit.

        For one statement that takes its role itself (a function such as
        `sessionbook_booking_status`, migration 0015): it is its own transaction, so it costs
        one round trip, and the role and settings it takes end with it. The connection comes
        from a small asyncpg pool of its own, which neither pings on checkout nor resets on
        return (both round trips): a connection found closed by the call is replaced and the
        call made again, which is safe for the reads this is for. The login role itself can
        read nothing (it is NOINHERIT and owns nothing), so a statement here that does not
        take a role fails closed.
        """
        if self.is_sqlite:
            raise RuntimeError("single statements with their own role are for PostgreSQL")
        pool = self._lean_pool or await self._open_lean_pool()
        # Every pooled connection may have been closed by the server (a restart): one more try
        # than there are connections reaches a fresh one.
        for _ in range(self._pool_size):
            async with pool.acquire() as connection:
                try:
                    return await call(connection)
                except _LOST_CONNECTION:
                    # Whatever state it is in, this connection is not handed out again.
                    with contextlib.suppress(asyncpg.InterfaceError):
                        connection.terminate()
        async with pool.acquire() as connection:
            return await call(connection)

    async def _open_lean_pool(self) -> Any:
        async with self._lean_pool_lock:
            if self._lean_pool is None:
                _, arguments = self.engine.dialect.create_connect_args(self.engine.url)
                for name in _SQLALCHEMY_ONLY_ARGUMENTS:
                    arguments.pop(name, None)
                self._lean_pool = await asyncpg.create_pool(
                    min_size=0,
                    max_size=self._pool_size,
                    init=_decode_json,
                    reset=_keep_as_is,
                    **arguments,
                )
            return self._lean_pool

    async def ping(self) -> None:
        if self.is_sqlite:
            async with self.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
            return
        connection, _ = await self._connected_with("SELECT 1")
        await connection.close()

    async def dispose(self) -> None:
        if self._lean_pool is not None:
            pool, self._lean_pool = self._lean_pool, None
            await pool.close()
        await self.engine.dispose()


async def _decode_json(connection: Any) -> None:
    """JSON and JSONB values as Python objects, as SQLAlchemy's connections give them.

    In binary format, as inside a row value (a composite) every field must be: JSONB's binary
    form is a version byte (1) before the text.
    """
    await connection.set_type_codec(
        "json",
        encoder=lambda value: json.dumps(value).encode(),
        decoder=lambda data: json.loads(data),
        schema="pg_catalog",
        format="binary",
    )
    await connection.set_type_codec(
        "jsonb",
        encoder=lambda value: b"\x01" + json.dumps(value).encode(),
        decoder=lambda data: json.loads(data[1:]),
        schema="pg_catalog",
        format="binary",
    )


async def _keep_as_is(_connection: Any) -> None:
    """The lean pool's reset: nothing to undo after an autocommit statement (asyncpg itself
    still rolls back a transaction left open), so no RESET ALL round trip."""


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
