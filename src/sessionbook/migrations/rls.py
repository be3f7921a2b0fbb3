"""PostgreSQL roles, grants and row-level security policies, shared by the revisions."""

from __future__ import annotations

from alembic import op

CUSTOMER = "sessionbook_customer"
SERVICE = "sessionbook_service"
ADMIN = "sessionbook_admin"
ROLES = (CUSTOMER, SERVICE, ADMIN)

# The customer's transaction sets this (set_config(..., true)) to the hash of its token.
TOKEN_HASH_SETTING = "current_setting('sessionbook.token_hash', true)"  # noqa: S105 - a setting name


def is_postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def create_roles() -> None:
    """NOLOGIN group roles the application switches to with SET LOCAL ROLE.

    Roles are cluster-wide, so creation is idempotent. The migrating user is made a member
    so that a single-user deployment can switch; a separate application login is granted
    the same membership by the operator (README, "PostgreSQL").
    """
    for role in ROLES:
        op.execute(
            f"DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') "
            f"THEN CREATE ROLE {role} NOLOGIN; END IF; END $$"
        )
        op.execute(f"GRANT {role} TO CURRENT_USER")
        op.execute(f"GRANT USAGE ON SCHEMA public TO {role}")


def grant(privileges: str, table: str, *roles: str) -> None:
    op.execute(f"GRANT {privileges} ON {table} TO {', '.join(roles)}")


def force_rls(table: str) -> None:
    """Row-level security that applies even to the table's owner."""
    op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")


def policy(name: str, table: str, role: str, using: str, check: str | None = None) -> None:
    op.execute(
        f"CREATE POLICY {name} ON {table} FOR ALL TO {role} "
        f"USING ({using}) WITH CHECK ({check or using})"
    )
