"""A free booking reads as "free" for operators, while the API keeps the contract's paid/0."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from unittest.mock import patch

import pytest
from typer.testing import CliRunner, Result

from sessionbook.cli.main import app
from tests.conftest import DatabaseUnderTest, RunningServer, run_server
from tests.operations.support import ADMIN_SETTINGS, FREE, create, sign_in


@pytest.fixture(scope="module")
def admin_server(test_db: DatabaseUnderTest) -> Iterator[RunningServer]:
    with run_server(test_db, **ADMIN_SETTINGS) as running:
        yield running


async def sessionbook(test_db: DatabaseUnderTest, *args: str) -> Result:
    env = {"DATABASE_URL": test_db.app_url, "COACH_TIMEZONE": "Europe/London", "LOG_LEVEL": "error"}
    with patch("sessionbook.core.logs.configure_logging", lambda **_: None):
        return await asyncio.to_thread(CliRunner().invoke, app, list(args), env=env)


async def test_a_free_booking_is_free_in_the_cli_and_paid_zero_in_the_api(
    test_db: DatabaseUnderTest, admin_server: RunningServer
) -> None:
    async with admin_server.client() as client:
        created = await create(client, {**FREE, "customerEmail": "free-cli@example.com"})
        status = await client.get(
            "/functions/v1/booking-status", params={"token": created["bookingToken"]}
        )

    shown = await sessionbook(test_db, "bookings", "show", created["bookingId"])
    listed = await sessionbook(test_db, "bookings", "search", "free-cli@example.com")

    booking = status.json()
    assert (booking["paymentStatus"], booking["amountCents"]) == ("paid", 0)
    assert shown.exit_code == 0, shown.output
    assert "package   discovery, free" in shown.stdout
    assert "payment free" in shown.stdout
    assert "0.00" not in shown.stdout
    row = next(line for line in listed.stdout.splitlines() if created["bookingId"] in line).split()
    package_column = row.index("discovery")
    # The booking's status stays "paid" (paid for, not yet scheduled); its payment is free.
    assert row[package_column + 1 : package_column + 4] == ["paid", "free", "free"]


async def test_a_free_booking_is_free_in_the_admin(admin_server: RunningServer) -> None:
    async with admin_server.client() as client:
        created = await create(client, {**FREE, "customerEmail": "free-admin@example.com"})
        assert (await sign_in(client)).status_code == 303
        listed = await client.get("/admin/bookings", params={"q": "free-admin@example.com"})
        detail = await client.get(f"/admin/bookings/{created['bookingId']}")

    row = listed.text[listed.text.index(created["bookingId"]) :]
    row = row[: row.index("</tr>")]
    assert "<td>free</td>" in row
    assert '<td class="number">free</td>' in row
    assert "0.00" not in row
    assert "<dt>Payment</dt><dd>free</dd>" in detail.text
    assert "0.00" not in detail.text
