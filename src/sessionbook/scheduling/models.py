"""Tables of the scheduling domain: local claims on Cal.com slots, taken before calling Cal.com."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Integer, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from sessionbook.bookings.models import JSONType, partial_index
from sessionbook.core.db import Base, UTCDateTime, utcnow

# Deliveries still to process (or retry): the WHERE of the retry duty's partial index.
CALENDAR_EVENT_OPEN = "state IN ('received', 'failed')"


class SlotClaim(Base):
    """This service's hold on one start time of one event type: at most one booking per slot.

    The unique constraint is the race-proof part: two bookings racing for a slot both try
    to insert, and only one can win before either calls Cal.com.
    """

    __tablename__ = "slot_claims"
    __table_args__ = (
        UniqueConstraint("event_type_id", "start_time", name="uq_slot_claims_event_type_start"),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    booking_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("bookings.id", ondelete="RESTRICT"), index=True
    )
    # The session holding the slot; None while the attempt that claimed it is in flight.
    session_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("sessions.id", ondelete="RESTRICT")
    )
    event_type_id: Mapped[int] = mapped_column(Integer)
    start_time: Mapped[datetime] = mapped_column(UTCDateTime)
    end_time: Mapped[datetime] = mapped_column(UTCDateTime)
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SweepMark(Base):
    """When a periodic sweep duty last ran; the conditional update on it is the hosts' claim."""

    __tablename__ = "sweep_marks"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CalendarWebhookEvent(Base):
    """One Cal.com delivery, stored before it is acted on; unique per derived event key."""

    __tablename__ = "calendar_webhook_events"
    __table_args__ = (
        # Deliveries still to process or retry, by id (the retry duty's order).
        partial_index("ix_calendar_webhook_events_open_id", "id", where=CALENDAR_EVENT_OPEN),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    event_key: Mapped[str] = mapped_column(String(128), unique=True)
    trigger: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType)
    # received (to process) | processed | ignored (not ours, or nothing to do) | failed
    state: Mapped[str] = mapped_column(String(16), default="received")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
