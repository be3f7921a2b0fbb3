"""Indexes for the exports' date ranges: payments by paid_at, refunds by created_at.

Revision ID: 20261130_0010
Revises: 20261129_0009
Create Date: 2026-11-30
"""

from __future__ import annotations

from alembic import op

revision = "20261130_0010"
down_revision = "20261129_0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_bookings_paid_at", "bookings", ["paid_at"])
    op.create_index("ix_payment_refunds_created_at", "payment_refunds", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_payment_refunds_created_at", table_name="payment_refunds")
    op.drop_index("ix_bookings_paid_at", table_name="bookings")
