"""booking-status in one round trip: a function that takes the customer's role, then reads.

`sessionbook_booking_status(token_hash)` switches the transaction to sessionbook_customer and
sets the token hash setting (both `set_config(..., true)`, as SET LOCAL does), then selects the
booking with that hash and its booked sessions. PL/pgSQL plans and checks each statement when
it runs, so the SELECT is checked against the customer role and its row-level security, as if
the client had sent the three statements itself. It is an ordinary function (SECURITY INVOKER:
PostgreSQL refuses SET ROLE inside SECURITY DEFINER), so a caller who is not a member of
sessionbook_customer gets "permission denied" and nothing else. Called as one statement outside
an explicit transaction, the settings end with that statement's own transaction.

Revision ID: 20261201_0015
Revises: 20261201_0014
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op

from sessionbook.migrations import rls

revision = "20261201_0015"
down_revision = "20261201_0014"
branch_labels = None
depends_on = None

# Output column names differ from the table names, so no PL/pgSQL variable shadows a table.
STATUS_FUNCTION = f"""
CREATE OR REPLACE FUNCTION sessionbook_booking_status(p_token_hash text)
RETURNS TABLE (booking_row public.bookings, live_sessions public.sessions[])
LANGUAGE plpgsql VOLATILE SECURITY INVOKER
AS $body$
BEGIN
    PERFORM set_config('role', '{rls.CUSTOMER}', true);
    PERFORM set_config('sessionbook.token_hash', p_token_hash, true);
    RETURN QUERY
        SELECT b,
               ARRAY(
                   SELECT s FROM public.sessions AS s
                   WHERE s.booking_id = b.id AND s.state = 'booked'
                   ORDER BY s.start_time, s.id
               )
        FROM public.bookings AS b
        WHERE b.token_hash = p_token_hash;
END
$body$
"""


def upgrade() -> None:
    if not rls.is_postgresql():
        return
    op.execute(STATUS_FUNCTION)


def downgrade() -> None:
    if not rls.is_postgresql():
        return
    op.execute("DROP FUNCTION IF EXISTS sessionbook_booking_status(text)")
