"""Server-side admin sessions: opened at sign-in, checked on every request, ended or revoked.

The browser's cookie carries a random secret; the table keeps only its SHA-256, so a copy of
the database cannot be turned into a working cookie. Every statement runs as the ADMIN role.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from sessionbook.admin.models import (
    CLIENT_ADDRESS_MAX_LENGTH,
    USER_AGENT_MAX_LENGTH,
    AdminSessionRecord,
)
from sessionbook.core.db import ADMIN, Database, utcnow

Clock = Callable[[], datetime]

# Writing "last seen" on every page would turn each read into a write; a minute is precise
# enough to tell sessions apart.
LAST_SEEN_PRECISION = timedelta(minutes=1)
# Ended sessions stay listed for the operator's curiosity this long, then go.
KEEP_ENDED_SESSIONS = timedelta(days=30)


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class AdminSessionRepository:
    """Every SQL statement on `admin_sessions`; runs inside the caller's transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, record: AdminSessionRecord) -> None:
        self.session.add(record)
        await self.session.flush()

    async def active_by_hash(self, hashed: str, now: datetime) -> AdminSessionRecord | None:
        statement = select(AdminSessionRecord).where(
            AdminSessionRecord.secret_hash == hashed,
            AdminSessionRecord.revoked_at.is_(None),
            AdminSessionRecord.expires_at > now,
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def active(self, now: datetime) -> Sequence[AdminSessionRecord]:
        statement = (
            select(AdminSessionRecord)
            .where(AdminSessionRecord.revoked_at.is_(None), AdminSessionRecord.expires_at > now)
            .order_by(AdminSessionRecord.last_seen_at.desc(), AdminSessionRecord.public_id)
        )
        return (await self.session.execute(statement)).scalars().all()

    async def revoke(
        self,
        now: datetime,
        *,
        hashed: str | None = None,
        public_id: str | None = None,
        all_but: str | None = None,
    ) -> int:
        """Revoke the session with this hash or public id, or every other one; how many."""
        statement = update(AdminSessionRecord).where(AdminSessionRecord.revoked_at.is_(None))
        if hashed is not None:
            statement = statement.where(AdminSessionRecord.secret_hash == hashed)
        if public_id is not None:
            statement = statement.where(AdminSessionRecord.public_id == public_id)
        if all_but is not None:
            statement = statement.where(AdminSessionRecord.public_id != all_but)
        result = await self.session.execute(statement.values(revoked_at=now))
        return int(getattr(result, "rowcount", 0) or 0)

    async def forget_ended(self, before: datetime) -> None:
        statement = delete(AdminSessionRecord).where(
            (AdminSessionRecord.expires_at < before) | (AdminSessionRecord.revoked_at < before)
        )
        await self.session.execute(statement)


class AdminSessions:
    """The admin sessions' rules: how long one lives, what ends it, what a list shows."""

    def __init__(self, database: Database, *, lifetime: timedelta, clock: Clock = utcnow) -> None:
        self.database = database
        self.lifetime = lifetime
        self.clock = clock

    async def open(self, *, client_address: str, user_agent: str) -> tuple[str, AdminSessionRecord]:
        """A new session for a browser that just signed in: its secret (for the cookie) and row."""
        now = self.clock()
        secret = secrets.token_urlsafe(32)
        record = AdminSessionRecord(
            secret_hash=secret_hash(secret),
            public_id=secrets.token_hex(8),
            created_at=now,
            last_seen_at=now,
            expires_at=now + self.lifetime,
            revoked_at=None,
            client_address=client_address[:CLIENT_ADDRESS_MAX_LENGTH],
            user_agent=user_agent[:USER_AGENT_MAX_LENGTH],
        )
        async with self.database.transaction(ADMIN) as session:
            repository = AdminSessionRepository(session)
            await repository.forget_ended(now - KEEP_ENDED_SESSIONS)
            await repository.add(record)
        return secret, record

    async def find(self, secret: str) -> AdminSessionRecord | None:
        """The live session this secret names: None once signed out, revoked or expired."""
        now = self.clock()
        hashed = secret_hash(secret)
        async with self.database.transaction(ADMIN) as session:
            repository = AdminSessionRepository(session)
            record = await repository.active_by_hash(hashed, now)
            if record is not None and now - record.last_seen_at >= LAST_SEEN_PRECISION:
                record.last_seen_at = now  # written when the transaction commits
            return record

    async def end(self, secret: str) -> None:
        """Sign-out: the row is revoked, so a copy of the cookie stops working too."""
        async with self.database.transaction(ADMIN) as session:
            await AdminSessionRepository(session).revoke(self.clock(), hashed=secret_hash(secret))

    async def revoke(self, public_id: str) -> bool:
        async with self.database.transaction(ADMIN) as session:
            revoked = await AdminSessionRepository(session).revoke(
                self.clock(), public_id=public_id
            )
        return revoked > 0

    async def revoke_all_but(self, public_id: str) -> int:
        async with self.database.transaction(ADMIN) as session:
            return await AdminSessionRepository(session).revoke(self.clock(), all_but=public_id)

    async def active(self) -> Sequence[AdminSessionRecord]:
        async with self.database.transaction(ADMIN) as session:
            return await AdminSessionRepository(session).active(self.clock())
