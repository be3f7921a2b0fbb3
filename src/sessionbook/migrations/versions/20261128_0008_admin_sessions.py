"""Admin sign-in on the server: sessions that sign-out can end, and sign-in attempt counters.

Revision ID: 20261128_0008
Revises: 20261127_0007
Create Date: 2026-11-27

Both tables belong to the admin alone: on PostgreSQL only `sessionbook_admin` is granted them.
Cookies signed before this revision carry no session secret and are simply refused: every
admin signs in once more.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from sessionbook.migrations import rls

revision = "20261128_0008"
down_revision = "20261127_0007"
branch_labels = None
depends_on = None

UTC_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "admin_sessions",
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("public_id", sa.String(32), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("last_seen_at", UTC_TIME, nullable=False),
        sa.Column("expires_at", UTC_TIME, nullable=False),
        sa.Column("revoked_at", UTC_TIME, nullable=True),
        sa.Column("client_address", sa.String(64), nullable=False),
        sa.Column("user_agent", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("secret_hash", name=op.f("pk_admin_sessions")),
        sa.UniqueConstraint("public_id", name=op.f("uq_admin_sessions_public_id")),
    )
    op.create_index("ix_admin_sessions_expires_at", "admin_sessions", ["expires_at"])
    op.create_table(
        "admin_login_counters",
        sa.Column("key", sa.String(120), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_attempt_at", UTC_TIME, nullable=False),
        sa.Column("locked_until", UTC_TIME, nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_admin_login_counters")),
    )
    op.create_index(
        "ix_admin_login_counters_last_attempt_at", "admin_login_counters", ["last_attempt_at"]
    )
    if rls.is_postgresql():
        for table in ("admin_sessions", "admin_login_counters"):
            rls.grant("SELECT, INSERT, UPDATE, DELETE", table, rls.ADMIN)
            rls.force_rls(table)
            rls.policy(f"admin_all_{table}", table, rls.ADMIN, "true")


def downgrade() -> None:
    op.drop_index("ix_admin_login_counters_last_attempt_at", table_name="admin_login_counters")
    op.drop_table("admin_login_counters")
    op.drop_index("ix_admin_sessions_expires_at", table_name="admin_sessions")
    op.drop_table("admin_sessions")
