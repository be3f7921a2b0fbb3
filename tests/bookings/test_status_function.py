"""booking-status's one-round-trip read on PostgreSQL (migration 0015, `single_statement`).

The function takes the customer role and token hash itself; these tests hold it to what the
ORM path gives and prove row-level security still decides what it returns.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from sqlalchemy import inspect

from sessionbook.bookings.models import Booking, BookingSession
from sessionbook.bookings.repository import BookingRepository, read_status
from sessionbook.bookings.tokens import hash_token, new_token
from sessionbook.core.db import SERVICE, Actor, Database
from tests.conftest import DatabaseUnderTest

pytestmark = pytest.mark.postgres


@pytest.fixture
async def app_db(test_db: DatabaseUnderTest) -> AsyncIterator[Database]:
    if not test_db.is_postgres:
        pytest.skip("the status function is PostgreSQL's")
    database = Database(test_db.app_url, pool_size=1)
    yield database
    await database.dispose()


async def _stored(database: Database, *, metadata: dict[str, Any] | None = None) -> Booking:
    now = datetime.now(UTC)
    booking = Booking(
        id=uuid.uuid4(),
        token_hash=hash_token(new_token()),
        package_id="single",
        package_title="Single session",
        duration_minutes=60,
        sessions_total=2,
        cal_event_type_id=1002,
        amount_cents=15000,
        refunded_cents=0,
        currency="USD",
        customer_name="One Trip",
        customer_email="trip@example.com",
        booking_metadata=metadata or {"source": "test"},
        status="paid",
        payment_status="paid",
        sessions_valid_until=now + timedelta(days=31),
        sessions_lapsed=0,
        expires_at=now + timedelta(days=90),
        created_at=now,
        updated_at=now,
        paid_at=now,
    )
    async with database.transaction(SERVICE) as session:
        session.add(booking)
    return booking


async def _session(database: Database, booking: Booking, *, days: int, state: str) -> uuid.UUID:
    start = datetime.now(UTC) + timedelta(days=days)
    row = BookingSession(
        id=uuid.uuid4(),
        booking_id=booking.id,
        state=state,
        start_time=start,
        end_time=start + timedelta(hours=1),
        cal_event_type_id=1002,
        cal_booking_id=int(uuid.uuid4().int % 1_000_000_000),
        cal_uid=f"uid-{uuid.uuid4().hex}",
        meeting_url="https://cal.example/video/x",
        created_at=start - timedelta(days=3),
        updated_at=start - timedelta(days=3),
    )
    async with database.transaction(SERVICE) as session:
        session.add(row)
    return row.id


async def test_one_statement_gives_what_the_orm_gives(app_db: Database) -> None:
    stored = await _stored(app_db, metadata={"source": "test", "count": 2})
    later = await _session(app_db, stored, days=5, state="booked")
    sooner = await _session(app_db, stored, days=2, state="booked")
    await _session(app_db, stored, days=3, state="cancelled")
    async with app_db.transaction(Actor.customer(stored.token_hash)) as session:
        repository = BookingRepository(session)
        booking = await repository.by_token_hash(stored.token_hash)
        sessions = await repository.sessions_of(stored.id)
    read = await app_db.single_statement(lambda driver: read_status(driver, stored.token_hash))
    assert booking is not None
    assert read is not None
    lean, lean_sessions = read
    for attribute in inspect(Booking).column_attrs:
        assert getattr(lean, attribute.key) == getattr(booking, attribute.key), attribute.key
        assert type(getattr(lean, attribute.key)) is type(getattr(booking, attribute.key))
    # Booked sessions only, by start, as the ORM path orders them.
    assert [each.id for each in lean_sessions] == [each.id for each in sessions]
    assert [each.id for each in lean_sessions] == [sooner, later]
    for attribute in inspect(BookingSession).column_attrs:
        orm_value = getattr(sessions[0], attribute.key)
        assert getattr(lean_sessions[0], attribute.key) == orm_value, attribute.key
        assert type(getattr(lean_sessions[0], attribute.key)) is type(orm_value)


async def test_row_level_security_decides_what_the_function_reads(
    app_db: Database, test_db: DatabaseUnderTest
) -> None:
    mine = await _stored(app_db)
    other = await _stored(app_db)
    await _session(app_db, mine, days=2, state="booked")
    await _session(app_db, other, days=2, state="booked")
    # The function on the application's login, inside a transaction we keep open: whatever
    # it switched to is still in force afterwards, so we can see what it read with.
    login = await asyncpg.connect(test_db.app_url.replace("+asyncpg", ""))
    try:
        async with login.transaction():
            rows = await login.fetch(
                "SELECT (booking_row).id, cardinality(live_sessions) AS count "
                "FROM sessionbook_booking_status($1)",
                mine.token_hash,
            )
            role = await login.fetchval("SELECT current_user")
            visible_bookings = await login.fetch("SELECT id FROM bookings")
            visible_sessions = await login.fetchval("SELECT count(*) FROM sessions")
        async with login.transaction():
            # Another customer's token reads nothing of this booking, and sees nothing else.
            stranger = await login.fetch(
                "SELECT * FROM sessionbook_booking_status($1)", hash_token(new_token())
            )
            stranger_sees = await login.fetchval("SELECT count(*) FROM bookings")
    finally:
        await login.close()
    assert [(row["id"], row["count"]) for row in rows] == [(mine.id, 1)]
    assert role == "sessionbook_customer"
    assert [row["id"] for row in visible_bookings] == [mine.id]  # not `other`: RLS is on
    assert visible_sessions == 1
    assert stranger == []
    assert stranger_sees == 0


async def test_unknown_token_reads_nothing(app_db: Database) -> None:
    await _stored(app_db)
    unknown = hash_token(new_token())
    assert await app_db.single_statement(lambda driver: read_status(driver, unknown)) is None


async def test_the_role_ends_with_the_statement(app_db: Database) -> None:
    stored = await _stored(app_db)
    await app_db.single_statement(lambda driver: read_status(driver, stored.token_hash))
    # The pool holds one connection: the next statement runs on the same one, as the login.
    after = await app_db.single_statement(
        lambda driver: driver.fetchrow(
            "SELECT current_user AS role, "
            "coalesce(current_setting('sessionbook.token_hash', true), '') AS hash"
        )
    )
    assert after["role"] != "sessionbook_customer"
    assert after["hash"] == ""


async def test_a_connection_the_server_closed_is_replaced(
    app_db: Database, test_db: DatabaseUnderTest
) -> None:
    stored = await _stored(app_db)
    pid = await app_db.single_statement(lambda driver: driver.fetchval("SELECT pg_backend_pid()"))
    owner = await asyncpg.connect(test_db.owner_url.replace("+asyncpg", ""))
    try:
        assert await owner.fetchval("SELECT pg_terminate_backend($1)", pid)
    finally:
        await owner.close()
    read = await app_db.single_statement(lambda driver: read_status(driver, stored.token_hash))
    assert read is not None
    assert read[0].id == stored.id


async def test_single_statements_are_for_postgresql() -> None:
    database = Database("sqlite+aiosqlite:///:memory:")
    try:
        with pytest.raises(RuntimeError, match="PostgreSQL"):
            await database.single_statement(lambda driver: driver.fetchval("SELECT 1"))
    finally:
        await database.dispose()
