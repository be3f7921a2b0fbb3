"""Time each sweep duty's query and each admin or CLI view's queries, and EXPLAIN them.

Each named query is the repository or service call the code makes, run against the growth
database as the application's login under its own role (SERVICE for the sweep, ADMIN for the
views), once, to capture the SELECTs it sends; those are then run `rounds` times (after one
warm-up) in a transaction that is rolled back, and the median is kept: the machine is
shared, and one slow round says little. A sweep duty's claim is rolled back too, so the rows
it takes stay due for the next size.

With `explain`, every SELECT the call sent is captured (SQLAlchemy's before_cursor_execute)
and run again as `EXPLAIN (ANALYZE, BUFFERS)` with the same parameters, in a transaction of
the same role that is rolled back.
"""

from __future__ import annotations

import json
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession

from bench.seed import Seeded
from sessionbook.admin.export_repository import ExportReader
from sessionbook.admin.exports import ExportKind
from sessionbook.admin.paging import parse_cursor
from sessionbook.admin.service import AdminService
from sessionbook.bookings.repository import BookingRepository
from sessionbook.core.db import ADMIN, SERVICE, Database, utcnow
from sessionbook.notifications.outbox import OutboxRepository
from sessionbook.notifications.service import LAPSE_WARNING_LEAD, REMINDER_LEAD
from sessionbook.payments.repository import PaymentRepository
from sessionbook.scheduling.coach_repository import CoachChangeRepository
from sessionbook.scheduling.repository import ClaimRepository

COACH_TIMEZONE = "Europe/Paris"
# The sweep's own batch sizes and timings (bootstrap and the services' defaults).
BATCH = 100
EXPIRY_BATCH = 200
RECHECK_AFTER = timedelta(minutes=1)
WEBHOOK_LEASE = timedelta(minutes=2)
MAX_ATTEMPTS = 10
EMAIL_BATCH = 20
EMAIL_LEASE = timedelta(minutes=10)
COMPARE_BATCH = 500
PLAN_ROUNDS = 5


class _RollBack(Exception):
    """Raised inside a sweep query's transaction so that nothing it stamped stays."""


@dataclass(frozen=True)
class QueryTimes:
    """One query at one size: wall-clock of the whole call from here (median of the rounds),
    and the database's own execution time and pages touched (EXPLAIN ANALYZE of each SELECT
    the call sent, summed; the time a median of `PLAN_ROUNDS`). The pages are the steadiest
    measure on a busy machine: they count the work, not how long the CPU was ours."""

    name: str
    rounds: int
    median_ms: float
    fastest_ms: float
    slowest_ms: float
    rows: int
    database_ms: float
    buffers: int


@dataclass
class QueryBench:
    """The named queries against one database; `seeded` says which ids to ask about."""

    database: Database
    seeded: Seeded
    admin: AdminService = field(init=False)

    def __post_init__(self) -> None:
        self.admin = AdminService(database=self.database, coach_timezone=COACH_TIMEZONE)

    # -- the sweep ----------------------------------------------------------------------

    async def _sweep(self, use: Callable[[AsyncSession, datetime], Awaitable[Any]]) -> int:
        found: list[Any] = []
        try:
            async with self.database.transaction(SERVICE) as session:
                result = await use(session, utcnow())
                found.append(result)
                raise _RollBack
        except _RollBack:
            pass
        result = found[0]
        return len(result) if hasattr(result, "__len__") else int(bool(result))

    def sweep_queries(self) -> dict[str, Callable[[], Awaitable[int]]]:
        def bookings(session: AsyncSession) -> BookingRepository:
            return BookingRepository(session)

        def payments(session: AsyncSession) -> PaymentRepository:
            return PaymentRepository(session)

        async def emails(session: AsyncSession, now: datetime) -> list[Any]:
            outbox = OutboxRepository(session)
            rows = await outbox.claim_due(now, lease=EMAIL_LEASE, limit=EMAIL_BATCH)
            ids = {row.booking_id for row in rows if row.booking_id is not None}
            await outbox.bookings(ids)
            await outbox.live_sessions_of(ids)
            return list(rows)

        async def lapse_warnings(session: AsyncSession, now: datetime) -> list[Any]:
            outbox = OutboxRepository(session)
            lapsing = await outbox.bookings_lapsing(
                valid_until_after=now, valid_until_before=now + LAPSE_WARNING_LEAD, limit=1000
            )
            await outbox.live_sessions_of({booking.id for booking in lapsing})
            return list(lapsing)

        async def compare(session: AsyncSession, now: datetime) -> list[Any]:
            return list(
                await CoachChangeRepository(session).upcoming_sessions(now=now, limit=COMPARE_BATCH)
            )

        calls: dict[str, Callable[[AsyncSession, datetime], Awaitable[Any]]] = {
            "sweep: expired": lambda s, now: bookings(s).due_for_expiry(now, limit=EXPIRY_BATCH),
            "sweep: sessions_lapsed": lambda s, now: bookings(s).due_for_lapse(
                now, limit=EXPIRY_BATCH
            ),
            "sweep: webhooks_retried": lambda s, now: payments(s).claim_due_events(
                now=now,
                abandoned_before=now - WEBHOOK_LEASE,
                lease_until=now + WEBHOOK_LEASE,
                max_attempts=MAX_ATTEMPTS,
                limit=BATCH,
            ),
            "sweep: payments_reconciled": lambda s, now: payments(s).claim_pending_checks(
                now=now, stale_before=now - RECHECK_AFTER, limit=BATCH
            ),
            "sweep: payment_links_deactivated": lambda s, now: payments(
                s
            ).claim_links_to_deactivate(now=now, stale_before=now - RECHECK_AFTER, limit=BATCH),
            "sweep: refunds_followed": lambda s, now: payments(s).claim_unsettled_refunds(
                now=now, stale_before=now - RECHECK_AFTER, limit=BATCH
            ),
            "sweep: scheduling_recovered": lambda s, now: ClaimRepository(s).ids_with_lapsed_lease(
                now, limit=BATCH
            ),
            "sweep: calendar_cancelled": lambda s, now: ClaimRepository(
                s
            ).sessions_of_cancelled_bookings(now, limit=BATCH),
            "sweep: calendar_webhooks_retried": lambda s, now: CoachChangeRepository(
                s
            ).claim_due_events(
                now=now, lease_until=now + WEBHOOK_LEASE, max_attempts=MAX_ATTEMPTS, limit=BATCH
            ),
            "sweep: calendar_compared": compare,
            "sweep: reminders_queued": lambda s, now: OutboxRepository(s).sessions_to_remind(
                starting_after=now, starting_before=now + REMINDER_LEAD, limit=1000
            ),
            "sweep: lapse_warnings_queued": lapse_warnings,
            "sweep: emails_sent": emails,
        }
        return {name: self._bind(call) for name, call in calls.items()}

    def _bind(
        self, call: Callable[[AsyncSession, datetime], Awaitable[Any]]
    ) -> Callable[[], Awaitable[int]]:
        async def run() -> int:
            return await self._sweep(call)

        return run

    # -- the admin's views (the dashboard, its pages and the CLI's views) ---------------

    def view_queries(self) -> dict[str, Callable[[], Awaitable[int]]]:
        admin = self.admin
        present = self.seeded.present_booking
        history = self.seeded.history_booking or present
        assert present is not None
        assert history is not None

        async def dashboard() -> int:
            view = await admin.dashboard()
            return len(view.recent) + len(view.scheduled_today) + len(view.lapsing)

        async def deep_page() -> int:
            # A page far back in the history: keyset, so as cheap as the first.
            found = await admin.recent(limit=50, before=self._old_cursor())
            return len(found)

        async def detail(booking_id: uuid.UUID) -> int:
            found = await admin.detail(booking_id)
            return len(found.events)

        async def export_week() -> int:
            reader = ExportReader(self.database)
            now = utcnow()
            rows = 0
            async for batch in reader.batches(ExportKind.BOOKINGS, now - timedelta(days=7), now):
                rows += len(batch)
            return rows

        async def webhooks() -> int:
            health = await admin.webhook_health()
            return len(health.last_day)

        async def count(call: Awaitable[Any]) -> int:
            return len(await call)

        return {
            "admin: dashboard (whole page)": dashboard,
            "admin/CLI: bookings list, first page": lambda: count(admin.recent(limit=50)),
            "admin/CLI: bookings list, status=pending": lambda: count(
                admin.recent(limit=50, status="pending")
            ),
            "admin/CLI: bookings list, page in the history": deep_page,
            "CLI: bookings pending": lambda: count(admin.awaiting_payment(limit=50)),
            "CLI: bookings today": lambda: self._today(),
            "CLI: bookings unscheduled": lambda: count(admin.paid_not_scheduled(limit=50)),
            "admin/CLI: lapsing": lambda: count(admin.lapsing()),
            "admin/CLI: booking detail (present)": lambda: detail(present),
            "admin/CLI: booking detail (history)": lambda: detail(history),
            "CLI: webhooks": webhooks,
            "admin/CLI: search by email": lambda: count(
                admin.search(f"customer{self.seeded.rows // 2}@example.com")
            ),
            "admin/CLI: export bookings, last 7 days": export_week,
        }

    async def _today(self) -> int:
        _day, rows = await self.admin.scheduled_today(limit=50)
        return len(rows)

    def _old_cursor(self) -> tuple[datetime, uuid.UUID]:
        # Past every booking of the present: the page starts in the history (or at the end).
        moment = self.seeded.now - timedelta(days=365)
        return parse_cursor(f"{moment:%Y-%m-%dT%H:%M:%S.%fZ}_{'f' * 32}")

    def all_queries(self) -> dict[str, Callable[[], Awaitable[int]]]:
        return {**self.sweep_queries(), **self.view_queries()}

    # -- timing and plans ----------------------------------------------------------------

    async def time_all(
        self, *, rounds: int, vacuum: Callable[[], Awaitable[None]]
    ) -> list[QueryTimes]:
        """Each query's SELECTs, captured from one run of the code, then timed on their own.

        The sweep's claims stamp the rows they take; rolled back, each stamp would still leave
        a dead row version and index entries behind, which later rounds would have to step
        over. So the code runs once per query (to capture what it sends), the tables are
        vacuumed, and the rounds run the captured SELECTs (FOR UPDATE included) alone.
        """
        captured = []
        for name, call in self.all_queries().items():
            role = SERVICE if name.startswith("sweep") else ADMIN
            rows, statements = await self._statements_and_rows(call)
            captured.append((name, role, rows, statements))
        await vacuum()
        timings = []
        for name, role, rows, statements in captured:
            taken = []
            for _round in range(rounds + 1):
                started = time.perf_counter()
                await self._run(role, statements)
                taken.append((time.perf_counter() - started) * 1000)
            taken = taken[1:]  # the first round warms the caches, not counted
            database_ms, buffers = await self._server_side(role, statements)
            timings.append(
                QueryTimes(
                    name=name,
                    rounds=rounds,
                    median_ms=statistics.median(taken),
                    fastest_ms=min(taken),
                    slowest_ms=max(taken),
                    rows=rows,
                    database_ms=database_ms,
                    buffers=buffers,
                )
            )
        return timings

    async def _run(self, role: Any, statements: list[tuple[str, Any]]) -> None:
        try:
            async with self.database.transaction(role) as session:
                connection = await session.connection()
                for statement, parameters in statements:
                    (await connection.exec_driver_sql(statement, parameters)).all()
                raise _RollBack
        except _RollBack:
            pass

    async def _server_side(self, role: Any, statements: list[tuple[str, Any]]) -> tuple[float, int]:
        per_round: list[float] = []
        buffers = 0
        for round_number in range(PLAN_ROUNDS):
            total = 0.0
            for statement, parameters in statements:
                text = await self._explain(role, statement, parameters, as_json=True)
                plan = json.loads(text)[0]
                total += float(plan["Execution Time"])
                if round_number == 0:
                    top = plan["Plan"]
                    buffers += int(top.get("Shared Hit Blocks", 0))
                    buffers += int(top.get("Shared Read Blocks", 0))
            per_round.append(total)
        return statistics.median(per_round), buffers

    async def explain_all(
        self, vacuum: Callable[[], Awaitable[None]]
    ) -> list[tuple[str, str, str]]:
        """(query name, statement, EXPLAIN (ANALYZE, BUFFERS) text) for every SELECT sent."""
        captured = []
        for name, call in self.all_queries().items():
            role = SERVICE if name.startswith("sweep") else ADMIN
            captured.append((name, role, await self._statements_of(call)))
        await vacuum()
        plans = []
        for name, role, statements in captured:
            for statement, parameters in statements:
                plan = await self._explain(role, statement, parameters)
                plans.append((name, statement, plan))
        return plans

    async def _statements_of(self, call: Callable[[], Awaitable[int]]) -> list[tuple[str, Any]]:
        return (await self._statements_and_rows(call))[1]

    async def _statements_and_rows(
        self, call: Callable[[], Awaitable[int]]
    ) -> tuple[int, list[tuple[str, Any]]]:
        seen: list[tuple[str, Any]] = []

        def remember(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
            if (
                statement.lstrip().upper().startswith(("SELECT", "WITH"))
                and "set_config" not in statement
            ):
                seen.append((statement, parameters))

        engine = self.database.engine.sync_engine
        event.listen(engine, "before_cursor_execute", remember)
        try:
            rows = await call()
        finally:
            event.remove(engine, "before_cursor_execute", remember)
        return rows, seen

    async def _explain(
        self, role: Any, statement: str, parameters: Any, *, as_json: bool = False
    ) -> str:
        lines: list[str] = []
        options = "ANALYZE, BUFFERS, FORMAT JSON" if as_json else "ANALYZE, BUFFERS"
        try:
            async with self.database.transaction(role) as session:
                connection = await session.connection()
                result = await connection.exec_driver_sql(
                    f"EXPLAIN ({options}) {statement}", parameters
                )
                rows = [row[0] for row in result.all()]
                lines = [json.dumps(row) if not isinstance(row, str) else row for row in rows]
                raise _RollBack
        except _RollBack:
            pass
        return "\n".join(lines)
