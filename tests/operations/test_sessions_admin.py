"""What the operator sees of packages of several sessions: admin pages and the CLI."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from sessionbook.core.db import Database
from tests.conftest import DatabaseUnderTest, RunningServer, run_server
from tests.operations.support import ADMIN_SETTINGS, add_session, create, sign_in
from tests.operations.test_admin_pages import section
from tests.operations.test_cli import as_json, sessionbook
from tests.support.queries import set_booking

MONTHLY = {"packageId": "monthly", "customerName": "Mona Monthly"}


@pytest.fixture(scope="module")
def admin_server(test_db: DatabaseUnderTest) -> Iterator[RunningServer]:
    with run_server(test_db, **ADMIN_SETTINGS) as running:
        yield running


@pytest.fixture
async def admin(admin_server: RunningServer) -> AsyncIterator[httpx.AsyncClient]:
    async with admin_server.client() as client:
        assert (await sign_in(client)).status_code == 303
        yield client


async def paid_package(
    client: httpx.AsyncClient, owner_db: Database, email: str, *, valid_for: timedelta
) -> dict[str, Any]:
    """A paid monthly package whose sessions stay valid for `valid_for` from now."""
    created = await create(client, {**MONTHLY, "customerEmail": email})
    now = datetime.now(UTC).replace(microsecond=0)
    await set_booking(
        owner_db,
        created["bookingId"],
        status="paid",
        payment_status="paid",
        paid_at=now - timedelta(days=20),
        sessions_valid_until=now + valid_for,
    )
    return created


def in_days(days: float) -> datetime:
    return datetime.now(UTC).replace(microsecond=0) + timedelta(days=days)


async def test_lists_show_sessions_booked_of_total_and_the_lapsing_view(
    admin: httpx.AsyncClient, owner_db: Database
) -> None:
    soon = await paid_package(admin, owner_db, "lapsing-soon@example.com", valid_for=timedelta(5))
    sooner = await paid_package(
        admin, owner_db, "lapsing-first@example.com", valid_for=timedelta(2)
    )
    later = await paid_package(
        admin, owner_db, "lapsing-later@example.com", valid_for=timedelta(30)
    )
    full = await paid_package(admin, owner_db, "all-booked@example.com", valid_for=timedelta(3))
    await add_session(owner_db, soon["bookingId"], in_days(1))
    await add_session(owner_db, soon["bookingId"], in_days(3))
    for day in range(4):
        await add_session(owner_db, full["bookingId"], in_days(day + 0.5))
    await set_booking(owner_db, full["bookingId"], status="scheduled")

    dashboard = (await admin.get("/admin")).text
    lapsing = await admin.get("/admin/lapsing")
    listed = await admin.get("/admin/bookings", params={"q": "lapsing-soon@"})

    soon_rows = section(dashboard, "lapsing")
    assert soon_rows.index("lapsing-first@") < soon_rows.index("lapsing-soon@")
    assert "lapsing-later@" not in soon_rows
    assert "all-booked@" not in soon_rows
    assert 'href="/admin/lapsing"' in soon_rows
    assert lapsing.status_code == 200
    assert "Sessions left, lapsing within 14 days" in lapsing.text
    assert sooner["bookingId"] in lapsing.text
    assert later["bookingId"] not in lapsing.text
    assert "<th>Sessions</th><th>Valid until</th>" in listed.text
    assert '<td class="number" data-sessions>2/4</td>' in listed.text


async def test_booking_page_lists_its_sessions_and_suggests_the_unused_share(
    admin: httpx.AsyncClient, owner_db: Database
) -> None:
    created = await paid_package(admin, owner_db, "used@example.com", valid_for=timedelta(11))
    await add_session(owner_db, created["bookingId"], in_days(-2))  # had it already
    await add_session(owner_db, created["bookingId"], in_days(2), state="cancelled")
    await add_session(owner_db, created["bookingId"], in_days(4))

    page = await admin.get(f"/admin/bookings/{created['bookingId']}")
    refund = await admin.get(f"/admin/bookings/{created['bookingId']}/refund")

    assert page.status_code == 200
    assert 'data-testid="sessions-count">2/4 booked, 2 left</dd>' in page.text
    sessions = section(page.text, "sessions")
    assert sessions.count("<tr>") == 4  # a header and three sessions, the cancelled one too
    assert "cancelled" in sessions
    # $500 for 4 sessions, 1 used: 3/4 of it.
    assert "$375.00 (3 of 4 sessions unused" in page.text
    assert "1 of 4 sessions are used" in refund.text
    assert 'value="375.00"' in refund.text


async def test_cli_shows_sessions_lapsing_and_asks_for_an_amount_on_a_used_package(
    test_db: DatabaseUnderTest, admin: httpx.AsyncClient, owner_db: Database
) -> None:
    created = await paid_package(admin, owner_db, "cli-pack@example.com", valid_for=timedelta(6))
    booking_id = created["bookingId"]
    await add_session(owner_db, booking_id, in_days(-3))
    await add_session(owner_db, booking_id, in_days(2))

    listed = as_json(await sessionbook(test_db, "bookings", "list", "--json", "--limit", "1000"))
    lapsing = as_json(await sessionbook(test_db, "bookings", "lapsing", "--days", "7", "--json"))
    narrow = as_json(await sessionbook(test_db, "bookings", "lapsing", "--days", "5", "--json"))
    shown = as_json(await sessionbook(test_db, "bookings", "show", booking_id, "--json"))
    text = await sessionbook(test_db, "bookings", "show", booking_id)
    refund = await sessionbook(test_db, "refund", booking_id)

    [row] = [row for row in listed if row["id"] == booking_id]
    assert (row["sessionsBooked"], row["sessionsTotal"], row["sessionsRemaining"]) == (2, 4, 2)
    assert row["sessionsValidUntil"].endswith("Z")
    assert booking_id in {row["id"] for row in lapsing}
    assert booking_id not in {row["id"] for row in narrow}
    assert len(shown["sessions"]) == 2
    assert shown["suggestedRefundCents"] == 37500
    assert "sessions  2/4 booked, 2 left, valid until " in text.stdout
    assert "suggested refund --amount 37500 ($375.00" in text.stdout
    assert refund.exit_code == 2
    assert "partly used" in refund.stderr
    assert "--amount 37500" in refund.stderr


async def test_a_single_session_booking_shows_one_of_one_and_no_suggestion(
    test_db: DatabaseUnderTest, admin: httpx.AsyncClient, owner_db: Database
) -> None:
    created = await create(admin, {"packageId": "single", "customerName": "Sam Single",
                                   "customerEmail": "single@example.com"})  # fmt: skip
    await set_booking(owner_db, created["bookingId"], status="scheduled", payment_status="paid")
    await add_session(owner_db, created["bookingId"], in_days(-1))

    shown = as_json(await sessionbook(test_db, "bookings", "show", created["bookingId"], "--json"))
    page = await admin.get(f"/admin/bookings/{created['bookingId']}")

    assert shown["suggestedRefundCents"] is None
    assert (shown["booking"]["sessionsBooked"], shown["booking"]["sessionsTotal"]) == (1, 1)
    assert 'data-testid="sessions-count">1/1 booked, 0 left</dd>' in page.text
    assert "suggested-refund" not in page.text
