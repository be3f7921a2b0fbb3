"""The coach's brand: one row, set in the admin, read by every customer page and email.

Revision ID: 20261201_0014
Revises: 20261201_0013
Create Date: 2026-12-01

The row is seeded with the neutral defaults (`configured` false), so a save is always an
update of a locked row. On PostgreSQL every role may read it; only the admin role may change it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from sessionbook.migrations import rls

revision = "20261201_0014"
down_revision = "20261201_0013"
branch_labels = None
depends_on = None

UTC_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    brand = op.create_table(
        "brand",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("business_name", sa.String(100), nullable=False),
        sa.Column("coach_name", sa.String(100), nullable=False),
        sa.Column("bio", sa.Text(), nullable=False),
        sa.Column("accent_color", sa.String(7), nullable=False),
        sa.Column("support_email", sa.String(254), nullable=True),
        sa.Column("default_language", sa.String(16), nullable=False),
        sa.Column("photo", sa.LargeBinary(), nullable=True),
        sa.Column("photo_content_type", sa.String(40), nullable=True),
        sa.Column("photo_version", sa.String(64), nullable=True),
        sa.Column("configured", sa.Boolean(), nullable=False),
        sa.Column("updated_by", sa.String(100), nullable=False),
        sa.Column("updated_at", UTC_TIME, nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_brand_single_row")),
        sa.CheckConstraint("length(accent_color) = 7", name=op.f("ck_brand_accent_color_shape")),
        sa.CheckConstraint(
            "(photo IS NULL) = (photo_version IS NULL) "
            "AND (photo IS NULL) = (photo_content_type IS NULL)",
            name=op.f("ck_brand_photo_complete"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_brand")),
    )
    op.get_bind().execute(
        brand.insert().values(
            id=1,
            business_name="",
            coach_name="",
            bio="",
            accent_color="#2f5d8a",
            support_email=None,
            default_language="en",
            configured=False,
            updated_by="migration",
            updated_at=sa.func.current_timestamp(),
        )
    )
    if rls.is_postgresql():
        _secure_postgresql()


def _secure_postgresql() -> None:
    # Pages read the brand as the customer role, emails as the service; only the admin writes.
    # No DELETE for anyone: the one row is updated, never removed.
    rls.grant("SELECT", "brand", rls.CUSTOMER, rls.SERVICE)
    rls.grant("SELECT, INSERT, UPDATE", "brand", rls.ADMIN)
    rls.force_rls("brand")
    for name, role in (("customer_read_brand", rls.CUSTOMER), ("service_read_brand", rls.SERVICE)):
        op.execute(f"CREATE POLICY {name} ON brand FOR SELECT TO {role} USING (true)")
    rls.policy("admin_all_brand", "brand", rls.ADMIN, "true")


def downgrade() -> None:
    op.drop_table("brand")
