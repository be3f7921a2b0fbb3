"""Each sweep duty and operator view reads its rows through the partial index made for it, and
the bookings list pages by key: nothing it does grows with the bookings' history.

The plans are read on PostgreSQL with sequential scans switched off (the test tables are
small, and a planner may rightly prefer a scan there), so a plan that still names the index
proves the query can use it; bench/growth.py measures it at 1 million.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncSession

from sessionbook.admin.paging import cursor_after, parse_cursor
from sessionbook.admin.repository import AdminRepository
from sessionbook.admin.service import AdminService
from sessionbook.bookings.models import Booking
from sessionbook.bookings.repository import BookingRepository
from sessionbook.core.db import ADMIN, SERVICE, Actor, Database
from sessionbook.payments.repository import PaymentRepository
from sessionbook.scheduling.coach_repository import CoachChangeRepository
from sessionbook.scheduling.repository import ClaimRepository
from tests.conftest import DatabaseUnderTest

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
Query = Callable[[AsyncSession], Awaitable[Any]]

# The index each query must be able to read, and the query as the code runs it.
CASES: dict[str, tuple[Actor, Query]] = {
    "ix_bookings_links_to_deactivate": (
        SERVICE,
        lambda s: PaymentRepository(s).claim_links_to_deactivate(
            now=NOW, stale_before=NOW, limit=10
        ),
    ),
    "ix_bookings_expiry_candidates": (
        SERVICE,
        lambda s: BookingRepository(s).due_for_expiry(NOW, limit=10),
    ),
    "ix_bookings_paid_sessions_valid_until": (
        SERVICE,
        lambda s: BookingRepository(s).due_for_lapse(NOW, limit=10),
    ),
    "ix_bookings_schedule_lease_until": (
        SERVICE,
        lambda s: ClaimRepository(s).ids_with_lapsed_lease(NOW, limit=10),
    ),
    "ix_sessions_booked_end_time": (
        SERVICE,
        lambda s: CoachChangeRepository(s).upcoming_sessions(now=NOW, limit=10),
    ),
    "ix_webhook_events_open_id": (
        SERVICE,
        lambda s: PaymentRepository(s).claim_due_events(
            now=NOW, abandoned_before=NOW, lease_until=NOW, max_attempts=10, limit=10
        ),
    ),
    "ix_calendar_webhook_events_open_id": (
        SERVICE,
        lambda s: CoachChangeRepository(s).claim_due_events(
            now=NOW, lease_until=NOW, max_attempts=10, limit=10
        ),
    ),
    "ix_bookings_paid_waiting": (ADMIN, lambda s: AdminRepository(s).paid_not_scheduled(limit=10)),
    "ix_booking_events_payment_confirmed": (
        ADMIN,
        lambda s: AdminRepository(s).payments_confirmed_by_source(since=NOW),
    ),
    "ix_bookings_lower_customer_email": (
        ADMIN,
        lambda s: AdminRepository(s).search("someone@example", limit=10),
    ),
}


async def first_select(database: Database, role: Actor, query: Query) -> tuple[str, Any]:
    """The first SELECT the query sends (its statement and parameters); nothing it does stays."""
    seen: list[tuple[str, Any]] = []

    def remember(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if (
            statement.lstrip().upper().startswith(("SELECT", "WITH"))
            and "set_config" not in statement
        ):
            seen.append((statement, parameters))

    engine = database.engine.sync_engine
    event.listen(engine, "before_cursor_execute", remember)
    try:
        async with database.transaction(role) as session:
            await query(session)
            await session.rollback()
    finally:
        event.remove(engine, "before_cursor_execute", remember)
    assert seen, "the query sent no SELECT"
    return seen[0]


async def plan_of(database: Database, role: Actor, statement: str, parameters: Any) -> str:
    async with database.transaction(role) as session:
        connection = await session.connection()
        await connection.execute(text("SET LOCAL enable_seqscan = off"))
        found = await connection.exec_driver_sql(f"EXPLAIN {statement}", parameters)
        return "\n".join(str(row[0]) for row in found.all())


@pytest.mark.parametrize("index", list(CASES))
async def test_each_duty_and_view_reads_its_own_index(
    owner_db: Database, test_db: DatabaseUnderTest, index: str
) -> None:
    if test_db.backend == "sqlite":
        # The indexes exist there too and can serve these queries, but SQLite's planner picks
        # a partial index over an equality on status only with ANALYZE's statistics.
        pytest.skip("the plan is read from PostgreSQL; SQLite's depends on its statistics")
    role, query = CASES[index]
    statement, parameters = await first_select(owner_db, role, query)

    plan = await plan_of(owner_db, role, statement, parameters)

    assert index in plan, plan
    assert "Seq Scan on bookings" not in plan, plan


async def _add_bookings(
    database: Database,
    created: list[datetime],
    email: str,
    *,
    status: str = "cancelled",
    expired_at: datetime | None = None,
) -> list[uuid.UUID]:
    ids = []
    async with database.transaction(SERVICE) as session:
        repository = BookingRepository(session)
        for number, moment in enumerate(created):
            booking = Booking(
                token_hash=uuid.uuid4().hex + uuid.uuid4().hex,
                package_id="discovery",
                package_title="Discovery call",
                duration_minutes=30,
                sessions_total=1,
                valid_days=None,
                amount_cents=0,
                currency="USD",
                customer_name=f"Paged {number}",
                customer_email=email,
                booking_metadata={},
                status=status,
                payment_status="paid",
                expired_at=expired_at,
                cal_event_type_id=1001,
                expires_at=moment,
                created_at=moment,
                updated_at=moment,
            )
            await repository.add(booking)
            ids.append(booking.id)
    return ids


async def test_keyset_pages_show_every_booking_once_in_order(owner_db: Database) -> None:
    # Several at the very same moment: the id breaks the tie, so none is lost or repeated.
    moment = datetime(2019, 5, 1, 9, 0, tzinfo=UTC)
    created = [moment] * 5 + [moment - timedelta(seconds=n) for n in range(1, 6)]
    ours = set(await _add_bookings(owner_db, created, "paged@example.com"))
    admin = AdminService(database=owner_db, coach_timezone="UTC")

    seen: list[tuple[datetime, uuid.UUID]] = []
    before = None
    for _page in range(1000):
        rows = await admin.recent(limit=3, status="cancelled", before=before)
        seen.extend((row.booking.created_at, row.booking.id) for row in rows)
        if len(rows) < 3:
            break
        before = parse_cursor(cursor_after(rows[-1].booking))

    ids = [booking_id for _moment, booking_id in seen]
    assert len(ids) == len(set(ids))
    assert ours <= set(ids)
    assert seen == sorted(seen, reverse=True)


def test_a_cursor_keeps_the_microseconds_and_refuses_what_is_not_one() -> None:
    booking = Booking(id=uuid.uuid4(), created_at=datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC))

    assert parse_cursor(cursor_after(booking)) == (booking.created_at, booking.id)
    for wrong in ("", "2026-01-02", f"2026-01-02T03:04:05_{booking.id}x", f"soon_{booking.id}"):
        with pytest.raises(ValueError, match=r"page cursor|offset"):
            parse_cursor(wrong)


async def test_the_dashboard_counts_the_last_thirty_days_not_the_whole_history(
    owner_db: Database,
) -> None:
    admin = AdminService(database=owner_db, coach_timezone="UTC")
    now = datetime.now(UTC)
    before = (await admin.dashboard()).counts

    await _add_bookings(
        owner_db,
        [now - timedelta(days=41)],
        "old@example.com",
        status="expired",
        expired_at=now - timedelta(days=40),
    )
    await _add_bookings(
        owner_db,
        [now - timedelta(days=2)],
        "new@example.com",
        status="expired",
        expired_at=now - timedelta(days=1),
    )
    view = await admin.dashboard()

    assert view.changes_days == 30
    assert view.counts["expired"] == before.get("expired", 0) + 1
