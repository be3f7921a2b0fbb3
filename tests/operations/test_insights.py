"""The coach's insights: exact figures from a known set of bookings, and the page showing them."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import event

from sessionbook.admin.insights import (
    Period,
    PeriodError,
    default_period,
    heat_map,
    median,
    parse_period,
    weeks_of,
)
from sessionbook.admin.insights_routes import axis_money, duration_text
from sessionbook.admin.insights_service import load_insights
from sessionbook.core.db import Database
from sessionbook.core.money import format_money
from tests.conftest import DatabaseUnderTest, RunningServer, run_server
from tests.operations import insights_data as known
from tests.operations.support import ADMIN_SETTINGS, sign_in

PARIS = ZoneInfo(known.ZONE)
PERIOD = {"from": known.FIRST_DAY, "to": known.LAST_DAY}
# A step of SQLite's plan that reads a time range or one row by key through an index.
BOUNDED = re.compile(r"USING .*INDEX .*\((?:.*\b(?:\w+_at|start_time)[<>]|(?:\w+_)?id=\?)")


@pytest.fixture(scope="module")
def insights_server(test_db: DatabaseUnderTest) -> Iterator[RunningServer]:
    with run_server(test_db, coach_timezone=known.ZONE, **ADMIN_SETTINGS) as running:
        yield running


@pytest.fixture(scope="module")
async def seeded(insights_server: RunningServer, owner_db: Database) -> known.Seeded:
    return await known.seed_known_bookings(owner_db)


@pytest.fixture
async def admin(insights_server: RunningServer) -> AsyncIterator[httpx.AsyncClient]:
    async with insights_server.client() as client:
        assert (await sign_in(client)).status_code == 303
        yield client


def usd(cents: int) -> str:
    return format_money(cents, "USD")


def table_rows(html: str, section_id: str) -> list[list[str]]:
    """The text of each body row of the first table in the section, cell by cell."""
    section = html.split(f'id="{section_id}"', 1)[1].split("</section>", 1)[0]
    body = section.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [
        [
            re.sub(r"<[^>]+>", "", cell).strip()
            for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row)
        ]
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]


# -- pure figures ------------------------------------------------------------------------


def test_the_dst_week_is_167_hours_and_weeks_start_at_midnight_in_paris() -> None:
    weeks = weeks_of(Period(date(2026, 3, 16), date(2026, 4, 5)), PARIS)
    assert [week.monday.isoformat() for week in weeks] == ["2026-03-16", "2026-03-23", "2026-03-30"]
    assert weeks[0].start == datetime(2026, 3, 15, 23, tzinfo=UTC)
    assert weeks[1].end - weeks[1].start == timedelta(hours=167)
    assert weeks[2].start == datetime(2026, 3, 29, 22, tzinfo=UTC)


def test_periods_snap_to_whole_weeks_and_bad_ones_are_refused() -> None:
    now = datetime(2026, 11, 30, 1, 30, tzinfo=UTC)  # Monday 02:30 in Paris
    default = default_period(now, PARIS)
    assert default == Period(date(2026, 9, 14), date(2026, 12, 6))
    assert default.week_count == 12
    assert parse_period("2026-03-18", "2026-03-31", now, PARIS) == Period(
        date(2026, 3, 16), date(2026, 4, 5)
    )
    for raw_from, raw_to, message in [
        ("2026-13-01", None, "YYYY-MM-DD"),
        ("2026-04-01", "2026-03-01", "ends before it starts"),
        ("2020-01-01", "2026-01-01", "at most 53 weeks"),
    ]:
        with pytest.raises(PeriodError, match=message):
            parse_period(raw_from, raw_to, now, PARIS)


def test_median_and_heat_map() -> None:
    assert median([]) is None
    assert median([3, 1, 2]) == 2
    assert median([4, 1, 2, 3]) == 2.5
    grid = heat_map(
        [(datetime(2026, 3, 29, 0, tzinfo=UTC), 2), (datetime(2026, 3, 29, 8, tzinfo=UTC), 1)],
        PARIS,
    )
    assert grid[6][1] == 2  # Sunday 01:00 CET, before the change
    assert grid[6][10] == 1  # Sunday 10:00 CEST, after it
    assert sum(map(sum, grid)) == 3


def test_axis_and_duration_labels() -> None:
    assert axis_money(60000, "USD") == "$600"
    assert axis_money(-20000, "USD") == "-$200"
    assert axis_money(12050, "EUR") == "€120.50"
    assert axis_money(5000, "JPY") == "¥5,000"
    assert duration_text(None) == "none yet"
    assert duration_text(timedelta(minutes=45)) == "45 min"
    assert duration_text(timedelta(hours=5, minutes=20)) == "5 h 20 min"
    assert duration_text(timedelta(days=2, hours=3, minutes=10)) == "2 d 3 h"


async def test_exact_figures_from_the_known_bookings(
    seeded: known.Seeded, owner_db: Database
) -> None:
    period = Period(date.fromisoformat(known.FIRST_DAY), date.fromisoformat(known.LAST_DAY))
    now = datetime.now(UTC)
    found = await load_insights(owner_db, period, zone=PARIS, currency="USD", now=now)

    weeks = [
        (
            w.week.monday.isoformat(),
            w.created,
            w.paid,
            w.scheduled,
            w.cancelled,
            w.expired,
            w.gross_cents,
            w.refunded_cents,
            w.net_cents,
        )
        for w in found.weeks
    ]
    assert weeks == known.WEEKS
    totals = found.totals
    assert (
        totals.created,
        totals.paid,
        totals.scheduled,
        totals.cancelled,
        totals.expired,
        totals.gross_cents,
        totals.refunded_cents,
        totals.net_cents,
    ) == known.TOTALS
    assert [(s.name, s.count, s.drop_off) for s in found.funnel] == known.FUNNEL
    assert [(m.label, m.gross_cents, m.refunded_cents, m.net_cents) for m in found.packages] == (
        known.PACKAGES
    )
    assert [(m.currency, m.gross_cents, m.refunded_cents) for m in found.other_currencies] == [
        ("EUR", 12000, 0)
    ]
    assert found.median_to_first_session == timedelta(seconds=known.MEDIAN_SECONDS)
    cells = {
        (day, hour): count
        for day, row in enumerate(found.heat_map)
        for hour, count in enumerate(row)
        if count
    }
    assert cells == known.HEAT
    assert [(s.customer_name, s.start) for s in found.upcoming] == [
        (seeded.upcoming_customer, seeded.upcoming_start)
    ]
    assert found.upcoming_total == 1
    assert [
        (u.title, u.bookings, u.sold, u.used, u.booked, u.lapsed, u.unbooked) for u in found.usage
    ] == [("Monthly package", 1, 4, 2, 0, 2, 0)]


async def test_every_insights_query_reads_an_index_never_a_whole_table(
    seeded: known.Seeded, owner_db: Database, test_db: DatabaseUnderTest
) -> None:
    """SQLite's plan of each statement the page runs: a table is only ever searched through an
    index (the catalog's few packages aside), so the page's cost follows the period, not the
    table. On PostgreSQL the same indexes serve (see bench/growth.py for the timings).
    """
    if test_db.backend != "sqlite":
        pytest.skip("the plan is read from SQLite; PostgreSQL's is measured by the benchmark")
    statements: list[tuple[str, Any]] = []

    def remember(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append((statement, parameters))

    period = Period(date.fromisoformat(known.FIRST_DAY), date.fromisoformat(known.LAST_DAY))
    event.listen(owner_db.engine.sync_engine, "before_cursor_execute", remember)
    try:
        await load_insights(owner_db, period, zone=PARIS, currency="USD", now=datetime.now(UTC))
    finally:
        event.remove(owner_db.engine.sync_engine, "before_cursor_execute", remember)

    assert len(statements) >= 10
    async with owner_db.engine.connect() as connection:
        for statement, parameters in statements:
            plan = await connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
            steps = [str(row[-1]) for row in plan.all()]
            whole_scans = [
                step
                for step in steps
                if re.match(r"(SCAN|SEARCH) (bookings|sessions|payment_refunds)\b", step)
                and not BOUNDED.search(step)
            ]
            assert not whole_scans, (statement, steps)


# -- the page ----------------------------------------------------------------------------


async def test_the_page_shows_the_figures_in_tables_beside_svg_charts(
    seeded: known.Seeded, admin: httpx.AsyncClient
) -> None:
    response = await admin.get("/admin/insights", params=PERIOD)

    assert response.status_code == 200
    html = response.text
    assert table_rows(html, "weekly-bookings") == [
        [monday, *(str(n) for n in counts[:5])] for monday, *counts in known.WEEKS
    ]
    assert table_rows(html, "weekly-revenue")[:3] == [
        [monday, usd(gross), usd(refunded), usd(net)]
        for monday, *_counts, gross, refunded, net in known.WEEKS
    ]
    assert '<tfoot><tr><th scope="row">Total</th><td class="number">7</td>' in html
    assert table_rows(html, "package-revenue") == [
        [title, usd(gross), usd(refunded), usd(net)]
        for title, gross, refunded, net in known.PACKAGES
    ]
    assert table_rows(html, "funnel") == [
        ["Created", "7", "100%", ""],
        ["Paid", "5", "71%", "2"],
        ["Scheduled", "2", "29%", "3"],
    ]
    assert "<strong data-median>1 d 22 h</strong>" in html
    other = html.split('id="other-currencies"', 1)[1].split("</table>", 1)[0]
    assert re.sub(r"<[^>]+>|\s", "", other).endswith("EUR€120.00€0.00€120.00")
    heat = table_rows(html, "heat-map")
    assert [row[0] for row in heat] == ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    assert {
        (day, hour): int(cell)
        for day, row in enumerate(heat)
        for hour, cell in enumerate(row[1:])
        if cell != "0"
    } == known.HEAT
    upcoming = table_rows(html, "upcoming")
    assert [row[2] for row in upcoming] == [seeded.upcoming_customer]
    assert upcoming[0][0] == f"{seeded.upcoming_start.astimezone(PARIS):%Y-%m-%d %H:%M}"
    assert table_rows(html, "package-usage") == [["Monthly package", "1", "4", "2", "0", "2", "0"]]
    # Five charts, each an accessible image with a title and a description; no script at all.
    assert html.count('role="img"') == 5
    assert html.count("<title id=") == 5
    assert html.count("<desc id=") == 5
    assert "<script" not in html
    assert "script-src 'self'" in response.headers["content-security-policy"]


async def test_without_a_period_the_page_shows_the_last_twelve_weeks(
    seeded: known.Seeded, admin: httpx.AsyncClient
) -> None:
    response = await admin.get("/admin/insights")

    assert response.status_code == 200
    rows = table_rows(response.text, "weekly-bookings")
    assert len(rows) == 12
    today = datetime.now(PARIS).date()
    assert rows[-1][0] == (today - timedelta(days=today.weekday())).isoformat()
    assert date.fromisoformat(rows[0][0]).weekday() == 0


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"from": "2026-02-30"}, "“from” must be a date written YYYY-MM-DD."),
        ({"from": "2026-03-01", "to": "soon"}, "“to” must be a date written YYYY-MM-DD."),
        ({"from": "2026-04-01", "to": "2026-03-01"}, "The period ends before it starts."),
        ({"from": "2020-01-01", "to": "2026-01-01"}, "Choose a period of at most 53 weeks."),
    ],
)
async def test_a_bad_period_gets_the_page_with_a_clear_message(
    admin: httpx.AsyncClient, params: dict[str, str], message: str
) -> None:
    response = await admin.get("/admin/insights", params=params)

    assert response.status_code == 400
    assert f'role="alert">{message}</p>' in response.text
    assert 'name="from"' in response.text  # the chooser is there to try again
    assert 'role="img"' not in response.text


async def test_the_page_needs_a_signed_in_admin(insights_server: RunningServer) -> None:
    async with insights_server.client() as client:
        response = await client.get("/admin/insights", params=PERIOD)

    assert response.status_code == 303
    assert response.headers["location"] == "/admin/login"
