"""Unpaid bookings lapse on read and in the sweep; paid ones never expire by time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from sessionbook.core.db import Database
from sessionbook.monitoring.sweep import run_sweep
from tests.conftest import RunningServer
from tests.support.queries import booking_row, event_types, set_booking

PAID = {"packageId": "single", "customerName": "Test User", "customerEmail": "t@example.com"}
FREE = {**PAID, "packageId": "discovery"}
PAST = datetime.now(UTC) - timedelta(minutes=1)


async def test_unpaid_booking_expires_on_read(api: httpx.AsyncClient, owner_db: Database) -> None:
    created = (await api.post("/functions/v1/booking-create", json=PAID)).json()
    await set_booking(owner_db, created["bookingId"], expires_at=PAST)

    response = await api.get(
        "/functions/v1/booking-status", params={"token": created["bookingToken"]}
    )

    assert response.status_code == 200
    assert response.json()["status"] == "expired"
    assert response.json()["paymentUrl"] is None
    assert (await event_types(owner_db, created["bookingId"]))[-1] == "booking_expired"


async def test_sweep_expires_unpaid_and_unscheduled_free_bookings(
    api: httpx.AsyncClient, owner_db: Database, server: RunningServer
) -> None:
    unpaid = (await api.post("/functions/v1/booking-create", json=PAID)).json()
    free = (await api.post("/functions/v1/booking-create", json=FREE)).json()
    paid = (await api.post("/functions/v1/booking-create", json=PAID)).json()
    fresh = (await api.post("/functions/v1/booking-create", json=PAID)).json()
    for booking in (unpaid, free):
        await set_booking(owner_db, booking["bookingId"], expires_at=PAST)
    await set_booking(
        owner_db, paid["bookingId"], expires_at=PAST, status="paid", payment_status="paid"
    )

    async with server.local_services() as services:
        report = await run_sweep(services.sweep_duties)
        again = await run_sweep(services.sweep_duties)

    assert report.counts["expired"] >= 2
    assert again.counts["expired"] == 0
    assert (await booking_row(owner_db, unpaid["bookingId"])).status == "expired"
    assert (await booking_row(owner_db, free["bookingId"])).status == "expired"
    assert (await booking_row(owner_db, paid["bookingId"])).status == "paid"
    assert (await booking_row(owner_db, fresh["bookingId"])).status == "pending"
    assert (await event_types(owner_db, unpaid["bookingId"])).count("booking_expired") == 1
