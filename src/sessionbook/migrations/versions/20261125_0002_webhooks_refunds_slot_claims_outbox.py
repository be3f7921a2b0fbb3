"""Stored webhooks, refunds, slot claims and the notification outbox, with their policies.

Revision ID: 20261125_0002
Revises: 20261125_0001
Create Date: 2026-11-25 14:20:37.548603
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from sessionbook.migrations import rls

revision = "20261125_0002"
down_revision = "20261125_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "webhook_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("event_id", sa.String(length=128), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column(
            "payload",
            sa.JSON().with_variant(sa.JSON(none_as_null=True), "postgresql"),
            nullable=False,
        ),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("booking_id", sa.Uuid(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "state IN ('received', 'processed', 'failed', 'ignored')",
            name=op.f("ck_webhook_events_state_valid"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_events")),
        sa.UniqueConstraint("provider", "event_id", name="uq_webhook_events_provider_event_id"),
    )
    with op.batch_alter_table("webhook_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_webhook_events_booking_id"), ["booking_id"], unique=False
        )
        batch_op.create_index(
            "ix_webhook_events_state_next_attempt_at", ["state", "next_attempt_at"], unique=False
        )

    op.create_table(
        "outbox",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("booking_id", sa.Uuid(), nullable=True),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("dedupe_key", sa.String(length=200), nullable=False),
        sa.Column(
            "payload",
            sa.JSON().with_variant(sa.JSON(none_as_null=True), "postgresql"),
            nullable=False,
        ),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "state IN ('pending', 'sent', 'failed')", name=op.f("ck_outbox_state_valid")
        ),
        sa.ForeignKeyConstraint(
            ["booking_id"],
            ["bookings.id"],
            name=op.f("fk_outbox_booking_id_bookings"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_outbox_dedupe_key")),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outbox_booking_id"), ["booking_id"], unique=False)
        batch_op.create_index(
            "ix_outbox_state_next_attempt_at", ["state", "next_attempt_at"], unique=False
        )

    op.create_table(
        "payment_refunds",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("booking_id", sa.Uuid(), nullable=False),
        sa.Column("request_id", sa.String(length=128), nullable=False),
        sa.Column("provider_refund_id", sa.String(length=64), nullable=True),
        sa.Column("payment_intent_id", sa.String(length=64), nullable=False),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("reason", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('requested', 'received', 'accepted', 'settled', 'failed')",
            name=op.f("ck_payment_refunds_status_valid"),
        ),
        sa.CheckConstraint("amount_cents > 0", name=op.f("ck_payment_refunds_amount_positive")),
        sa.ForeignKeyConstraint(
            ["booking_id"],
            ["bookings.id"],
            name=op.f("fk_payment_refunds_booking_id_bookings"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_refunds")),
        sa.UniqueConstraint(
            "provider_refund_id", name=op.f("uq_payment_refunds_provider_refund_id")
        ),
        sa.UniqueConstraint("request_id", name=op.f("uq_payment_refunds_request_id")),
    )
    with op.batch_alter_table("payment_refunds", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_payment_refunds_booking_id"), ["booking_id"], unique=False
        )

    op.create_table(
        "slot_claims",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("booking_id", sa.Uuid(), nullable=False),
        sa.Column("event_type_id", sa.Integer(), nullable=False),
        sa.Column("start_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["booking_id"],
            ["bookings.id"],
            name=op.f("fk_slot_claims_booking_id_bookings"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_slot_claims")),
        sa.UniqueConstraint("event_type_id", "start_time", name="uq_slot_claims_event_type_start"),
    )
    with op.batch_alter_table("slot_claims", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_slot_claims_booking_id"), ["booking_id"], unique=False)

    if rls.is_postgresql():
        _secure_postgresql()


def _secure_postgresql() -> None:
    everyone = rls.ROLES
    owned_by_visible_booking = (
        "EXISTS (SELECT 1 FROM bookings WHERE bookings.id = {table}.booking_id)"
    )
    # Webhooks and refunds are the service's business; the admin may read them.
    rls.grant("SELECT, INSERT, UPDATE", "webhook_events", rls.SERVICE)
    rls.grant("SELECT", "webhook_events", rls.ADMIN)
    rls.grant("USAGE", "SEQUENCE webhook_events_id_seq", rls.SERVICE)
    rls.grant("SELECT, INSERT, UPDATE", "payment_refunds", rls.SERVICE, rls.ADMIN)
    rls.grant("SELECT", "payment_refunds", rls.CUSTOMER)
    # A customer's schedule request claims a slot and queues its own notifications.
    rls.grant("SELECT, INSERT, DELETE", "slot_claims", *everyone)
    rls.grant("USAGE", "SEQUENCE slot_claims_id_seq", *everyone)
    rls.grant("SELECT, INSERT", "outbox", *everyone)
    rls.grant("UPDATE", "outbox", rls.SERVICE, rls.ADMIN)
    rls.grant("USAGE", "SEQUENCE outbox_id_seq", *everyone)
    rls.grant("SELECT", "alembic_version", *everyone)
    for table in ("webhook_events", "payment_refunds", "slot_claims", "outbox"):
        rls.force_rls(table)
        rls.policy(f"service_all_{table}", table, rls.SERVICE, "true")
        rls.policy(f"admin_all_{table}", table, rls.ADMIN, "true")
    for table in ("payment_refunds", "slot_claims", "outbox"):
        rls.policy(
            f"customer_own_{table}",
            table,
            rls.CUSTOMER,
            owned_by_visible_booking.format(table=table),
        )


def downgrade() -> None:
    with op.batch_alter_table("slot_claims", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_slot_claims_booking_id"))

    op.drop_table("slot_claims")
    with op.batch_alter_table("payment_refunds", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payment_refunds_booking_id"))

    op.drop_table("payment_refunds")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_state_next_attempt_at")
        batch_op.drop_index(batch_op.f("ix_outbox_booking_id"))

    op.drop_table("outbox")
    with op.batch_alter_table("webhook_events", schema=None) as batch_op:
        batch_op.drop_index("ix_webhook_events_state_next_attempt_at")
        batch_op.drop_index(batch_op.f("ix_webhook_events_booking_id"))

    op.drop_table("webhook_events")
