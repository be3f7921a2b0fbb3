"""Operations: an outbox message may end "skipped" when its news went stale before sending.

Revision ID: 20261125_0005
Revises: 20261125_0002
Create Date: 2026-11-25
"""

from __future__ import annotations

from alembic import op

revision = "20261125_0005"
down_revision = "20261125_0002"
branch_labels = None
depends_on = None

_NAME = "ck_outbox_state_valid"


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_constraint(op.f(_NAME), type_="check")
        batch_op.create_check_constraint(
            op.f(_NAME), "state IN ('pending', 'sent', 'failed', 'skipped')"
        )


def downgrade() -> None:
    # A skipped message was never sent and never will be: "failed" is the honest old word.
    op.execute("UPDATE outbox SET state = 'failed' WHERE state = 'skipped'")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_constraint(op.f(_NAME), type_="check")
        batch_op.create_check_constraint(op.f(_NAME), "state IN ('pending', 'sent', 'failed')")
