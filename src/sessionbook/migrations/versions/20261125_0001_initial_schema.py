"""Bookings and their audit trail, with row-level security on PostgreSQL.

Revision ID: 20261125_0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from sessionbook.migrations import rls

revision = "20261125_0001"
down_revision = None
branch_labels = None
depends_on = None

UTC_TIME = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(sa.JSON(none_as_null=True), "postgresql")


def upgrade() -> None:
    op.create_table(
        "bookings",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("package_id", sa.String(20), nullable=False),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column("refunded_cents", sa.Integer(), server_default="0", nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("customer_name", sa.String(100), nullable=False),
        sa.Column("customer_email", sa.String(255), nullable=False),
        sa.Column("customer_phone", sa.String(40), nullable=True),
        sa.Column("customer_timezone", sa.String(64), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("metadata", JSON, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("payment_status", sa.String(20), nullable=False),
        sa.Column("payment_link_id", sa.String(64), nullable=True),
        sa.Column("payment_url", sa.String(2048), nullable=True),
        sa.Column("payment_intent_id", sa.String(64), nullable=True),
        sa.Column("payment_checked_at", UTC_TIME, nullable=True),
        sa.Column("cal_event_type_id", sa.Integer(), nullable=True),
        sa.Column("cal_booking_id", sa.Integer(), nullable=True),
        sa.Column("cal_uid", sa.String(100), nullable=True),
        sa.Column("scheduled_start", UTC_TIME, nullable=True),
        sa.Column("scheduled_end", UTC_TIME, nullable=True),
        sa.Column("meeting_url", sa.String(2048), nullable=True),
        sa.Column("schedule_lease_until", UTC_TIME, nullable=True),
        sa.Column("expires_at", UTC_TIME, nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("updated_at", UTC_TIME, nullable=False),
        sa.Column("paid_at", UTC_TIME, nullable=True),
        sa.Column("scheduled_at", UTC_TIME, nullable=True),
        sa.Column("cancelled_at", UTC_TIME, nullable=True),
        sa.Column("expired_at", UTC_TIME, nullable=True),
        sa.CheckConstraint(
            "package_id IN ('discovery', 'single', 'monthly', 'quarterly')",
            name=op.f("ck_bookings_package_valid"),
        ),
        sa.CheckConstraint(
            "payment_status IN ('pending', 'paid', 'failed', 'refunded')",
            name=op.f("ck_bookings_payment_status_valid"),
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'paid', 'scheduled', 'expired', 'cancelled')",
            name=op.f("ck_bookings_status_valid"),
        ),
        sa.CheckConstraint(
            "(scheduled_start IS NULL) = (scheduled_end IS NULL)",
            name=op.f("ck_bookings_schedule_complete"),
        ),
        sa.CheckConstraint("amount_cents >= 0", name=op.f("ck_bookings_amount_not_negative")),
        sa.CheckConstraint("length(currency) = 3", name=op.f("ck_bookings_currency_code")),
        sa.CheckConstraint(
            "refunded_cents >= 0 AND refunded_cents <= amount_cents",
            name=op.f("ck_bookings_refund_within_amount"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bookings")),
        sa.UniqueConstraint("cal_booking_id", name=op.f("uq_bookings_cal_booking_id")),
        sa.UniqueConstraint("cal_uid", name=op.f("uq_bookings_cal_uid")),
        sa.UniqueConstraint("payment_link_id", name=op.f("uq_bookings_payment_link_id")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_bookings_token_hash")),
    )
    op.create_index("ix_bookings_created_at", "bookings", ["created_at"])
    op.create_index("ix_bookings_customer_email", "bookings", ["customer_email"])
    op.create_index(op.f("ix_bookings_payment_intent_id"), "bookings", ["payment_intent_id"])
    op.create_index("ix_bookings_scheduled_start", "bookings", ["scheduled_start"])
    op.create_index("ix_bookings_status_expires_at", "bookings", ["status", "expires_at"])

    op.create_table(
        "booking_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("booking_id", sa.Uuid(), nullable=False),
        sa.Column("event_type", sa.String(64), nullable=False),
        sa.Column("from_status", sa.String(20), nullable=True),
        sa.Column("to_status", sa.String(20), nullable=True),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("data", JSON, nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["booking_id"],
            ["bookings.id"],
            name=op.f("fk_booking_events_booking_id_bookings"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_booking_events")),
    )
    op.create_index("ix_booking_events_booking_id_id", "booking_events", ["booking_id", "id"])

    if rls.is_postgresql():
        _secure_postgresql()


def _secure_postgresql() -> None:
    rls.create_roles()
    rls.grant("SELECT, INSERT, UPDATE", "bookings", *rls.ROLES)
    # The audit trail is append-only for everyone: no UPDATE or DELETE is ever granted.
    rls.grant("SELECT, INSERT", "booking_events", *rls.ROLES)
    rls.grant("USAGE", "SEQUENCE booking_events_id_seq", *rls.ROLES)
    rls.force_rls("bookings")
    rls.policy(
        "customer_own_booking", "bookings", rls.CUSTOMER, f"token_hash = {rls.TOKEN_HASH_SETTING}"
    )
    rls.policy("service_all_bookings", "bookings", rls.SERVICE, "true")
    rls.policy("admin_all_bookings", "bookings", rls.ADMIN, "true")
    rls.force_rls("booking_events")
    # bookings' own policy applies inside the subquery, so a customer sees only its events.
    rls.policy(
        "customer_own_events",
        "booking_events",
        rls.CUSTOMER,
        "EXISTS (SELECT 1 FROM bookings WHERE bookings.id = booking_events.booking_id)",
    )
    rls.policy("service_all_events", "booking_events", rls.SERVICE, "true")
    rls.policy("admin_all_events", "booking_events", rls.ADMIN, "true")


def downgrade() -> None:
    op.drop_table("booking_events")
    op.drop_table("bookings")
