"""The customer's language on each booking, so their emails are written in it.

Revision ID: 20261201_0012
Revises: 20261130_0011
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "20261201_0012"
down_revision = "20261130_0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("bookings") as batch:
        batch.add_column(sa.Column("customer_locale", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("bookings") as batch:
        batch.drop_column("customer_locale")
