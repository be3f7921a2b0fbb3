"""Tables of admin sign-in: server-side sessions and the sign-in attempt counters."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from sessionbook.core.db import Base, UTCDateTime

USER_AGENT_MAX_LENGTH = 200
CLIENT_ADDRESS_MAX_LENGTH = 64


class AdminSessionRecord(Base):
    """One signed-in browser; the cookie carries the secret, this row only its SHA-256."""

    __tablename__ = "admin_sessions"
    __table_args__ = (Index("ix_admin_sessions_expires_at", "expires_at"),)

    # The primary key is the index every admin request looks its session up by.
    secret_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    # What pages, logs and the CLI call the session: naming it must not be able to sign in.
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    client_address: Mapped[str] = mapped_column(String(CLIENT_ADDRESS_MAX_LENGTH))
    user_agent: Mapped[str] = mapped_column(String(USER_AGENT_MAX_LENGTH))


class AdminLoginCounter(Base):
    """Sign-in attempts counted for one key (a client address or the account) and its lock."""

    __tablename__ = "admin_login_counters"
    __table_args__ = (Index("ix_admin_login_counters_last_attempt_at", "last_attempt_at"),)

    key: Mapped[str] = mapped_column(String(120), primary_key=True)
    attempts: Mapped[int] = mapped_column(Integer)
    last_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
