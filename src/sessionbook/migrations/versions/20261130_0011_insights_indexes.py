"""Indexes for the admin insights: a period's bookings (created, paid with the money,
scheduled, cancelled, expired), live sessions by start, settled refunds by when they settled.

Revision ID: 20261130_0011
Revises: 20261130_0010
Create Date: 2026-11-30
"""

from __future__ import annotations

from alembic import op

revision = "20261130_0011"
down_revision = "20261130_0010"
branch_labels = None
depends_on = None

BOOKING_TIMES = ("scheduled_at", "cancelled_at", "expired_at")
# Covering indexes: each insights query reads the index alone, never the table's rows.
COVERING = {
    "ix_bookings_created_at_progress": ("bookings", ["created_at", "paid_at", "scheduled_at"]),
    "ix_bookings_paid_at_figures": (
        "bookings",
        ["paid_at", "currency", "amount_cents", "package_id", "sessions_total", "id"],
    ),
    "ix_sessions_state_start_time_booking_id": ("sessions", ["state", "start_time", "booking_id"]),
}


def upgrade() -> None:
    for column in BOOKING_TIMES:
        op.create_index(f"ix_bookings_{column}", "bookings", [column])
    for name, (table, columns) in COVERING.items():
        op.create_index(name, table, columns)
    op.create_index(
        "ix_payment_refunds_status_updated_at", "payment_refunds", ["status", "updated_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_payment_refunds_status_updated_at", table_name="payment_refunds")
    for name, (table, _columns) in reversed(COVERING.items()):
        op.drop_index(name, table_name=table)
    for column in reversed(BOOKING_TIMES):
        op.drop_index(f"ix_bookings_{column}", table_name="bookings")
