"""The outbox on both databases: queued once, sent once, retried with backoff, reminders."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import structlog
from icalendar import Calendar
from sqlalchemy import select

from sessionbook.bookings.models import Booking, BookingSession
from sessionbook.branding.profile import BrandProfile, StaticBrand
from sessionbook.core.db import SERVICE, Database
from sessionbook.notifications.email import EmailDeliveryError, LogEmailSender, OutgoingEmail
from sessionbook.notifications.models import OutboxMessage
from sessionbook.notifications.outbox import (
    enqueue_booking_confirmed,
    enqueue_booking_expired,
    enqueue_payment_received,
)
from sessionbook.notifications.service import MAX_ATTEMPTS, NotificationService
from tests.conftest import DatabaseUnderTest
from tests.support.databases import (
    create_postgres_database,
    drop_postgres_database,
    new_sqlite_database,
    postgres_admin_url,
)

# Rows are queued at the real time; the services' clock starts just after it. Set afresh for
# each test: a module imported long before its tests run (a long suite) would otherwise hand
# the services a clock that is already behind the rows they must find due.
NOW = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=5)


@pytest.fixture(autouse=True)
def _clock_just_ahead_of_now() -> None:
    global NOW
    NOW = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=5)


@pytest.fixture(scope="module")
async def database(
    test_db: DatabaseUnderTest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Database]:
    """A database of this backend for this module alone: the sender claims every due row."""
    if not test_db.is_postgres:
        url = await new_sqlite_database(Path(tmp_path_factory.mktemp("outbox")))
        database = Database(url)
        yield database
        await database.dispose()
        return
    admin_url = postgres_admin_url()
    assert admin_url is not None
    owner_url, app_url = await create_postgres_database(admin_url)
    database = Database(app_url)
    yield database
    await database.dispose()
    await drop_postgres_database(admin_url, owner_url)


@dataclass
class Outbox:
    """A recording sender that can be told to fail."""

    sent: list[OutgoingEmail] = field(default_factory=list)
    failure: EmailDeliveryError | None = None
    delay: float = 0.0

    async def send(self, email: OutgoingEmail) -> None:
        await asyncio.sleep(self.delay)
        if self.failure is not None:
            raise self.failure
        self.sent.append(email)


def notifier(database: Database, sender: Outbox, clock: Callable[[], datetime]) -> Any:
    return NotificationService(
        database=database,
        sender=sender,
        brand=StaticBrand(BrandProfile()),
        site_url="https://coach.example",
        coach_timezone="Europe/London",
        message_domain="coach.example",
        batch_size=3,
        clock=clock,
    )


async def add_booking(database: Database, **values: Any) -> Booking:
    fields: dict[str, Any] = {
        "id": uuid.uuid4(),
        "token_hash": uuid.uuid4().hex * 2,
        "package_id": "single",
        "package_title": "Single session",
        "duration_minutes": 60,
        "sessions_total": 1,
        "cal_event_type_id": 1002,
        "amount_cents": 15000,
        "refunded_cents": 0,
        "currency": "USD",
        "customer_name": "Olive Outbox",
        "customer_email": "olive@example.com",
        "booking_metadata": {},
        "status": "paid",
        "payment_status": "paid",
        "expires_at": NOW + timedelta(days=90),
        "created_at": NOW - timedelta(days=3),
        "updated_at": NOW,
    }
    # A session's fields given with the booking (as `scheduled` does) become its one session.
    moved = {
        key: values.pop(key)
        for key in ("scheduled_start", "scheduled_end", "cal_uid", "meeting_url")
        if key in values
    }
    fields.update(values)
    booking = Booking(**fields)
    async with database.transaction(SERVICE) as session:
        session.add(booking)
        if moved:
            booked = BookingSession(
                id=uuid.uuid4(),
                booking_id=booking.id,
                state="booked",
                start_time=moved["scheduled_start"],
                end_time=moved["scheduled_end"],
                cal_event_type_id=booking.cal_event_type_id,
                cal_booking_id=uuid.uuid4().int % 1_000_000_000,
                cal_uid=moved["cal_uid"],
                meeting_url=moved["meeting_url"],
                created_at=booking.scheduled_at or NOW,
                updated_at=booking.scheduled_at or NOW,
            )
            await session.flush()
            session.add(booked)
            SESSIONS[booking.id] = booked
    return booking


SESSIONS: dict[uuid.UUID, BookingSession] = {}


def in_london(moment: datetime) -> str:
    """How an English email writes `moment` for a customer in the coach's zone (London)."""
    local = moment.astimezone(ZoneInfo("Europe/London"))
    clock = f"{local.hour % 12 or 12}:{local:%M}\u202f{'AM' if local.hour < 12 else 'PM'}"
    return f"{local:%A}, {local:%B} {local.day}, {local.year} at {clock} (London Time)"


def scheduled(start: datetime, scheduled_at: datetime) -> dict[str, Any]:
    return {
        "status": "scheduled",
        "scheduled_start": start,
        "scheduled_end": start + timedelta(hours=1),
        "scheduled_at": scheduled_at,
        "cal_uid": uuid.uuid4().hex,
        "meeting_url": "https://meet.example/room",
    }


async def rows_of(database: Database, *bookings: Booking) -> list[OutboxMessage]:
    async with database.transaction(SERVICE) as session:
        statement = (
            select(OutboxMessage)
            .where(OutboxMessage.booking_id.in_([b.id for b in bookings]))
            .order_by(OutboxMessage.id)
        )
        return list((await session.execute(statement)).scalars().all())


async def test_the_same_news_is_queued_once(database: Database) -> None:
    booking = await add_booking(database)

    async with database.transaction(SERVICE) as session:
        first = await enqueue_payment_received(session, booking)
        again = await enqueue_payment_received(session, booking)
    async with database.transaction(SERVICE) as session:
        later = await enqueue_payment_received(session, booking)

    assert (first, again, later) == (True, False, False)
    assert [row.kind for row in await rows_of(database, booking)] == ["payment_received"]


async def test_two_workers_send_every_message_exactly_once(database: Database) -> None:
    bookings = [await add_booking(database) for _ in range(7)]
    async with database.transaction(SERVICE) as session:
        for booking in bookings:
            await enqueue_payment_received(session, booking)
    sender = Outbox(delay=0.01)

    counts = await asyncio.gather(
        notifier(database, sender, lambda: NOW).deliver_due(),
        notifier(database, sender, lambda: NOW).deliver_due(),
    )

    ids = {str(b.id) for b in bookings}
    assert sum(counts) == len(sender.sent) >= 7  # earlier tests' rows are due as well
    assert len({email.message_id for email in sender.sent}) == len(sender.sent)
    assert sorted(e.booking_id for e in sender.sent if e.booking_id in ids) == sorted(ids)
    rows = await rows_of(database, *bookings)
    assert {(row.state, row.attempts) for row in rows} == {("sent", 1)}
    assert all(row.sent_at is not None for row in rows)
    first = next(email for email in sender.sent if email.booking_id in ids)
    assert first.to == "olive@example.com"
    assert first.subject == "Payment received: Single session"
    assert "$150.00" in first.text
    assert first.message_id.endswith("@coach.example>")


async def test_a_failed_send_waits_longer_each_time_then_gives_up(database: Database) -> None:
    booking = await add_booking(database, status="expired", payment_status="pending")
    async with database.transaction(SERVICE) as session:
        await enqueue_booking_expired(session, booking)
    sender = Outbox(failure=EmailDeliveryError("SMTP 451"))
    now = NOW
    service = notifier(database, sender, lambda: now)

    waits = []
    for _ in range(MAX_ATTEMPTS):
        assert await service.deliver_due() == 0
        [row] = await rows_of(database, booking)
        waits.append(row.next_attempt_at - now)
        assert await service.deliver_due() == 0  # not due again yet: nothing is tried
        now = row.next_attempt_at

    [row] = await rows_of(database, booking)
    assert (row.state, row.attempts, row.last_error) == ("failed", MAX_ATTEMPTS, "SMTP 451")
    retries = waits[:-1]
    assert retries[0] == timedelta(minutes=1)
    assert retries == sorted(retries)
    assert len(set(retries)) == len(retries)


async def test_a_refused_address_fails_at_once(database: Database) -> None:
    booking = await add_booking(database)
    async with database.transaction(SERVICE) as session:
        await enqueue_payment_received(session, booking)

    sender = Outbox(failure=EmailDeliveryError("recipient refused", permanent=True))
    await notifier(database, sender, lambda: NOW).deliver_due()

    [row] = await rows_of(database, booking)
    assert (row.state, row.attempts) == ("failed", 1)


async def test_news_that_went_stale_is_skipped_not_sent(database: Database) -> None:
    booking = await add_booking(database, **scheduled(NOW + timedelta(days=2), NOW))
    async with database.transaction(SERVICE) as session:
        await enqueue_booking_confirmed(session, booking)
        stored = await session.get(Booking, booking.id)
        assert stored is not None
        stored.status = "cancelled"  # cancelled before the worker came round
    sender = Outbox()

    await notifier(database, sender, lambda: NOW).deliver_due()

    [row] = await rows_of(database, booking)
    assert row.state == "skipped"
    assert row.last_error == "skipped: booking is cancelled"
    assert sender.sent == []


async def test_confirmation_carries_the_session_as_a_calendar_file(database: Database) -> None:
    start = (NOW + timedelta(days=3)).replace(hour=15, minute=0, second=0)
    booking = await add_booking(database, **scheduled(start, NOW))
    async with database.transaction(SERVICE) as session:
        assert await enqueue_booking_confirmed(session, booking)
        assert not await enqueue_booking_confirmed(session, booking)
    sender = Outbox()

    await notifier(database, sender, lambda: NOW).deliver_due()

    [email] = [e for e in sender.sent if e.booking_id == str(booking.id)]
    assert email.subject == f"Booking confirmed: Single session on {in_london(start)}"
    assert "https://meet.example/room" in email.text
    [attachment] = email.attachments
    ics = attachment.content.decode()
    assert attachment.filename == "session.ics"
    assert f"DTSTART:{start:%Y%m%d}T150000Z" in ics
    assert f"DTEND:{start:%Y%m%d}T160000Z" in ics
    assert f"UID:{SESSIONS[booking.id].id}@sessionbook" in ics
    assert all(len(line.encode()) <= 75 for line in ics.split("\r\n"))
    [event] = Calendar.from_ical(ics).walk("VEVENT")
    assert event.decoded("DTSTART") == start.astimezone(UTC)
    assert str(event["UID"]) == f"{SESSIONS[booking.id].id}@sessionbook"


async def test_reminders_24_hours_ahead_once_per_session_time(database: Database) -> None:
    long_ago = NOW - timedelta(days=5)
    soon = await add_booking(database, **scheduled(NOW + timedelta(hours=10), long_ago))
    booked_today = await add_booking(database, **scheduled(NOW + timedelta(hours=10), NOW))
    next_week = await add_booking(database, **scheduled(NOW + timedelta(days=7), long_ago))
    sender = Outbox()
    service = notifier(database, sender, lambda: NOW)

    first = await service.queue_reminders()
    second = await service.queue_reminders()
    await service.deliver_due()

    assert (first, second) == (1, 0)
    [row] = await rows_of(database, soon, booked_today, next_week)
    assert (row.booking_id, row.kind, row.state) == (soon.id, "booking_reminder", "sent")
    [email] = [e for e in sender.sent if e.booking_id == str(soon.id)]
    assert email.subject == f"Reminder: Single session on {in_london(NOW + timedelta(hours=10))}"


async def test_without_smtp_an_email_is_logged_by_kind_and_booking_only() -> None:
    root = logging.getLogger()
    configured = next(
        h for h in root.handlers if isinstance(h.formatter, structlog.stdlib.ProcessorFormatter)
    )
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(configured.formatter)
    root.addHandler(handler)
    try:
        await LogEmailSender().send(
            OutgoingEmail(
                to="hidden.person@example.com",
                subject="Payment received: Single session",
                text="Hello Hidden Person, ...",
                kind="payment_received",
                booking_id="b-42",
                message_id="<x@y>",
            )
        )
    finally:
        root.removeHandler(handler)

    [line] = [json.loads(raw) for raw in stream.getvalue().splitlines()]
    assert (line["event"], line["kind"], line["booking_id"]) == (
        "email_logged_not_sent",
        "payment_received",
        "b-42",
    )
    assert "hidden" not in stream.getvalue().lower()
