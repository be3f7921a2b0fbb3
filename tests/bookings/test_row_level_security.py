"""Row-level security on PostgreSQL: a customer's transaction reaches only its own booking."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, ProgrammingError

from sessionbook.bookings.models import Booking, BookingEvent
from sessionbook.bookings.tokens import hash_token, new_token
from sessionbook.core.db import ADMIN, SERVICE, Actor, Database, Role
from tests.conftest import DatabaseUnderTest

pytestmark = pytest.mark.postgres


def _booking(token_hash: str) -> Booking:
    now = datetime.now(UTC)
    return Booking(
        id=uuid.uuid4(),
        token_hash=token_hash,
        package_id="single",
        package_title="Single session",
        duration_minutes=60,
        sessions_total=1,
        cal_event_type_id=1002,
        amount_cents=15000,
        refunded_cents=0,
        currency="USD",
        customer_name="Row Owner",
        customer_email="owner@example.com",
        booking_metadata={},
        status="pending",
        payment_status="pending",
        expires_at=now + timedelta(days=1),
        created_at=now,
        updated_at=now,
    )


@pytest.fixture
async def app_db(test_db: DatabaseUnderTest) -> AsyncIterator[Database]:
    if not test_db.is_postgres:
        pytest.skip("row-level security is a PostgreSQL feature")
    database = Database(test_db.app_url)
    yield database
    await database.dispose()


@pytest.fixture
async def two_bookings(app_db: Database) -> tuple[Booking, Booking]:
    first, second = _booking(hash_token(new_token())), _booking(hash_token(new_token()))
    async with app_db.transaction(SERVICE) as session:
        session.add_all([first, second])
        await session.flush()
        for booking in (first, second):
            session.add(
                BookingEvent(
                    booking_id=booking.id,
                    event_type="booking_created",
                    source="test",
                    data={},
                    created_at=datetime.now(UTC),
                )
            )
    return first, second


async def test_application_login_owns_nothing(app_db: Database) -> None:
    async with app_db.engine.connect() as connection:
        user = (await connection.execute(text("SELECT current_user"))).scalar_one()
        owner = (
            await connection.execute(
                text("SELECT tableowner FROM pg_tables WHERE tablename = 'bookings'")
            )
        ).scalar_one()
        with pytest.raises(ProgrammingError):
            # NOINHERIT: outside a transaction that switched role, no table is reachable.
            await connection.execute(text("SELECT count(*) FROM bookings"))
    assert user != owner


async def test_select_without_where_returns_only_the_callers_row(
    app_db: Database, two_bookings: tuple[Booking, Booking]
) -> None:
    first, _second = two_bookings
    async with app_db.transaction(Actor.customer(first.token_hash)) as session:
        rows = (await session.execute(text("SELECT id FROM bookings"))).scalars().all()
        events = (
            (await session.execute(text("SELECT booking_id FROM booking_events"))).scalars().all()
        )
    assert [str(row) for row in rows] == [str(first.id)]
    assert {str(row) for row in events} == {str(first.id)}


async def test_customer_without_a_token_sees_nothing(
    app_db: Database, two_bookings: tuple[Booking, Booking]
) -> None:
    async with app_db.transaction(Actor(Role.CUSTOMER)) as session:
        count = (await session.execute(text("SELECT count(*) FROM bookings"))).scalar_one()
    assert count == 0


async def test_update_reaches_only_the_callers_row(
    app_db: Database, two_bookings: tuple[Booking, Booking]
) -> None:
    first, second = two_bookings
    async with app_db.transaction(Actor.customer(first.token_hash)) as session:
        everything = await session.execute(text("UPDATE bookings SET notes = 'touched'"))
        other = await session.execute(
            text("UPDATE bookings SET notes = 'stolen' WHERE id = :id"), {"id": second.id}
        )
    assert everything.rowcount == 1  # type: ignore[attr-defined]
    assert other.rowcount == 0  # type: ignore[attr-defined]
    async with app_db.transaction(SERVICE) as session:
        notes = dict(
            (
                await session.execute(
                    text("SELECT id, notes FROM bookings WHERE id IN (:a, :b)"),
                    {"a": first.id, "b": second.id},
                )
            )
            .tuples()
            .all()
        )
    assert notes == {first.id: "touched", second.id: None}


async def test_customer_cannot_take_over_another_row(
    app_db: Database, two_bookings: tuple[Booking, Booking]
) -> None:
    first, second = two_bookings
    with pytest.raises(DBAPIError):
        async with app_db.transaction(Actor.customer(first.token_hash)) as session:
            await session.execute(
                text("UPDATE bookings SET token_hash = :other WHERE id = :id"),
                {"other": second.token_hash, "id": first.id},
            )


async def test_customer_inserts_only_under_its_own_token(app_db: Database) -> None:
    mine = hash_token(new_token())
    async with app_db.transaction(Actor.customer(mine)) as session:
        session.add(_booking(mine))
    with pytest.raises(DBAPIError):
        async with app_db.transaction(Actor.customer(mine)) as session:
            session.add(_booking(hash_token(new_token())))
            await session.flush()


async def test_customer_cannot_write_events_of_another_booking(
    app_db: Database, two_bookings: tuple[Booking, Booking]
) -> None:
    first, second = two_bookings
    with pytest.raises(DBAPIError):
        async with app_db.transaction(Actor.customer(first.token_hash)) as session:
            session.add(
                BookingEvent(
                    booking_id=second.id,
                    event_type="forged",
                    source="test",
                    data={},
                    created_at=datetime.now(UTC),
                )
            )
            await session.flush()


@pytest.mark.parametrize(
    "statement",
    [
        "DELETE FROM bookings",
        "DELETE FROM booking_events",
        "UPDATE booking_events SET event_type = 'rewritten'",
    ],
)
async def test_nobody_deletes_or_rewrites_history(
    app_db: Database, two_bookings: tuple[Booking, Booking], statement: str
) -> None:
    for actor in (Actor.customer(two_bookings[0].token_hash), SERVICE, ADMIN):
        with pytest.raises(DBAPIError):
            async with app_db.transaction(actor) as session:
                await session.execute(text(statement))


async def test_admin_and_service_see_every_row(
    app_db: Database, two_bookings: tuple[Booking, Booking]
) -> None:
    ids = {booking.id for booking in two_bookings}
    for actor in (ADMIN, SERVICE):
        async with app_db.transaction(actor) as session:
            seen = set(
                (
                    await session.execute(
                        text("SELECT id FROM bookings WHERE id IN (:a, :b)"),
                        {"a": two_bookings[0].id, "b": two_bookings[1].id},
                    )
                )
                .scalars()
                .all()
            )
        assert seen == ids
