"""booking-status served outside FastAPI's router answers exactly what the FastAPI route does.

The same app is built twice, once as served (the lean `BookingStatusEndpoint` in front) and
once without that layer (the request then reaches the FastAPI route and its dependencies); both
read the same bookings from the same database and must answer the same bytes and headers.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import httpx
import pytest
from fastapi import FastAPI

from sessionbook.app import create_app
from sessionbook.bookings.models import Booking, BookingSession
from sessionbook.bookings.status_endpoint import BookingStatusEndpoint
from sessionbook.bookings.tokens import hash_token, new_token
from sessionbook.core.db import SERVICE, Database
from tests.conftest import DatabaseUnderTest, make_settings
from tests.support.live_server import free_port

STATUS = "/functions/v1/booking-status"
# Headers that differ between any two answers, whoever gives them.
_PER_ANSWER = {"x-request-id", "date"}


async def _serve(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 4321))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


@pytest.fixture
async def apps(test_db: DatabaseUnderTest) -> AsyncIterator[tuple[FastAPI, FastAPI]]:
    settings = make_settings(test_db, free_port())
    lean = create_app(settings)
    routed = create_app(settings)
    routed.user_middleware = [
        entry
        for entry in routed.user_middleware
        if entry.cls is not cast(Any, BookingStatusEndpoint)
    ]
    assert len(routed.user_middleware) == len(lean.user_middleware) - 1
    try:
        yield lean, routed
    finally:
        for app in (lean, routed):
            await app.state.services.aclose()


async def _store(
    database: Database, *, amount_cents: int, status: str, payment_status: str, sessions: int
) -> tuple[str, Booking]:
    token = new_token()
    now = datetime.now(UTC).replace(microsecond=123456)
    booking = Booking(
        id=uuid.uuid4(),
        token_hash=hash_token(token),
        package_id="discovery" if amount_cents == 0 else "single",
        package_title="Lean read",
        duration_minutes=60,
        sessions_total=max(sessions, 1),
        cal_event_type_id=1002,
        amount_cents=amount_cents,
        refunded_cents=0,
        currency="USD",
        customer_name="Zoë Lean-Reader",
        customer_email="lean@example.com",
        booking_metadata={"source": "test"},
        status=status,
        payment_status=payment_status,
        payment_url=None if payment_status == "paid" else "https://pay.example/p/1",
        payment_link_id=f"plink_{uuid.uuid4().hex[:12]}",
        sessions_valid_until=now + timedelta(days=31) if sessions > 1 else None,
        sessions_lapsed=0,
        expires_at=now + timedelta(days=90),
        created_at=now,
        updated_at=now,
        paid_at=now if payment_status == "paid" else None,
    )
    rows = []
    for index in range(sessions):
        start = now.replace(microsecond=0) + timedelta(days=5 - index)
        rows.append(
            BookingSession(
                id=uuid.uuid4(),
                booking_id=booking.id,
                state="booked",
                start_time=start,
                end_time=start + timedelta(hours=1),
                cal_event_type_id=1002,
                cal_booking_id=int(uuid.uuid4().int % 1_000_000_000),
                cal_uid=f"uid-{uuid.uuid4().hex}",
                meeting_url=None if index else "https://cal.example/video/x",
                created_at=now,
                updated_at=now,
            )
        )
    async with database.transaction(SERVICE) as session:
        session.add(booking)
        await session.flush()
        session.add_all(rows)
    return token, booking


@pytest.mark.parametrize(
    ("amount_cents", "status", "payment_status", "sessions"),
    [
        pytest.param(0, "paid", "paid", 0, id="free"),
        pytest.param(15000, "pending", "pending", 0, id="paid-awaiting-payment"),
        pytest.param(15000, "scheduled", "paid", 1, id="paid-scheduled"),
        pytest.param(45000, "paid", "paid", 3, id="multi-session"),
    ],
)
async def test_the_lean_answer_is_the_routes_byte_for_byte(
    apps: tuple[FastAPI, FastAPI],
    amount_cents: int,
    status: str,
    payment_status: str,
    sessions: int,
) -> None:
    lean, routed = apps
    database: Database = lean.state.services.database
    token, booking = await _store(
        database,
        amount_cents=amount_cents,
        status=status,
        payment_status=payment_status,
        sessions=sessions,
    )
    answers = []
    for app in (lean, routed):
        async for client in _serve(app):
            by_header = await client.get(STATUS, headers={"X-Booking-Token": token})
            by_query = await client.get(STATUS, params={"token": token})
            answers.append((by_header, by_query))

    (lean_header, lean_query), (routed_header, routed_query) = answers
    assert lean_header.status_code == routed_header.status_code == 200
    body = lean_header.json()
    assert body["id"] == str(booking.id)
    assert len(body["sessions"]) == sessions
    for answer in (lean_header, lean_query, routed_query):
        assert answer.content == routed_header.content
        assert _headers(answer) == _headers(routed_header)


@pytest.mark.parametrize(
    ("query", "headers"),
    [
        pytest.param({}, {}, id="no-token"),
        pytest.param({"token": "  "}, {}, id="blank-token"),
        pytest.param({"token": "short"}, {}, id="malformed-token"),
        pytest.param({"token": "B" * 43}, {}, id="unknown-token"),
        pytest.param({}, {"X-Booking-Token": "B" * 43}, id="unknown-header-token"),
    ],
)
async def test_the_lean_errors_are_the_routes(
    apps: tuple[FastAPI, FastAPI], query: dict[str, str], headers: dict[str, str]
) -> None:
    answers = []
    for app in apps:
        async for client in _serve(app):
            answers.append(await client.get(STATUS, params=query, headers=headers))

    lean, routed = answers
    assert lean.status_code == routed.status_code
    assert lean.status_code in (400, 404)
    assert lean.content == routed.content
    assert _headers(lean) == _headers(routed)


async def test_other_methods_still_reach_the_router(apps: tuple[FastAPI, FastAPI]) -> None:
    answers = []
    for app in apps:
        async for client in _serve(app):
            answers.append(await client.post(STATUS, params={"token": "B" * 43}))

    lean, routed = answers
    assert lean.status_code == routed.status_code == 405
    assert lean.content == routed.content
    assert lean.headers["allow"] == routed.headers["allow"] == "GET"


def _headers(response: httpx.Response) -> list[tuple[str, str]]:
    return sorted((k, v) for k, v in response.headers.items() if k not in _PER_ANSWER)
