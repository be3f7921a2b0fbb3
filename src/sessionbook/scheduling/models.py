"""Tables of the scheduling domain: local claims on Cal.com slots, taken before calling Cal.com."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from sessionbook.core.db import Base, UTCDateTime, utcnow


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
