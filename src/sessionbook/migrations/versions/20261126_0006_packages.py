"""Packages in the database, their audit trail, and each booking's snapshot of its package.

Revision ID: 20261126_0006
Revises: 20261125_0005
Create Date: 2026-11-26

The packages are seeded from the defaults, SESSIONBOOK_CATALOG, CURRENCY and the
CAL_<PACKAGE>_EVENT_TYPE_ID variables (the settings `sessionbook migrate` runs with), and every
existing booking copies the package it names, so later edits change new bookings only.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import context, op

from sessionbook.catalog.defaults import seed_packages
from sessionbook.core.migrate import SEED_SETTINGS
from sessionbook.core.settings import Settings, load_settings
from sessionbook.migrations import rls

revision = "20261126_0006"
down_revision = "20261125_0005"
branch_labels = None
depends_on = None

UTC_TIME = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(sa.JSON(none_as_null=True), "postgresql")
# The names the audit trail uses (as `catalog.service.package_facts` writes them).
_AUDIT_NAMES = {
    "title": "title",
    "description": "description",
    "price_cents": "priceCents",
    "currency": "currency",
    "duration_minutes": "durationMinutes",
    "sessions": "sessions",
    "valid_days": "validDays",
    "cal_event_type_id": "calEventTypeId",
    "active": "active",
    "position": "position",
}
_PACKAGE_CHECK = "package_id IN ('discovery', 'single', 'monthly', 'quarterly')"


def _settings() -> Settings:
    given = context.config.attributes.get(SEED_SETTINGS)
    return given if isinstance(given, Settings) else load_settings()


def upgrade() -> None:
    packages = op.create_table(
        "packages",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("price_cents", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.Column("sessions", sa.Integer(), nullable=False),
        sa.Column("valid_days", sa.Integer(), nullable=True),
        sa.Column("cal_event_type_id", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("updated_at", UTC_TIME, nullable=False),
        sa.CheckConstraint("price_cents >= 0", name=op.f("ck_packages_price_not_negative")),
        sa.CheckConstraint(
            "sessions >= 1 AND sessions <= 100", name=op.f("ck_packages_sessions_range")
        ),
        sa.CheckConstraint(
            "valid_days IS NULL OR valid_days >= 1", name=op.f("ck_packages_valid_days_positive")
        ),
        sa.CheckConstraint(
            "duration_minutes >= 5 AND duration_minutes <= 480",
            name=op.f("ck_packages_duration_range"),
        ),
        sa.CheckConstraint("length(currency) = 3", name=op.f("ck_packages_currency_code")),
        sa.CheckConstraint("cal_event_type_id > 0", name=op.f("ck_packages_event_type_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_packages")),
    )
    op.create_index("ix_packages_position", "packages", ["position"])
    changes = op.create_table(
        "package_changes",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("package_id", sa.String(40), nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("changed_by", sa.String(100), nullable=False),
        sa.Column("client_address", sa.String(64), nullable=True),
        sa.Column("before", JSON, nullable=True),
        sa.Column("after", JSON, nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["package_id"],
            ["packages.id"],
            name=op.f("fk_package_changes_package_id_packages"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_package_changes")),
    )
    op.create_index("ix_package_changes_package_id_id", "package_changes", ["package_id", "id"])
    _seed(packages, changes)
    _snapshot_bookings()
    if rls.is_postgresql():
        _secure_postgresql()


def _seed(packages: sa.Table, changes: sa.Table) -> None:
    now = sa.func.current_timestamp()
    rows: list[dict[str, Any]] = []
    audit: list[dict[str, Any]] = []
    for position, seed in enumerate(seed_packages(_settings())):
        row = {
            "id": seed.id,
            "title": seed.title,
            "description": seed.description,
            "price_cents": seed.price_cents,
            "currency": seed.currency,
            "duration_minutes": seed.duration_minutes,
            "sessions": seed.sessions,
            "valid_days": seed.valid_days,
            "cal_event_type_id": seed.cal_event_type_id,
            "active": True,
            "position": position,
        }
        rows.append(row)
        after = {_AUDIT_NAMES[key]: value for key, value in row.items() if key != "id"}
        audit.append(
            {"package_id": seed.id, "action": "seeded", "changed_by": "migration", "after": after}
        )
    bind = op.get_bind()
    for row in rows:
        bind.execute(packages.insert().values(**row, created_at=now, updated_at=now))
    for change in audit:
        bind.execute(changes.insert().values(**change, client_address=None, created_at=now))


def _snapshot_bookings() -> None:
    with op.batch_alter_table("bookings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("package_title", sa.String(200), nullable=True))
        batch_op.add_column(sa.Column("duration_minutes", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("sessions_total", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("valid_days", sa.Integer(), nullable=True))
    postgresql = rls.is_postgresql()
    if postgresql:
        # The owner is subject to bookings' forced row-level security, which has no policy
        # for it: lift it for this one statement, inside the migration's transaction.
        op.execute("ALTER TABLE bookings NO FORCE ROW LEVEL SECURITY")

    def of_package(column: str) -> str:
        return f"(SELECT packages.{column} FROM packages WHERE packages.id = bookings.package_id)"

    op.execute(
        "UPDATE bookings SET "
        f"package_title = {of_package('title')}, "
        f"duration_minutes = {of_package('duration_minutes')}, "
        f"sessions_total = {of_package('sessions')}, "
        f"valid_days = {of_package('valid_days')}, "
        f"cal_event_type_id = COALESCE(cal_event_type_id, {of_package('cal_event_type_id')})"
    )
    if postgresql:
        op.execute("ALTER TABLE bookings FORCE ROW LEVEL SECURITY")
    with op.batch_alter_table("bookings", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_bookings_package_valid"), type_="check")
        batch_op.alter_column(
            "package_id", existing_type=sa.String(20), type_=sa.String(40), nullable=False
        )
        batch_op.alter_column("package_title", existing_type=sa.String(200), nullable=False)
        batch_op.alter_column("duration_minutes", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column("sessions_total", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column("cal_event_type_id", existing_type=sa.Integer(), nullable=False)
        batch_op.create_foreign_key(
            op.f("fk_bookings_package_id_packages"),
            "packages",
            ["package_id"],
            ["id"],
            ondelete="RESTRICT",
        )


def _secure_postgresql() -> None:
    rls.grant("SELECT", "packages", rls.CUSTOMER)
    # No DELETE for anyone: a package is deactivated, never removed, and its id never reused.
    rls.grant("SELECT, INSERT, UPDATE", "packages", rls.SERVICE, rls.ADMIN)
    rls.force_rls("packages")
    rls.policy("customer_active_packages", "packages", rls.CUSTOMER, "active")
    rls.policy("service_all_packages", "packages", rls.SERVICE, "true")
    rls.policy("admin_all_packages", "packages", rls.ADMIN, "true")
    # The audit trail is append-only: no UPDATE or DELETE is ever granted.
    rls.grant("SELECT, INSERT", "package_changes", rls.SERVICE, rls.ADMIN)
    rls.grant("USAGE", "SEQUENCE package_changes_id_seq", rls.SERVICE, rls.ADMIN)
    rls.force_rls("package_changes")
    rls.policy("service_all_package_changes", "package_changes", rls.SERVICE, "true")
    rls.policy("admin_all_package_changes", "package_changes", rls.ADMIN, "true")


def downgrade() -> None:
    # Bookings of a package created in the admin do not fit the old check: the database then
    # refuses the downgrade and nothing changes, which is the honest answer.
    with op.batch_alter_table("bookings", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("fk_bookings_package_id_packages"), type_="foreignkey")
        batch_op.drop_column("valid_days")
        batch_op.drop_column("sessions_total")
        batch_op.drop_column("duration_minutes")
        batch_op.drop_column("package_title")
        batch_op.alter_column("cal_event_type_id", existing_type=sa.Integer(), nullable=True)
        batch_op.alter_column(
            "package_id", existing_type=sa.String(40), type_=sa.String(20), nullable=False
        )
        batch_op.create_check_constraint(op.f("ck_bookings_package_valid"), _PACKAGE_CHECK)
    op.drop_table("package_changes")
    op.drop_index("ix_packages_position", table_name="packages")
    op.drop_table("packages")
