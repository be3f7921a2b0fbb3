"""Admin sign-in backoff, per client address and per account, counted in the database.

Each key (an address, or the account) may try `free_attempts` times; every attempt after that
locks the key for twice as long as the one before (1 s, 2 s, 4 s ... up to `max_wait`). A key
forgets its attempts after `forget_after` without one. An attempt is counted when it starts,
before the password is checked, so a burst of parallel guesses is counted in full; a success
forgets its address's count. The account's count is skipped for a browser holding a known-device
cookie (see `admin.auth.DeviceSigner`), so one attacker cannot lock the coach out; docs/security.md
explains the scheme. The database is shared by every instance, and rows are locked while
counted, so several instances count one attacker once.
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from sessionbook.admin.models import AdminLoginCounter
from sessionbook.core.db import ADMIN, Database, utcnow

Clock = Callable[[], datetime]


@dataclass(frozen=True, slots=True)
class Backoff:
    """How many attempts a key gets free, and how its waits grow after that."""

    free_attempts: int
    first_wait: timedelta
    max_wait: timedelta
    forget_after: timedelta

    def wait_after(self, attempts: int) -> timedelta | None:
        """The lock that follows the `attempts`-th attempt, or None while attempts are free."""
        if attempts < self.free_attempts:
            return None
        doublings = min(attempts - self.free_attempts, 32)  # 2**32 s is far past any cap
        wait: timedelta = self.first_wait * (2**doublings)
        return min(self.max_wait, wait)


# Strict per address; the account, which every address shares, gets more room.
ADDRESS_BACKOFF = Backoff(
    free_attempts=5,
    first_wait=timedelta(seconds=1),
    max_wait=timedelta(minutes=15),
    forget_after=timedelta(hours=1),
)
ACCOUNT_BACKOFF = Backoff(
    free_attempts=20,
    first_wait=timedelta(seconds=1),
    max_wait=timedelta(minutes=15),
    forget_after=timedelta(hours=1),
)


def address_key(address: str) -> str:
    """The key of a client address; IPv6 by its /64, which one customer line usually owns."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return f"address:{address[:100]}"
    if ip.version == 6:
        return f"address:{ipaddress.ip_network(f'{ip}/64', strict=False)}"
    return f"address:{ip}"


def account_key(account: str) -> str:
    return f"account:{account}"


class LoginCounterRepository:
    """Every SQL statement on `admin_login_counters`; runs inside the caller's transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def locked_rows(self, keys: Sequence[str]) -> dict[str, AdminLoginCounter]:
        """The counters of these keys, locked until the transaction ends (PostgreSQL)."""
        statement = (
            select(AdminLoginCounter)
            .where(AdminLoginCounter.key.in_(keys))
            .order_by(AdminLoginCounter.key)  # one lock order, so two attempts cannot deadlock
            .with_for_update()
        )
        rows = (await self.session.execute(statement)).scalars().all()
        return {row.key: row for row in rows}

    async def insert_missing(self, keys: Sequence[str], now: datetime) -> None:
        """A zero counter for each key that has none; one made meanwhile by another wins."""
        dialect = self.session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        for key in keys:
            statement = (
                insert(AdminLoginCounter)
                .values(key=key, attempts=0, last_attempt_at=now, locked_until=None)
                .on_conflict_do_nothing(index_elements=["key"])
            )
            await self.session.execute(statement)

    async def forget(self, key: str) -> None:
        await self.session.execute(delete(AdminLoginCounter).where(AdminLoginCounter.key == key))

    async def forget_idle(self, before: datetime) -> None:
        statement = delete(AdminLoginCounter).where(AdminLoginCounter.last_attempt_at < before)
        await self.session.execute(statement)


class LoginThrottle:
    """Decides whether a sign-in attempt may go ahead, and counts it."""

    def __init__(
        self,
        database: Database,
        *,
        address_backoff: Backoff = ADDRESS_BACKOFF,
        account_backoff: Backoff = ACCOUNT_BACKOFF,
        clock: Clock = utcnow,
    ) -> None:
        self.database = database
        self.backoffs = {"address": address_backoff, "account": account_backoff}
        self.clock = clock

    async def begin_attempt(self, address: str, account: str | None) -> int | None:
        """Seconds to wait when a key is locked (nothing counted), else None (attempt counted).

        `account` is None for a known device: the account's count neither stops nor counts it.
        """
        now = self.clock()
        keys = sorted([address_key(address), *([account_key(account)] if account else [])])
        async with self.database.transaction(ADMIN) as session:
            repository = LoginCounterRepository(session)
            rows = await repository.locked_rows(keys)
            if len(rows) < len(keys) and self._wait(rows, now) is None:
                await repository.insert_missing([key for key in keys if key not in rows], now)
                rows = await repository.locked_rows(keys)
            wait = self._wait(rows, now)
            if wait is not None:
                return wait
            for row in rows.values():
                self._count(row, now)
        return None

    async def succeeded(self, address: str) -> None:
        """The right password: this address starts afresh; idle counters of others go."""
        now = self.clock()
        longest = max(backoff.forget_after for backoff in self.backoffs.values())
        async with self.database.transaction(ADMIN) as session:
            repository = LoginCounterRepository(session)
            await repository.forget(address_key(address))
            await repository.forget_idle(now - longest)

    def _backoff(self, key: str) -> Backoff:
        return self.backoffs[key.split(":", 1)[0]]

    def _forgotten(self, row: AdminLoginCounter, now: datetime) -> bool:
        return now - row.last_attempt_at >= self._backoff(row.key).forget_after

    def _wait(self, rows: dict[str, AdminLoginCounter], now: datetime) -> int | None:
        """Whole seconds until the longest lock among these rows ends, or None if none holds."""
        waits = [
            row.locked_until - now
            for row in rows.values()
            if row.locked_until is not None
            and row.locked_until > now
            and not self._forgotten(row, now)
        ]
        return max(1, math.ceil(max(waits).total_seconds())) if waits else None

    def _count(self, row: AdminLoginCounter, now: datetime) -> None:
        if self._forgotten(row, now):
            row.attempts = 0
        row.attempts += 1
        row.last_attempt_at = now
        wait = self._backoff(row.key).wait_after(row.attempts)
        row.locked_until = now + wait if wait is not None else None
