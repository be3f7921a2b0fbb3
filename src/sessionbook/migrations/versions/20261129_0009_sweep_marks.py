"""Cal.com webhook deliveries, and sweep marks (when a periodic sweep duty last ran).

Revision ID: 20261129_0009
Revises: 20261128_0008
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from sessionbook.migrations import rls

JSON = sa.JSON().with_variant(sa.JSON(none_as_null=True), "postgresql")

revision = "20261129_0009"
down_revision = "20261128_0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sweep_marks",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("last_run_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_sweep_marks")),
    )
    op.create_table(
        "calendar_webhook_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("event_key", sa.String(length=128), nullable=False),
        sa.Column("trigger", sa.String(length=64), nullable=False),
        sa.Column("payload", JSON, nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_webhook_events")),
        sa.UniqueConstraint("event_key", name=op.f("uq_calendar_webhook_events_event_key")),
    )
    op.create_index(
        op.f("ix_calendar_webhook_events_next_attempt_at"),
        "calendar_webhook_events",
        ["next_attempt_at"],
    )
    if rls.is_postgresql():
        rls.grant("SELECT, INSERT, UPDATE", "sweep_marks", rls.SERVICE)
        rls.grant("SELECT, INSERT, UPDATE", "calendar_webhook_events", rls.SERVICE)
        rls.grant("SELECT", "calendar_webhook_events", rls.ADMIN)
        rls.grant("USAGE", "SEQUENCE calendar_webhook_events_id_seq", rls.SERVICE)


def downgrade() -> None:
    op.drop_index(
        op.f("ix_calendar_webhook_events_next_attempt_at"), table_name="calendar_webhook_events"
    )
    op.drop_table("calendar_webhook_events")
    op.drop_table("sweep_marks")
