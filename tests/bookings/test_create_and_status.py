"""booking-create and booking-status through HTTP, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from sessionbook.bookings.tokens import hash_token
from sessionbook.core.db import Database
from tests.conftest import RunningServer
from tests.support.queries import booking_row, event_types, parse_utc

FREE = {"packageId": "discovery", "customerName": "Test User", "customerEmail": "test@example.com"}
PAID = {"packageId": "single", "customerName": "Test User", "customerEmail": "test@example.com"}


async def test_free_booking_is_paid_at_once(api: httpx.AsyncClient, owner_db: Database) -> None:
    response = await api.post("/functions/v1/booking-create", json=FREE)

    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {"bookingToken", "bookingId", "requiresPayment", "paymentUrl", "expiresAt"}
    assert body["requiresPayment"] is False
    assert body["paymentUrl"] is None
    assert len(body["bookingToken"]) == 43
    expires = parse_utc(body["expiresAt"])
    assert timedelta(days=89) < expires - datetime.now(UTC) <= timedelta(days=90)

    row = await booking_row(owner_db, body["bookingId"])
    assert (row.status, row.payment_status, row.amount_cents) == ("paid", "paid", 0)
    assert row.token_hash == hash_token(body["bookingToken"])
    assert body["bookingToken"] not in repr(row.__dict__)
    assert await event_types(owner_db, body["bookingId"]) == ["booking_created"]


async def test_status_shows_the_original_fields(api: httpx.AsyncClient) -> None:
    created = (await api.post("/functions/v1/booking-create", json=FREE)).json()

    response = await api.get(
        "/functions/v1/booking-status", params={"token": created["bookingToken"]}
    )

    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["id"] == created["bookingId"]
    assert body["status"] == "paid"
    assert body["paymentStatus"] == "paid"
    assert body["packageId"] == "discovery"
    assert body["amountCents"] == 0
    assert body["currency"] == "USD"
    assert body["customerName"] == "Test User"
    assert body["customerEmail"] == "test@example.com"
    for absent in ("scheduledStart", "scheduledEnd", "meetingUrl", "calBookingId", "paymentUrl"):
        assert body[absent] is None
    assert body["expiresAt"] == created["expiresAt"]
    parse_utc(body["createdAt"])


async def test_status_accepts_the_token_header(api: httpx.AsyncClient) -> None:
    created = (await api.post("/functions/v1/booking-create", json=FREE)).json()

    response = await api.get(
        "/functions/v1/booking-status", headers={"X-Booking-Token": created["bookingToken"]}
    )

    assert response.status_code == 200
    assert response.json()["id"] == created["bookingId"]


async def test_paid_booking_gets_a_payment_link(
    api: httpx.AsyncClient, owner_db: Database, server: RunningServer
) -> None:
    response = await api.post("/functions/v1/booking-create", json=PAID)

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["requiresPayment"] is True
    assert body["paymentUrl"].startswith(server.url + "/sandbox/airwallex/")
    assert body["bookingToken"] not in body["paymentUrl"]
    expires = parse_utc(body["expiresAt"])
    assert timedelta(hours=23) < expires - datetime.now(UTC) <= timedelta(hours=24)

    row = await booking_row(owner_db, body["bookingId"])
    assert (row.status, row.payment_status) == ("pending", "pending")
    assert row.amount_cents == 15000
    assert (row.package_title, row.duration_minutes, row.sessions_total) == (
        "Single session",
        60,
        1,
    )
    assert row.payment_link_id
    assert await event_types(owner_db, body["bookingId"]) == [
        "booking_created",
        "payment_link_created",
    ]
    status = (
        await api.get("/functions/v1/booking-status", params={"token": body["bookingToken"]})
    ).json()
    assert status["status"] == "pending"
    assert status["paymentUrl"] == body["paymentUrl"]


async def test_every_package_is_priced_by_the_server(
    api: httpx.AsyncClient, owner_db: Database, server: RunningServer
) -> None:
    packages = (await api.get("/functions/v1/packages")).json()["packages"]
    assert len(packages) >= 4
    for package in packages:
        payload = {**FREE, "packageId": package["id"]}
        body = (await api.post("/functions/v1/booking-create", json=payload)).json()
        row = await booking_row(owner_db, body["bookingId"])
        assert row.amount_cents == package["amountCents"]
        assert row.currency == package["currency"]
        assert (row.package_title, row.duration_minutes) == (
            package["title"],
            package["durationMinutes"],
        )
        assert (row.sessions_total, row.valid_days) == (package["sessions"], package["validDays"])
        assert body["requiresPayment"] is package["requiresPayment"]


async def test_strings_are_trimmed_before_checks_and_storage(
    api: httpx.AsyncClient, owner_db: Database
) -> None:
    payload = {
        "packageId": "discovery",
        "customerName": "  Ada Lovelace  ",
        "customerEmail": " ada@example.com ",
        "customerPhone": " +44 20 7946 0000 ",
        "notes": "  hello  ",
        "metadata": {"source": "newsletter", "visits": 3, "returning": True, "score": 1.5},
    }
    body = (await api.post("/functions/v1/booking-create", json=payload)).json()

    row = await booking_row(owner_db, body["bookingId"])
    assert row.customer_name == "Ada Lovelace"
    assert row.customer_email == "ada@example.com"
    assert row.customer_phone == "+44 20 7946 0000"
    assert row.notes == "hello"
    assert row.booking_metadata == {
        "source": "newsletter",
        "visits": 3,
        "returning": True,
        "score": 1.5,
    }


async def test_unknown_and_malformed_tokens_are_not_found(api: httpx.AsyncClient) -> None:
    for token in ("A" * 43, "short", "!" * 43, "A" * 44):
        response = await api.get("/functions/v1/booking-status", params={"token": token})
        assert response.status_code == 404, token
        assert response.json()["error"]["code"] == "booking_not_found"


async def test_missing_token_is_a_validation_error(api: httpx.AsyncClient) -> None:
    response = await api.get("/functions/v1/booking-status")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"
    assert response.json()["error"]["fields"] == {"token": "is required"}
