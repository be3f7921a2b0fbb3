"""The outbox: customer notifications as durable rows, sent by the worker, never twice."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from sessionbook.bookings.models import JSONType
from sessionbook.core.db import Base, UTCDateTime, utcnow


class OutboxMessage(Base):
    """One notification to send; `dedupe_key` is unique so the same news is queued once.

    `state` ends "sent", "failed" (refused, or out of attempts) or "skipped" (its news went
    stale before it could be sent: rescheduled, cancelled, paid after all).
    """

    __tablename__ = "outbox"
    __table_args__ = (
        CheckConstraint("state IN ('pending', 'sent', 'failed', 'skipped')", name="state_valid"),
        Index("ix_outbox_state_next_attempt_at", "state", "next_attempt_at"),
        # The last day's messages by state, from the index alone (the dashboard).
        Index("ix_outbox_created_at_state", "created_at", "state"),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    booking_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("bookings.id", ondelete="RESTRICT"), index=True
    )
    kind: Mapped[str] = mapped_column(String(64))
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
