"""Indexes for the admin insights: bookings by payment, scheduling, cancel and expiry time;
settled refunds by when they settled.

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

BOOKING_TIMES = ("paid_at", "scheduled_at", "cancelled_at", "expired_at")


def upgrade() -> None:
    for column in BOOKING_TIMES:
        op.create_index(f"ix_bookings_{column}", "bookings", [column])
    op.create_index(
        "ix_payment_refunds_status_updated_at", "payment_refunds", ["status", "updated_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_payment_refunds_status_updated_at", table_name="payment_refunds")
    for column in reversed(BOOKING_TIMES):
        op.drop_index(f"ix_bookings_{column}", table_name="bookings")
