"""Tables of the booking domain: the booking, its sessions and its append-only audit trail."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TextClause,
    Uuid,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from sessionbook.catalog.models import PACKAGE_ID_MAX_LENGTH
from sessionbook.core.db import Base, UTCDateTime, utcnow


class BookingStatus(enum.StrEnum):
    PENDING = "pending"
    PAID = "paid"
    SCHEDULED = "scheduled"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


class SessionState(enum.StrEnum):
    BOOKED = "booked"
    CANCELLED = "cancelled"


class CancelledBy(enum.StrEnum):
    CUSTOMER = "customer"
    COACH = "coach"
    OPERATOR = "operator"


class PaymentStatus(enum.StrEnum):
    PENDING = "pending"
    PAID = "paid"
    FAILED = "failed"
    REFUNDED = "refunded"


def _in(column: str, values: type[enum.StrEnum]) -> str:
    listed = ", ".join(f"'{member.value}'" for member in values)
    return f"{column} IN ({listed})"


JSONType = JSON().with_variant(JSON(none_as_null=True), "postgresql")

# The rows a sweep duty or an operator's view looks for, each the WHERE of a partial index that
# holds only those rows, so the query's cost follows the work waiting, not the history. The
# queries repeat the same words (`where_rows`): PostgreSQL and SQLite use a partial index only
# when the query's own WHERE visibly implies the index's, which a bound parameter would hide.
LINKS_TO_DEACTIVATE = (
    "payment_link_deactivated_at IS NULL AND payment_link_id IS NOT NULL"
    " AND status IN ('expired', 'cancelled') AND payment_status IN ('pending', 'failed')"
)
EXPIRY_CANDIDATES = "(status = 'pending' OR (status = 'paid' AND amount_cents = 0))"
PAID_WITH_VALIDITY = "status = 'paid' AND sessions_valid_until IS NOT NULL"
PAID_NOT_SCHEDULED = "status = 'paid'"
LEASE_HELD = "schedule_lease_until IS NOT NULL"
SESSION_BOOKED = "state = 'booked'"
PAYMENT_CONFIRMED_ROWS = "event_type = 'payment_confirmed'"


def where_rows(predicate: str) -> TextClause:
    """A partial index's predicate as a query condition, in parentheses of its own."""
    return text(f"({predicate})")


def partial_index(name: str, *columns: str, where: str) -> Index:
    """An index of the rows matching `where` only, on both databases."""
    condition = text(where)
    return Index(name, *columns, postgresql_where=condition, sqlite_where=condition)


class Booking(Base):
    """One purchase: who, which package, what was paid; its sessions are `BookingSession` rows."""

    __tablename__ = "bookings"
    __table_args__ = (
        CheckConstraint(_in("status", BookingStatus), name="status_valid"),
        CheckConstraint(_in("payment_status", PaymentStatus), name="payment_status_valid"),
        CheckConstraint("amount_cents >= 0", name="amount_not_negative"),
        CheckConstraint(
            "refunded_cents >= 0 AND refunded_cents <= amount_cents", name="refund_within_amount"
        ),
        CheckConstraint("length(currency) = 3", name="currency_code"),
        CheckConstraint("sessions_lapsed >= 0", name="sessions_lapsed_not_negative"),
        Index("ix_bookings_status_expires_at", "status", "expires_at"),
        Index("ix_bookings_customer_email", "customer_email"),
        # A status's bookings newest first, page after page (admin and CLI lists).
        Index("ix_bookings_status_created_at_id", "status", "created_at", "id"),
        # The admin insights read a period's bookings from these indexes alone (no table rows):
        # created with how far each got; paid with the money; when scheduled, cancelled, expired.
        Index("ix_bookings_created_at_progress", "created_at", "paid_at", "scheduled_at"),
        Index(
            "ix_bookings_paid_at_figures",
            *("paid_at", "currency", "amount_cents", "package_id", "sessions_total", "id"),
        ),
        Index("ix_bookings_scheduled_at", "scheduled_at"),
        Index("ix_bookings_cancelled_at", "cancelled_at"),
        Index("ix_bookings_expired_at", "expired_at"),
        # The sweep's work, each partial index holding only the rows still to do.
        partial_index("ix_bookings_links_to_deactivate", "expires_at", where=LINKS_TO_DEACTIVATE),
        partial_index("ix_bookings_expiry_candidates", "expires_at", where=EXPIRY_CANDIDATES),
        partial_index(
            "ix_bookings_paid_sessions_valid_until",
            "sessions_valid_until",
            where=PAID_WITH_VALIDITY,
        ),
        partial_index("ix_bookings_schedule_lease_until", "schedule_lease_until", where=LEASE_HELD),
        # Who paid but has not picked a time, longest waiting first (dashboard, CLI).
        partial_index(
            "ix_bookings_paid_waiting", "paid_at", "created_at", where=PAID_NOT_SCHEDULED
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    package_id: Mapped[str] = mapped_column(
        String(PACKAGE_ID_MAX_LENGTH), ForeignKey("packages.id", ondelete="RESTRICT")
    )
    # The package as it was when the booking was made: later edits change new bookings only.
    package_title: Mapped[str] = mapped_column(String(200))
    duration_minutes: Mapped[int] = mapped_column(Integer)
    sessions_total: Mapped[int] = mapped_column(Integer)
    valid_days: Mapped[int | None] = mapped_column(Integer)
    amount_cents: Mapped[int] = mapped_column(Integer)
    refunded_cents: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    currency: Mapped[str] = mapped_column(String(3))
    customer_name: Mapped[str] = mapped_column(String(100))
    customer_email: Mapped[str] = mapped_column(String(255))
    customer_phone: Mapped[str | None] = mapped_column(String(40))
    customer_timezone: Mapped[str | None] = mapped_column(String(64))
    # The language the customer used ("en", "fr"): their emails are written in it.
    customer_locale: Mapped[str | None] = mapped_column(String(16))
    notes: Mapped[str | None] = mapped_column(Text)
    booking_metadata: Mapped[dict[str, Any]] = mapped_column("metadata", JSONType, default=dict)
    status: Mapped[str] = mapped_column(String(20))
    payment_status: Mapped[str] = mapped_column(String(20))

    payment_link_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    payment_url: Mapped[str | None] = mapped_column(String(2048))
    payment_intent_id: Mapped[str | None] = mapped_column(String(64), index=True)
    payment_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the sweep stopped the link of this unpaid expired or cancelled booking (once).
    payment_link_deactivated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    cal_event_type_id: Mapped[int] = mapped_column(Integer)
    # When the sessions not booked by then lapse (paid_at + valid_days); None: no limit.
    sessions_valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # How many paid sessions lapsed unbooked at sessions_valid_until.
    sessions_lapsed: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    schedule_lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)

    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    scheduled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class BookingSession(Base):
    """One session of a booking: its own Cal.com booking, time and meeting link.

    The id is made before Cal.com is asked and travels in the Cal.com booking's metadata, so a
    booking made behind a lost answer is found and adopted as exactly this session.
    """

    __tablename__ = "sessions"
    __table_args__ = (
        CheckConstraint(_in("state", SessionState), name="state_valid"),
        CheckConstraint(
            f"cancelled_by IS NULL OR {_in('cancelled_by', CancelledBy)}",
            name="cancelled_by_valid",
        ),
        CheckConstraint("end_time > start_time", name="ends_after_start"),
        Index("ix_sessions_booking_id_start_time", "booking_id", "start_time"),
        Index("ix_sessions_start_time", "start_time"),
        # Live sessions of a period with their booking, from the index alone (admin insights).
        Index("ix_sessions_state_start_time_booking_id", "state", "start_time", "booking_id"),
        # Booked sessions not ended yet (calendar comparison, cancelled bookings' sessions).
        partial_index("ix_sessions_booked_end_time", "end_time", where=SESSION_BOOKED),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    booking_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("bookings.id", ondelete="RESTRICT")
    )
    state: Mapped[str] = mapped_column(String(20))
    start_time: Mapped[datetime] = mapped_column(UTCDateTime)
    end_time: Mapped[datetime] = mapped_column(UTCDateTime)
    cal_event_type_id: Mapped[int] = mapped_column(Integer)
    cal_booking_id: Mapped[int] = mapped_column(Integer, unique=True)
    cal_uid: Mapped[str] = mapped_column(String(100), unique=True)
    meeting_url: Mapped[str | None] = mapped_column(String(2048))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_by: Mapped[str | None] = mapped_column(String(20))


class BookingEvent(Base):
    """One line of a booking's audit trail; written in the same transaction as the change."""

    __tablename__ = "booking_events"
    __table_args__ = (
        Index("ix_booking_events_booking_id_id", "booking_id", "id"),
        # Payments confirmed lately, by whom (the dashboard's webhook health), from the index.
        partial_index(
            "ix_booking_events_payment_confirmed",
            "created_at",
            "source",
            where=PAYMENT_CONFIRMED_ROWS,
        ),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    booking_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("bookings.id", ondelete="RESTRICT")
    )
    event_type: Mapped[str] = mapped_column(String(64))
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str | None] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# The operator's search by the start of an email or a name, in any case: an index on the
# lower-cased text (on PostgreSQL with text_pattern_ops, so `LIKE 'start%'` uses it whatever the
# database's collation), so a search costs its matches, not the table.
for _column in ("customer_email", "customer_name"):
    _lowered = func.lower(Booking.__table__.c[_column]).label(f"{_column}_lower")
    Index(
        f"ix_bookings_lower_{_column}",
        _lowered,
        postgresql_ops={f"{_column}_lower": "text_pattern_ops"},
    )
