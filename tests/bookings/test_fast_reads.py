"""The lean booking read on PostgreSQL: same booking as the ORM's, same row-level security.

Reads through `Database.driver_transaction` (booking-status itself now reads in one
statement: tests/bookings/test_status_function.py); these tests hold it to what the ORM path
promises, and check that the pool never hands out a connection the server has closed.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from sqlalchemy import inspect, text

from sessionbook.bookings.models import Booking, BookingSession
from sessionbook.bookings.repository import (
    BookingRepository,
    read_by_token_hash,
    read_live_sessions,
)
from sessionbook.bookings.tokens import hash_token, new_token
from sessionbook.core.db import SERVICE, Actor, Database
from tests.conftest import DatabaseUnderTest

pytestmark = pytest.mark.postgres


@pytest.fixture
async def app_db(test_db: DatabaseUnderTest) -> AsyncIterator[Database]:
    if not test_db.is_postgres:
        pytest.skip("the driver-level read is for PostgreSQL")
    database = Database(test_db.app_url, pool_size=2)
    yield database
    await database.dispose()


async def _stored_booking(database: Database) -> Booking:
    now = datetime.now(UTC)
    booking = Booking(
        id=uuid.uuid4(),
        token_hash=hash_token(new_token()),
        package_id="single",
        package_title="Single session",
        duration_minutes=60,
        sessions_total=1,
        cal_event_type_id=1002,
        amount_cents=15000,
        refunded_cents=0,
        currency="USD",
        customer_name="Lean Reader",
        customer_email="lean@example.com",
        booking_metadata={"source": "test", "count": 2},
        status="scheduled",
        payment_status="paid",
        payment_link_id=f"plink_{uuid.uuid4().hex[:12]}",
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


async def test_lean_read_gives_what_the_orm_gives(app_db: Database) -> None:
    stored = await _stored_booking(app_db)
    actor = Actor.customer(stored.token_hash)
    async with app_db.transaction(actor) as session:
        through_orm = await BookingRepository(session).by_token_hash(stored.token_hash)
    async with app_db.driver_transaction(actor) as driver:
        lean = await read_by_token_hash(driver, stored.token_hash)
    assert through_orm is not None
    assert lean is not None
    for attribute in inspect(Booking).column_attrs:
        orm_value = getattr(through_orm, attribute.key)
        lean_value = getattr(lean, attribute.key)
        assert lean_value == orm_value, attribute.key
        assert type(lean_value) is type(orm_value), attribute.key
    assert lean.sessions_valid_until is not None
    assert lean.sessions_valid_until.utcoffset() == timedelta(0)


async def _stored_session(database: Database, booking: Booking) -> BookingSession:
    start = datetime.now(UTC) + timedelta(days=2)
    session_row = BookingSession(
        id=uuid.uuid4(),
        booking_id=booking.id,
        state="booked",
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
        session.add(session_row)
    return session_row


async def test_lean_sessions_read_gives_what_the_orm_gives_to_its_customer_only(
    app_db: Database,
) -> None:
    stored = await _stored_booking(app_db)
    other = await _stored_booking(app_db)
    mine = await _stored_session(app_db, stored)
    await _stored_session(app_db, other)
    actor = Actor.customer(stored.token_hash)
    async with app_db.transaction(actor) as session:
        through_orm = await BookingRepository(session).sessions_of(stored.id)
        # Row-level security: another booking's sessions are invisible, even asked by id.
        assert await BookingRepository(session).sessions_of(other.id) == []
    async with app_db.driver_transaction(actor) as driver:
        lean = await read_live_sessions(driver, stored.id)
        assert await read_live_sessions(driver, other.id) == []
        visible = await driver.fetchval("SELECT count(*) FROM sessions")
    assert visible == 1
    assert [s.id for s in lean] == [s.id for s in through_orm] == [mine.id]
    for attribute in inspect(BookingSession).column_attrs:
        orm_value = getattr(through_orm[0], attribute.key)
        lean_value = getattr(lean[0], attribute.key)
        assert lean_value == orm_value, attribute.key
        assert type(lean_value) is type(orm_value), attribute.key


async def test_lean_read_sees_only_the_presented_booking(app_db: Database) -> None:
    stored = await _stored_booking(app_db)
    someone_else = Actor.customer(hash_token(new_token()))
    async with app_db.driver_transaction(someone_else) as driver:
        assert await read_by_token_hash(driver, stored.token_hash) is None
        visible = await driver.fetchval("SELECT count(*) FROM bookings")
    assert visible == 0


async def test_lean_transaction_rolls_back_and_its_connection_stays_usable(
    app_db: Database,
) -> None:
    stored = await _stored_booking(app_db)
    actor = Actor.customer(stored.token_hash)
    with pytest.raises(RuntimeError, match="stop here"):
        async with app_db.driver_transaction(actor) as driver:
            await driver.execute(
                "UPDATE bookings SET customer_name = 'Changed' WHERE token_hash = $1",
                stored.token_hash,
            )
            raise RuntimeError("stop here")
    for _ in range(3):  # every pooled connection comes back clean, outside any transaction
        async with app_db.driver_transaction(actor) as driver:
            again = await read_by_token_hash(driver, stored.token_hash)
            assert again is not None
            assert again.customer_name == "Lean Reader"


async def test_settings_are_checked_before_they_are_inlined(app_db: Database) -> None:
    with pytest.raises(ValueError, match="hex"):
        async with app_db.driver_transaction(Actor.customer("x' OR 'a'='a")):
            pass


async def test_a_connection_the_server_closed_is_replaced(
    app_db: Database, test_db: DatabaseUnderTest
) -> None:
    async with app_db.transaction(SERVICE) as session:
        first_pid = (await session.execute(text("SELECT pg_backend_pid()"))).scalar_one()
    owner = await asyncpg.connect(test_db.owner_url.replace("+asyncpg", ""))
    try:
        assert await owner.fetchval("SELECT pg_terminate_backend($1)", first_pid)
    finally:
        await owner.close()
    for _ in range(3):  # the pool holds two connections: each must be good when handed out
        async with app_db.transaction(SERVICE) as session:
            pid = (await session.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        assert pid != first_pid
