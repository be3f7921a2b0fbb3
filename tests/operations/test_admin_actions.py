"""Admin actions through the dashboard, each behind a confirmation page: resend, refund."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select

from sessionbook.core.db import SERVICE, Database
from sessionbook.notifications.models import OutboxMessage
from sessionbook.payments.models import PaymentRefund
from tests.conftest import DatabaseUnderTest, RunningServer, run_server
from tests.operations.support import (
    ADMIN_SETTINGS,
    FREE,
    PAID,
    add_session,
    admin_post,
    create,
    pay,
    sign_in,
)
from tests.support.queries import audit_trail, booking_row, set_booking


@pytest.fixture(scope="module")
def admin_server(test_db: DatabaseUnderTest) -> Iterator[RunningServer]:
    with run_server(test_db, **ADMIN_SETTINGS) as running:
        yield running


@pytest.fixture
async def admin(admin_server: RunningServer) -> AsyncIterator[httpx.AsyncClient]:
    async with admin_server.client() as client:
        assert (await sign_in(client)).status_code == 303
        yield client


async def outbox_rows(database: Database, booking_id: str) -> list[OutboxMessage]:
    async with database.transaction(SERVICE) as session:
        statement = select(OutboxMessage).where(OutboxMessage.booking_id == uuid.UUID(booking_id))
        return list((await session.execute(statement)).scalars().all())


async def refund_rows(database: Database, booking_id: str) -> list[PaymentRefund]:
    async with database.transaction(SERVICE) as session:
        statement = select(PaymentRefund).where(PaymentRefund.booking_id == uuid.UUID(booking_id))
        return list((await session.execute(statement)).scalars().all())


async def scheduled_booking(client: httpx.AsyncClient, owner_db: Database) -> str:
    created = await create(client, FREE)
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
    await set_booking(owner_db, created["bookingId"], status="scheduled")
    await add_session(owner_db, created["bookingId"], start, minutes=30)
    booking_id: str = created["bookingId"]
    return booking_id


async def test_resend_confirmation_queues_a_fresh_email_each_time(
    admin: httpx.AsyncClient, owner_db: Database
) -> None:
    booking_id = await scheduled_booking(admin, owner_db)
    path = f"/admin/bookings/{booking_id}/resend"

    confirm = await admin.get(path)
    first = await admin_post(admin, path)
    second = await admin_post(admin, path)

    assert confirm.status_code == 200
    assert "Send the confirmation again?" in confirm.text
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == f"/admin/bookings/{booking_id}?done=resend"
    rows = await outbox_rows(owner_db, booking_id)
    assert [(row.kind, row.state) for row in rows] == [("booking_confirmed", "pending")] * 2
    assert len({row.dedupe_key for row in rows}) == 2
    resent = [e for e in await audit_trail(owner_db, booking_id) if e.source == "admin"]
    assert [e.event_type for e in resent] == ["confirmation_resent"] * 2
    page = await admin.get(first.headers["location"])
    assert "The confirmation email was queued." in page.text


async def test_resend_is_refused_for_a_booking_that_is_not_scheduled(
    admin: httpx.AsyncClient, owner_db: Database
) -> None:
    created = await create(admin, FREE)

    answer = await admin_post(admin, f"/admin/bookings/{created['bookingId']}/resend")

    assert answer.status_code == 409
    assert "Only a scheduled booking" in answer.text
    assert await outbox_rows(owner_db, created["bookingId"]) == []


async def test_refund_from_the_dashboard_goes_through_the_payment_service(
    admin: httpx.AsyncClient, admin_server: RunningServer, owner_db: Database
) -> None:
    created = await create(admin, PAID)
    await pay(admin, admin_server.url + "/sandbox/airwallex", created)
    path = f"/admin/bookings/{created['bookingId']}/refund"

    confirm = await admin.get(path)
    bad_amount = await admin_post(admin, path, amount="12.345", reason="typo")
    too_much = await admin_post(admin, path, amount="150.01", reason="too much")
    done = await admin_post(admin, path, amount="40.00", reason="  partial   goodwill ")

    assert confirm.status_code == 200
    assert 'value="150.00"' in confirm.text  # the whole remaining amount is proposed
    assert bad_amount.status_code == 400
    assert "not a valid amount" in bad_amount.text
    assert too_much.status_code == 409
    assert done.status_code == 303, done.text
    refunds = await refund_rows(owner_db, created["bookingId"])
    assert [(r.amount_cents, r.reason) for r in refunds] == [(4000, "partial goodwill")]
    assert "refund" in " ".join(
        e.event_type for e in await audit_trail(owner_db, created["bookingId"])
    )


async def test_refund_of_a_free_booking_is_not_offered_nor_accepted(
    admin: httpx.AsyncClient, owner_db: Database
) -> None:
    created = await create(admin, FREE)
    detail = await admin.get(f"/admin/bookings/{created['bookingId']}")

    answer = await admin_post(
        admin, f"/admin/bookings/{created['bookingId']}/refund", amount="1.00", reason="no"
    )

    assert "/refund" not in detail.text
    assert answer.status_code in (400, 409)
    assert await refund_rows(owner_db, created["bookingId"]) == []
    assert (await booking_row(owner_db, created["bookingId"])).payment_status == "paid"


async def test_admin_cancels_inside_the_customer_cutoff_and_refunds_in_full(
    admin: httpx.AsyncClient, admin_server: RunningServer, owner_db: Database
) -> None:
    created = await create(admin, PAID)
    await pay(admin, admin_server.url + "/sandbox/airwallex", created)
    token = {"X-Booking-Token": created["bookingToken"]}
    today = datetime.now(UTC).date()
    slots = await admin.get(
        "/functions/v1/booking-slots",
        params={"start": today.isoformat(), "end": (today + timedelta(days=1)).isoformat()},
        headers=token,
    )
    slot = slots.json()["slots"][0]  # the sandbox coach works daily: always within 24 hours
    booked = await admin.post(
        "/functions/v1/booking-schedule",
        json={
            "bookingToken": created["bookingToken"],
            "startTime": slot["start"],
            "endTime": slot["end"],
        },
    )
    assert booked.status_code == 200, booked.text
    by_customer = await admin.post(
        "/functions/v1/booking-cancel", json={"bookingToken": created["bookingToken"]}
    )

    by_admin = await admin_post(
        admin, f"/admin/bookings/{created['bookingId']}/cancel", reason="coach is ill"
    )

    assert by_customer.status_code == 409  # too close to the start for the customer
    assert by_admin.status_code == 303, by_admin.text
    assert (await booking_row(owner_db, created["bookingId"])).status == "cancelled"
    mine = [
        (e.event_type, e.source)
        for e in await audit_trail(owner_db, created["bookingId"])
        if e.source == "admin"
    ]
    assert mine[0] == ("cancellation_started", "admin")
    assert ("calendar_booking_cancelled", "admin") in mine
    assert mine[-1] == ("booking_cancelled", "admin")
    [refund] = await refund_rows(owner_db, created["bookingId"])
    assert (refund.amount_cents, refund.reason) == (15000, "Cancelled by the coach")
