"""Nothing grows with history: partial indexes on the rows each sweep duty looks for, the
bookings' `payment_link_deactivated_at` (backfilled from the audit trail), indexes for the
bounded dashboard counts and the keyset-paginated lists; two indexes that were a prefix of
another go.

Revision ID: 20261201_0013
Revises: 20261201_0012
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from sessionbook.migrations import rls

revision = "20261201_0013"
down_revision = "20261201_0012"
branch_labels = None
depends_on = None

# The predicates as the models spell them (sessionbook.bookings.models and the others); written
# out here so that this revision keeps meaning what it meant when the models change.
PARTIAL = {
    "ix_bookings_links_to_deactivate": (
        "bookings",
        ["expires_at"],
        "payment_link_deactivated_at IS NULL AND payment_link_id IS NOT NULL"
        " AND status IN ('expired', 'cancelled') AND payment_status IN ('pending', 'failed')",
    ),
    "ix_bookings_expiry_candidates": (
        "bookings",
        ["expires_at"],
        "(status = 'pending' OR (status = 'paid' AND amount_cents = 0))",
    ),
    "ix_bookings_paid_sessions_valid_until": (
        "bookings",
        ["sessions_valid_until"],
        "status = 'paid' AND sessions_valid_until IS NOT NULL",
    ),
    "ix_bookings_schedule_lease_until": (
        "bookings",
        ["schedule_lease_until"],
        "schedule_lease_until IS NOT NULL",
    ),
    "ix_bookings_paid_waiting": ("bookings", ["paid_at", "created_at"], "status = 'paid'"),
    "ix_sessions_booked_end_time": ("sessions", ["end_time"], "state = 'booked'"),
    "ix_booking_events_payment_confirmed": (
        "booking_events",
        ["created_at", "source"],
        "event_type = 'payment_confirmed'",
    ),
    "ix_webhook_events_open_id": ("webhook_events", ["id"], "state IN ('received', 'failed')"),
    "ix_calendar_webhook_events_open_id": (
        "calendar_webhook_events",
        ["id"],
        "state IN ('received', 'failed')",
    ),
}
PLAIN = {
    "ix_bookings_status_created_at_id": ("bookings", ["status", "created_at", "id"]),
    "ix_webhook_events_received_at": ("webhook_events", ["received_at"]),
    "ix_outbox_created_at_state": ("outbox", ["created_at", "state"]),
}
# Each a prefix of a wider index that serves every query it served.
REDUNDANT = {
    "ix_bookings_created_at": ("bookings", ["created_at"]),  # ix_bookings_created_at_progress
    "ix_bookings_paid_at": ("bookings", ["paid_at"]),  # ix_bookings_paid_at_figures
}

# The operator's search by the start of an email or a name, in any case.
SEARCHED = ("customer_email", "customer_name")

# The time the audit trail says each link was stopped: the first such row of the booking.
BACKFILL = """
UPDATE bookings SET payment_link_deactivated_at = (
    SELECT min(booking_events.created_at) FROM booking_events
    WHERE booking_events.booking_id = bookings.id
      AND booking_events.event_type = 'payment_link_deactivated'
)
WHERE payment_link_id IS NOT NULL AND EXISTS (
    SELECT 1 FROM booking_events
    WHERE booking_events.booking_id = bookings.id
      AND booking_events.event_type = 'payment_link_deactivated'
)
"""


def upgrade() -> None:
    with op.batch_alter_table("bookings") as batch:
        batch.add_column(
            sa.Column("payment_link_deactivated_at", sa.DateTime(timezone=True), nullable=True)
        )
    postgresql = rls.is_postgresql()
    if postgresql:
        # The owner is subject to the forced row-level security, which has no policy for it:
        # lift it for the backfill, inside the migration's transaction.
        for table in ("bookings", "booking_events"):
            op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
    op.execute(BACKFILL)
    if postgresql:
        for table in ("bookings", "booking_events"):
            op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    for name, (table, columns, where) in PARTIAL.items():
        condition = sa.text(where)
        op.create_index(name, table, columns, postgresql_where=condition, sqlite_where=condition)
    for name, (table, columns) in PLAIN.items():
        op.create_index(name, table, columns)
    for name, (table, _columns) in REDUNDANT.items():
        op.drop_index(name, table_name=table)
    for column in SEARCHED:
        # text_pattern_ops: `LIKE 'start%'` uses the index whatever the database's collation.
        ops = " text_pattern_ops" if postgresql else ""
        op.create_index(
            f"ix_bookings_lower_{column}", "bookings", [sa.text(f"lower({column}){ops}")]
        )


def downgrade() -> None:
    for column in reversed(SEARCHED):
        op.drop_index(f"ix_bookings_lower_{column}", table_name="bookings")
    for name, (table, columns) in REDUNDANT.items():
        op.create_index(name, table, columns)
    for name, (table, _columns) in reversed(PLAIN.items()):
        op.drop_index(name, table_name=table)
    for name, (table, _columns, _where) in reversed(PARTIAL.items()):
        op.drop_index(name, table_name=table)
    with op.batch_alter_table("bookings") as batch:
        batch.drop_column("payment_link_deactivated_at")
