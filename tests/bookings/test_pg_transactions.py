"""`Database.transaction` on PostgreSQL: BEGIN, role and token hash as one query of our own.

The settings are checked before they are inlined, a failed block rolls back and leaves its
connection clean for the next, and the pool never hands out a connection the server closed.
(booking-status's one-statement read has its own tests: tests/bookings/test_status_function.py.)
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from sqlalchemy import text

from sessionbook.bookings.models import Booking
from sessionbook.bookings.repository import BookingRepository
from sessionbook.bookings.tokens import hash_token, new_token
from sessionbook.core.db import SERVICE, Actor, Database
from tests.conftest import DatabaseUnderTest

pytestmark = pytest.mark.postgres


@pytest.fixture
async def app_db(test_db: DatabaseUnderTest) -> AsyncIterator[Database]:
    if not test_db.is_postgres:
        pytest.skip("our own BEGIN is PostgreSQL's")
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


async def test_a_failed_transaction_rolls_back_and_its_connection_stays_usable(
    app_db: Database,
) -> None:
    stored = await _stored_booking(app_db)
    actor = Actor.customer(stored.token_hash)
    with pytest.raises(RuntimeError, match="stop here"):
        async with app_db.transaction(actor) as session:
            await session.execute(
                text("UPDATE bookings SET customer_name = 'Changed' WHERE token_hash = :hash"),
                {"hash": stored.token_hash},
            )
            raise RuntimeError("stop here")
    for _ in range(3):  # every pooled connection comes back clean, outside any transaction
        async with app_db.transaction(actor) as session:
            again = await BookingRepository(session).by_token_hash(stored.token_hash)
            assert again is not None
            assert again.customer_name == "Lean Reader"


async def test_settings_are_checked_before_they_are_inlined(app_db: Database) -> None:
    with pytest.raises(ValueError, match="hex"):
        async with app_db.transaction(Actor.customer("x' OR 'a'='a")):
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
