"""Sessions as their own rows: a booking holds up to sessions_total Cal.com bookings.

Revision ID: 20261127_0007
Revises: 20261126_0006
Create Date: 2026-11-27

Every booking that had a Cal.com booking gets it as one session (booked while the booking is
scheduled, cancelled otherwise), with every field copied; then the columns leave `bookings`.
A paid package of several sessions that was scheduled holds one session of several now, so it
returns to `paid` (with an audit row) and its customer may book the rest.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from alembic import op

from sessionbook.migrations import rls

revision = "20261127_0007"
down_revision = "20261126_0006"
branch_labels = None
depends_on = None

UTC_TIME = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(sa.JSON(none_as_null=True), "postgresql")
_MOVED = ("cal_booking_id", "cal_uid", "scheduled_start", "scheduled_end", "meeting_url")

_sessions = sa.table(
    "sessions",
    sa.column("id", sa.Uuid()),
    sa.column("booking_id", sa.Uuid()),
    sa.column("state", sa.String()),
    sa.column("start_time", UTC_TIME),
    sa.column("end_time", UTC_TIME),
    sa.column("cal_event_type_id", sa.Integer()),
    sa.column("cal_booking_id", sa.Integer()),
    sa.column("cal_uid", sa.String()),
    sa.column("meeting_url", sa.String()),
    sa.column("created_at", UTC_TIME),
    sa.column("updated_at", UTC_TIME),
    sa.column("cancelled_at", UTC_TIME),
    sa.column("cancelled_by", sa.String()),
)
_bookings = sa.table(
    "bookings",
    sa.column("id", sa.Uuid()),
    sa.column("status", sa.String()),
    sa.column("sessions_total", sa.Integer()),
    sa.column("valid_days", sa.Integer()),
    sa.column("paid_at", UTC_TIME),
    sa.column("updated_at", UTC_TIME),
    sa.column("scheduled_at", UTC_TIME),
    sa.column("cancelled_at", UTC_TIME),
    sa.column("sessions_valid_until", UTC_TIME),
    sa.column("cal_event_type_id", sa.Integer()),
    *(sa.column(name, UTC_TIME) for name in ("scheduled_start", "scheduled_end")),
    sa.column("cal_booking_id", sa.Integer()),
    sa.column("cal_uid", sa.String()),
    sa.column("meeting_url", sa.String()),
)
_claims = sa.table(
    "slot_claims",
    sa.column("booking_id", sa.Uuid()),
    sa.column("session_id", sa.Uuid()),
    sa.column("start_time", UTC_TIME),
)
_events = sa.table(
    "booking_events",
    sa.column("booking_id", sa.Uuid()),
    sa.column("event_type", sa.String()),
    sa.column("from_status", sa.String()),
    sa.column("to_status", sa.String()),
    sa.column("source", sa.String()),
    sa.column("data", JSON),
    sa.column("created_at", UTC_TIME),
)


def _aware(value: datetime | None) -> datetime | None:
    # SQLite hands naive datetimes back; every stored time is UTC.
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def upgrade() -> None:
    op.create_table(
        "sessions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("booking_id", sa.Uuid(), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("start_time", UTC_TIME, nullable=False),
        sa.Column("end_time", UTC_TIME, nullable=False),
        sa.Column("cal_event_type_id", sa.Integer(), nullable=False),
        sa.Column("cal_booking_id", sa.Integer(), nullable=False),
        sa.Column("cal_uid", sa.String(100), nullable=False),
        sa.Column("meeting_url", sa.String(2048), nullable=True),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("updated_at", UTC_TIME, nullable=False),
        sa.Column("cancelled_at", UTC_TIME, nullable=True),
        sa.Column("cancelled_by", sa.String(20), nullable=True),
        sa.CheckConstraint(
            "state IN ('booked', 'cancelled')", name=op.f("ck_sessions_state_valid")
        ),
        sa.CheckConstraint(
            "cancelled_by IS NULL OR cancelled_by IN ('customer', 'coach', 'operator')",
            name=op.f("ck_sessions_cancelled_by_valid"),
        ),
        sa.CheckConstraint("end_time > start_time", name=op.f("ck_sessions_ends_after_start")),
        sa.ForeignKeyConstraint(
            ["booking_id"],
            ["bookings.id"],
            name=op.f("fk_sessions_booking_id_bookings"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sessions")),
        sa.UniqueConstraint("cal_booking_id", name=op.f("uq_sessions_cal_booking_id")),
        sa.UniqueConstraint("cal_uid", name=op.f("uq_sessions_cal_uid")),
    )
    op.create_index("ix_sessions_booking_id_start_time", "sessions", ["booking_id", "start_time"])
    op.create_index("ix_sessions_start_time", "sessions", ["start_time"])
    with op.batch_alter_table("bookings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sessions_valid_until", UTC_TIME, nullable=True))
        batch_op.add_column(
            sa.Column("sessions_lapsed", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.create_check_constraint(
            op.f("ck_bookings_sessions_lapsed_not_negative"), "sessions_lapsed >= 0"
        )
    with op.batch_alter_table("slot_claims", schema=None) as batch_op:
        batch_op.add_column(sa.Column("session_id", sa.Uuid(), nullable=True))
        batch_op.create_foreign_key(
            op.f("fk_slot_claims_session_id_sessions"),
            "sessions",
            ["session_id"],
            ["id"],
            ondelete="RESTRICT",
        )
    postgresql = rls.is_postgresql()
    if postgresql:
        # The owner is subject to the forced row-level security, which has no policy for it:
        # lift it for the copy, inside the migration's transaction.
        for table in ("bookings", "booking_events", "slot_claims"):
            op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
    _move_calendar_bookings_to_sessions()
    if postgresql:
        for table in ("bookings", "booking_events", "slot_claims"):
            op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    with op.batch_alter_table("bookings", schema=None) as batch_op:
        batch_op.drop_index("ix_bookings_scheduled_start")
        batch_op.drop_constraint(op.f("ck_bookings_schedule_complete"), type_="check")
        batch_op.drop_constraint(op.f("uq_bookings_cal_booking_id"), type_="unique")
        batch_op.drop_constraint(op.f("uq_bookings_cal_uid"), type_="unique")
        for column in _MOVED:
            batch_op.drop_column(column)
    if postgresql:
        _secure_postgresql()


def _move_calendar_bookings_to_sessions() -> None:
    bind = op.get_bind()
    now = datetime.now(UTC)
    rows = bind.execute(
        sa.select(_bookings).where(
            _bookings.c.cal_uid.is_not(None), _bookings.c.scheduled_start.is_not(None)
        )
    ).all()
    for row in rows:
        booked = row.status == "scheduled"
        # The booking's own id: the session's calendar UID (`<id>@sessionbook`) stays the one
        # the customer's calendar already holds from the booking's confirmation.
        session_id = row.id
        bind.execute(
            _sessions.insert().values(
                id=session_id,
                booking_id=row.id,
                state="booked" if booked else "cancelled",
                start_time=_aware(row.scheduled_start),
                end_time=_aware(row.scheduled_end),
                cal_event_type_id=row.cal_event_type_id,
                cal_booking_id=row.cal_booking_id,
                cal_uid=row.cal_uid,
                meeting_url=row.meeting_url,
                created_at=_aware(row.scheduled_at) or _aware(row.updated_at),
                updated_at=_aware(row.updated_at),
                cancelled_at=None
                if booked
                else (_aware(row.cancelled_at) or _aware(row.updated_at)),
                cancelled_by=None,
            )
        )
        if booked:
            bind.execute(
                _claims.update()
                .where(
                    _claims.c.booking_id == row.id,
                    _claims.c.start_time == row.scheduled_start,
                )
                .values(session_id=session_id)
            )
        if booked and row.sessions_total > 1:
            # One session of several is booked: the rest are the customer's to book.
            bind.execute(_bookings.update().where(_bookings.c.id == row.id).values(status="paid"))
            bind.execute(
                _events.insert().values(
                    booking_id=row.id,
                    event_type="sessions_opened",
                    from_status="scheduled",
                    to_status="paid",
                    source="migration",
                    data={"sessionId": str(session_id), "sessionsTotal": row.sessions_total},
                    created_at=now,
                )
            )
    paid = bind.execute(
        sa.select(_bookings.c.id, _bookings.c.paid_at, _bookings.c.valid_days).where(
            _bookings.c.paid_at.is_not(None), _bookings.c.valid_days.is_not(None)
        )
    ).all()
    for row in paid:
        paid_at = _aware(row.paid_at)
        assert paid_at is not None
        bind.execute(
            _bookings.update()
            .where(_bookings.c.id == row.id)
            .values(sessions_valid_until=paid_at + timedelta(days=row.valid_days))
        )


def _secure_postgresql() -> None:
    # A customer books, moves and cancels its own sessions; nobody deletes one.
    rls.grant("SELECT, INSERT, UPDATE", "sessions", *rls.ROLES)
    rls.force_rls("sessions")
    # bookings' own policy applies inside the subquery, so a customer sees only its sessions.
    rls.policy(
        "customer_own_sessions",
        "sessions",
        rls.CUSTOMER,
        "EXISTS (SELECT 1 FROM bookings WHERE bookings.id = sessions.booking_id)",
    )
    rls.policy("service_all_sessions", "sessions", rls.SERVICE, "true")
    rls.policy("admin_all_sessions", "sessions", rls.ADMIN, "true")
    # A claim names its session once the session is recorded: only that column changes.
    rls.grant("UPDATE (session_id)", "slot_claims", *rls.ROLES)


def downgrade() -> None:
    with op.batch_alter_table("bookings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cal_booking_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("cal_uid", sa.String(100), nullable=True))
        batch_op.add_column(sa.Column("scheduled_start", UTC_TIME, nullable=True))
        batch_op.add_column(sa.Column("scheduled_end", UTC_TIME, nullable=True))
        batch_op.add_column(sa.Column("meeting_url", sa.String(2048), nullable=True))
    postgresql = rls.is_postgresql()
    if postgresql:
        for table in ("bookings", "sessions"):
            op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
    _restore_one_session_per_booking()
    if postgresql:
        op.execute("ALTER TABLE bookings FORCE ROW LEVEL SECURITY")
    with op.batch_alter_table("bookings", schema=None) as batch_op:
        batch_op.create_unique_constraint(op.f("uq_bookings_cal_booking_id"), ["cal_booking_id"])
        batch_op.create_unique_constraint(op.f("uq_bookings_cal_uid"), ["cal_uid"])
        batch_op.create_check_constraint(
            op.f("ck_bookings_schedule_complete"),
            "(scheduled_start IS NULL) = (scheduled_end IS NULL)",
        )
        batch_op.create_index("ix_bookings_scheduled_start", ["scheduled_start"])
        batch_op.drop_constraint(op.f("ck_bookings_sessions_lapsed_not_negative"), type_="check")
        batch_op.drop_column("sessions_lapsed")
        batch_op.drop_column("sessions_valid_until")
    with op.batch_alter_table("slot_claims", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("fk_slot_claims_session_id_sessions"), type_="foreignkey")
        batch_op.drop_column("session_id")
    op.drop_index("ix_sessions_start_time", table_name="sessions")
    op.drop_index("ix_sessions_booking_id_start_time", table_name="sessions")
    op.drop_table("sessions")


def _restore_one_session_per_booking() -> None:
    """Each booking gets back the session the old schema can hold: the next, else the last."""
    bind = op.get_bind()
    now = datetime.now(UTC)
    by_booking: dict[Any, list[Any]] = {}
    for row in bind.execute(sa.select(_sessions).order_by(_sessions.c.start_time)).all():
        by_booking.setdefault(row.booking_id, []).append(row)
    chosen: dict[Any, Any] = {}
    for booking_id, rows in by_booking.items():
        booked = [row for row in rows if row.state == "booked"]
        upcoming = [row for row in booked if (_aware(row.end_time) or now) > now]
        chosen[booking_id] = (upcoming or booked or rows)[0 if upcoming else -1]
    for booking_id, row in chosen.items():
        bind.execute(
            _bookings.update()
            .where(_bookings.c.id == booking_id)
            .values(
                cal_booking_id=row.cal_booking_id,
                cal_uid=row.cal_uid,
                scheduled_start=_aware(row.start_time),
                scheduled_end=_aware(row.end_time),
                meeting_url=row.meeting_url,
            )
        )
