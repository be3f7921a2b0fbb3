"""Tables of the payment domain: received webhooks (stored first) and refunds we asked for."""

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
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from sessionbook.bookings.models import JSONType, partial_index
from sessionbook.core.db import Base, UTCDateTime, utcnow

WEBHOOK_STATES = ("received", "processed", "failed", "ignored")
# Deliveries still to process (or retry): the WHERE of the retry duty's partial index.
WEBHOOK_OPEN = "state IN ('received', 'failed')"
REFUND_STATES = ("requested", "received", "accepted", "settled", "failed")


class WebhookEvent(Base):
    """One delivery from a provider, stored before it is acted on; unique per provider event."""

    __tablename__ = "webhook_events"
    __table_args__ = (
        UniqueConstraint("provider", "event_id", name="uq_webhook_events_provider_event_id"),
        CheckConstraint(
            "state IN ('received', 'processed', 'failed', 'ignored')", name="state_valid"
        ),
        Index("ix_webhook_events_state_next_attempt_at", "state", "next_attempt_at"),
        # The last day's deliveries and the newest one (the dashboard's webhook health).
        Index("ix_webhook_events_received_at", "received_at"),
        partial_index("ix_webhook_events_open_id", "id", where=WEBHOOK_OPEN),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    provider: Mapped[str] = mapped_column(String(32))
    event_id: Mapped[str] = mapped_column(String(128))
    event_type: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType)
    state: Mapped[str] = mapped_column(String(16), default="received")
    booking_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PaymentRefund(Base):
    """A refund we asked the provider for; its request_id makes a retry refund only once."""

    __tablename__ = "payment_refunds"
    __table_args__ = (
        CheckConstraint(
            "status IN ('requested', 'received', 'accepted', 'settled', 'failed')",
            name="status_valid",
        ),
        CheckConstraint("amount_cents > 0", name="amount_positive"),
        Index("ix_payment_refunds_created_at", "created_at"),
        # Settled refunds by when they settled (a settled row is final), for the admin insights.
        Index("ix_payment_refunds_status_updated_at", "status", "updated_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    booking_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("bookings.id", ondelete="RESTRICT"), index=True
    )
    request_id: Mapped[str] = mapped_column(String(128), unique=True)
    provider_refund_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    payment_intent_id: Mapped[str] = mapped_column(String(64))
    amount_cents: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    reason: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), default="requested")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
