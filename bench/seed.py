"""Fill the database fast (COPY) with a practice's present and a history that grows behind it.

The first `PRESENT_BOOKINGS` rows are the practice's present: the last 90 days at about 11
bookings a day and what lies ahead of them (sessions to come, packages lapsing, payments
waiting), with a fixed amount of work due for each sweep duty (links to stop, bookings to
expire and to lapse, a lapsed scheduling lease, a cancelled booking's session, emails,
webhook and Cal.com deliveries to retry, refunds to follow). Every later row is history:
finished bookings from the two years before those 90 days (scheduled sessions long past,
expired unpaid bookings with their links stopped, refunded cancellations, used-up packages),
each with the rows it leaves behind: audit rows, sent emails, processed webhook and Cal.com
deliveries, settled refunds. So growing the table from 1 thousand to 1 million bookings
grows only the history, and a query that reads the present, or the work waiting, should cost
the same at every size.

Every booking has its own random token, of which only the SHA-256 hash is stored, as the
service does; the token of an evenly spread sample is kept for booking-status.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

PRESENT_BOOKINGS = 1000
# Longer than any window a view counts over (30 days at most), so every event of a history
# booking (its last session, expiry, lapse) happened before the windows begin.
PRESENT_DAYS = 90
HISTORY_DAYS = 730
# Work due now in the present, per duty: below every sweep batch, so one pass takes it all.
DUE = 20

BOOKING_COLUMNS = (
    *("id", "token_hash", "package_id", "amount_cents", "refunded_cents", "currency"),
    *("customer_name", "customer_email", "metadata", "status", "payment_status"),
    *("payment_link_id", "payment_url", "payment_intent_id", "payment_checked_at"),
    *("payment_link_deactivated_at", "cal_event_type_id", "sessions_valid_until"),
    *("sessions_lapsed", "schedule_lease_until", "expires_at", "created_at", "updated_at"),
    *("paid_at", "scheduled_at", "cancelled_at", "expired_at"),
    *("package_title", "duration_minutes", "sessions_total", "valid_days"),
)
# Each seeded package's snapshot, as booking-create copies it (see catalog/defaults.py).
PACKAGES = {
    "discovery": (0, 1001, ("Discovery call", 30, 1, None)),
    "single": (15000, 1002, ("Single session", 60, 1, None)),
    "monthly": (50000, 1003, ("Monthly package", 60, 4, 31)),
}
SESSION_COLUMNS = (
    *("id", "booking_id", "state", "start_time", "end_time", "cal_event_type_id"),
    *("cal_booking_id", "cal_uid", "meeting_url", "created_at", "updated_at"),
    *("cancelled_at", "cancelled_by"),
)
EVENT_COLUMNS = (
    *("booking_id", "event_type", "from_status", "to_status", "source", "data"),
    "created_at",
)
OUTBOX_COLUMNS = (
    *("booking_id", "kind", "dedupe_key", "payload", "state", "attempts", "created_at"),
    *("next_attempt_at", "sent_at"),
)
WEBHOOK_COLUMNS = (
    *("provider", "event_id", "event_type", "payload", "state", "booking_id", "attempts"),
    *("last_error", "received_at", "processed_at", "next_attempt_at"),
)
CALENDAR_COLUMNS = (
    *("event_key", "trigger", "payload", "state", "attempts", "last_error", "received_at"),
    *("processed_at", "next_attempt_at"),
)
REFUND_COLUMNS = (
    *("id", "booking_id", "request_id", "provider_refund_id", "payment_intent_id"),
    *("amount_cents", "currency", "reason", "status", "created_at", "updated_at"),
)
TABLES = (
    ("bookings", BOOKING_COLUMNS),
    ("sessions", SESSION_COLUMNS),
    ("booking_events", EVENT_COLUMNS),
    ("outbox", OUTBOX_COLUMNS),
    ("webhook_events", WEBHOOK_COLUMNS),
    ("calendar_webhook_events", CALENDAR_COLUMNS),
    ("payment_refunds", REFUND_COLUMNS),
)
CHUNK_ROWS = 50_000
SAMPLE_PER_BATCH = 2000
# Cal.com booking ids of seeded rows start here, far from those the stand-in hands out.
CAL_ID_OFFSET = 1_000_000_000
EMPTY_JSON = "{}"


@dataclass
class Seeded:
    """How many rows the table holds and the kept tokens of each batch, with the batch size."""

    rows: int = 0
    batches: list[tuple[int, list[str]]] = field(default_factory=list)
    # Ids the admin views are asked about: a booking of the present, and of the history.
    present_booking: uuid.UUID | None = None
    history_booking: uuid.UUID | None = None
    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    def sample(self, count: int, rng: random.Random) -> list[str]:
        """About `count` tokens spread over all rows, each batch in proportion to its size."""
        tokens: list[str] = []
        for size, kept in self.batches:
            share = max(1, round(count * size / max(1, self.rows)))
            tokens.extend(rng.sample(kept, min(share, len(kept))))
        rng.shuffle(tokens)
        return tokens


def _token(random_bytes: bytes) -> str:
    return base64.urlsafe_b64encode(random_bytes).rstrip(b"=").decode("ascii")


@dataclass
class Batch:
    """One chunk of rows for COPY, per table, and the tokens kept from it."""

    rows: dict[str, list[tuple[Any, ...]]] = field(
        default_factory=lambda: {table: [] for table, _ in TABLES}
    )
    kept: list[str] = field(default_factory=list)
    ids: list[uuid.UUID] = field(default_factory=list)


class _Booking:
    """The rows of one seeded booking, built up by the kind it is and written to a Batch."""

    def __init__(self, batch: Batch, number: int, chunk: bytes, created: datetime) -> None:
        self.batch = batch
        self.number = number
        self.id = uuid.UUID(bytes=chunk[32:], version=4)
        self.token = _token(chunk[:32])
        self.created = created
        self.values: dict[str, Any] = {
            "package_id": "single",
            "refunded_cents": 0,
            "metadata": EMPTY_JSON,
            "payment_link_id": None,
            "payment_url": None,
            "payment_intent_id": None,
            "payment_checked_at": None,
            "payment_link_deactivated_at": None,
            "sessions_valid_until": None,
            "sessions_lapsed": 0,
            "schedule_lease_until": None,
            "created_at": created,
            "updated_at": created,
            "paid_at": None,
            "scheduled_at": None,
            "cancelled_at": None,
            "expired_at": None,
        }
        batch.ids.append(self.id)

    def package(self, package_id: str) -> None:
        self.values["package_id"] = package_id

    @property
    def amount(self) -> int:
        return PACKAGES[self.values["package_id"]][0]

    def link(self) -> None:
        number = self.number
        self.values["payment_link_id"] = f"plink_seed_{number}"
        self.values["payment_url"] = f"https://pay.example/pay/plink_seed_{number}"

    def paid(self, at: datetime, *, webhook: bool = True) -> None:
        values = self.values
        values["paid_at"] = at
        if self.amount:
            self.link()
            values["payment_intent_id"] = f"int_seed_{self.number}"
            values["payment_checked_at"] = at
            self.event("payment_confirmed", "pending", "paid", "webhook", at)
            if webhook:
                self.webhook("payment_intent.succeeded", at)
        self.email("payment_received", at)
        valid_days = PACKAGES[values["package_id"]][2][3]
        if valid_days is not None:
            values["sessions_valid_until"] = at + timedelta(days=valid_days)

    def session(self, start: datetime, *, state: str = "booked", index: int = 0) -> None:
        number = self.number * 16 + index
        scheduled = min(self.created + timedelta(minutes=8), start)
        cancelled = scheduled + timedelta(hours=1) if state == "cancelled" else None
        self.batch.rows["sessions"].append(
            (
                uuid.uuid4(),
                self.id,
                state,
                start,
                start + timedelta(minutes=PACKAGES[self.values["package_id"]][2][1]),
                PACKAGES[self.values["package_id"]][1],
                CAL_ID_OFFSET + number,
                f"seeduid{number}",
                f"https://cal.example/video/seeduid{number}",
                scheduled,
                cancelled or scheduled,
                cancelled,
                "customer" if cancelled else None,
            )
        )
        self.batch.rows["calendar_webhook_events"].append(
            (
                f"BOOKING_CREATED:seeduid{number}",
                "BOOKING_CREATED",
                EMPTY_JSON,
                "processed",
                1,
                None,
                scheduled,
                scheduled,
                None,
            )
        )
        if index == 0:
            self.email("booking_confirmed", scheduled, key=f"seeduid{number}")

    def event(self, kind: str, before: str | None, after: str, source: str, at: datetime) -> None:
        self.batch.rows["booking_events"].append(
            (self.id, kind, before, after, source, EMPTY_JSON, at)
        )

    def email(
        self, kind: str, at: datetime, *, key: str = "", state: str = "sent", due: bool = False
    ) -> None:
        self.batch.rows["outbox"].append(
            (
                self.id,
                kind,
                f"{kind}:{self.id}:{key}",
                EMPTY_JSON,
                "pending" if due else state,
                0 if due else 1,
                at,
                at,
                None if due else at + timedelta(seconds=2),
            )
        )

    def webhook(self, kind: str, at: datetime, *, failed: bool = False) -> None:
        self.batch.rows["webhook_events"].append(
            (
                "airwallex",
                f"evt_seed_{self.number}_{kind}",
                kind,
                EMPTY_JSON,
                "failed" if failed else "processed",
                self.id,
                2 if failed else 1,
                "provider_unavailable" if failed else None,
                at,
                None if failed else at,
                at + timedelta(minutes=1) if failed else None,
            )
        )

    def refund(self, at: datetime, *, settled: bool = True) -> None:
        amount = self.amount
        self.batch.rows["payment_refunds"].append(
            (
                uuid.uuid4(),
                self.id,
                f"refund-{self.id}",
                f"rf_seed_{self.number}" if settled else None,
                f"int_seed_{self.number}",
                amount,
                "USD",
                "customer cancelled",
                "settled" if settled else "requested",
                at,
                at + timedelta(days=2) if settled else at,
            )
        )
        if settled:
            self.values["refunded_cents"] = amount

    def finish(self, status: str, payment_status: str, expires: datetime) -> None:
        values = self.values
        number = self.number
        package_id = values["package_id"]
        price, event_type_id, snapshot = PACKAGES[package_id]
        self.event(
            "booking_created", None, "pending" if price else "paid", "customer", self.created
        )
        self.batch.rows["bookings"].append(
            (
                self.id,
                hashlib.sha256(self.token.encode("ascii")).hexdigest(),
                package_id,
                price,
                values["refunded_cents"],
                "USD",
                f"Seeded Customer {number}",
                f"customer{number}@example.com",
                values["metadata"],
                status,
                payment_status,
                values["payment_link_id"],
                values["payment_url"],
                values["payment_intent_id"],
                values["payment_checked_at"],
                values["payment_link_deactivated_at"],
                event_type_id,
                values["sessions_valid_until"],
                values["sessions_lapsed"],
                values["schedule_lease_until"],
                expires,
                self.created,
                values["updated_at"],
                values["paid_at"],
                values["scheduled_at"],
                values["cancelled_at"],
                values["expired_at"],
                *snapshot,
            )
        )

    def expired_unpaid(self, *, deactivated: bool, now: datetime) -> None:
        """Never paid: the window passed, the booking expired, (usually) its link was stopped."""
        self.link()
        expires = self.created + timedelta(days=1)
        expired = expires + timedelta(minutes=1)
        self.values["expired_at"] = expired
        self.event("booking_expired", "pending", "expired", "sweep", expired)
        self.email("booking_expired", expired)
        if deactivated:
            stopped = expired + timedelta(minutes=1)
            self.values["payment_checked_at"] = stopped
            self.values["payment_link_deactivated_at"] = stopped
            self.event("payment_link_deactivated", "expired", "expired", "sweep", stopped)
        else:
            self.values["payment_checked_at"] = now - timedelta(hours=1)
        self.finish("expired", "pending", expires)


def _on_the_hour(moment: datetime, days: int, hour: int) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0) + timedelta(days=days, hours=hour)


def _history(booking: _Booking, now: datetime) -> None:
    """A finished booking of the two years before the present."""
    number, created = booking.number, booking.created
    kind = number % 20
    start = _on_the_hour(created, 3, number % 9)
    if kind < 10:  # paid, scheduled, the session long past
        booking.paid(created + timedelta(minutes=5))
        booking.session(start)
        booking.values["scheduled_at"] = created + timedelta(minutes=8)
        booking.finish("scheduled", "paid", created + timedelta(days=90))
    elif kind < 15:  # never paid: expired, link stopped
        booking.expired_unpaid(deactivated=True, now=now)
    elif kind == 15:  # paid, then cancelled and refunded
        booking.paid(created + timedelta(minutes=5))
        booking.session(start, state="cancelled")
        cancelled = created + timedelta(days=1)
        booking.values["cancelled_at"] = cancelled
        booking.refund(cancelled)
        booking.event("booking_cancelled", "scheduled", "cancelled", "customer", cancelled)
        booking.finish("cancelled", "refunded", created + timedelta(days=90))
    elif kind < 18:  # free discovery call, had
        booking.package("discovery")
        booking.paid(created)
        booking.session(start)
        booking.values["scheduled_at"] = created + timedelta(minutes=8)
        booking.finish("scheduled", "paid", created + timedelta(days=30))
    elif kind == 18:  # free call never scheduled: expired
        booking.package("discovery")
        booking.paid(created)
        expired = created + timedelta(days=30)
        booking.values["expired_at"] = expired
        booking.event("booking_expired", "paid", "expired", "sweep", expired)
        booking.finish("expired", "paid", expired)
    else:  # a monthly package: two sessions had, two lapsed unbooked
        booking.package("monthly")
        booking.paid(created + timedelta(minutes=5))
        booking.session(start, index=0)
        booking.session(start + timedelta(days=7), index=1)
        booking.values["sessions_lapsed"] = 2
        booking.values["scheduled_at"] = booking.values["sessions_valid_until"]
        booking.finish("scheduled", "paid", created + timedelta(days=90))


def _present(booking: _Booking, now: datetime) -> None:
    """A booking of the last 90 days, some of it still ahead; the first ones are due work.

    One that would have finished by now (a package past its validity, a free call past its
    window) is finished as the sweep would have left it, like the history's.
    """
    number, created = booking.number, booking.created
    kind = number % 20
    start = _on_the_hour(created, number % 12, 9 + number % 8)
    if number < DUE:  # expired unpaid, link not stopped yet: the link sweep's work
        booking.expired_unpaid(deactivated=False, now=now)
        booking.email("booking_expired", now - timedelta(minutes=1), key="due", due=True)
        if number < DUE // 2:
            booking.batch.rows["calendar_webhook_events"].append(
                (
                    f"BOOKING_CANCELLED:due{number}",
                    "BOOKING_CANCELLED",
                    EMPTY_JSON,
                    "failed",
                    2,
                    "calendar_unavailable",
                    now - timedelta(minutes=10),
                    None,
                    now - timedelta(minutes=1),
                )
            )
    elif number < 2 * DUE:  # waiting for payment past its window: the expiry's work
        booking.link()
        booking.webhook("payment_intent.created", now - timedelta(hours=2), failed=True)
        booking.finish("pending", "pending", now - timedelta(minutes=10))
    elif number < 3 * DUE:  # a package whose validity ended an hour ago: the lapse's work
        booking.package("monthly")
        booking.paid(now - timedelta(days=31, hours=1))
        booking.session(_on_the_hour(now, -20, 10))
        booking.finish("paid", "paid", now + timedelta(days=10))
    elif number < 3 * DUE + 10:  # a scheduling attempt died: its lease ran out
        booking.paid(created + timedelta(minutes=5))
        booking.values["schedule_lease_until"] = now - timedelta(minutes=5)
        booking.finish("paid", "paid", now + timedelta(days=20))
    elif number < 3 * DUE + 15:  # cancelled with its session still booked, refund under way
        booking.paid(created + timedelta(minutes=5))
        booking.session(_on_the_hour(now, 2, number % 8))
        booking.values["cancelled_at"] = now - timedelta(hours=1)
        booking.refund(now - timedelta(hours=1), settled=False)
        booking.finish("cancelled", "paid", now + timedelta(days=20))
    elif kind < 8:  # paid and scheduled, the session past or ahead
        booking.paid(created + timedelta(minutes=5))
        booking.session(start)
        booking.values["scheduled_at"] = created + timedelta(minutes=8)
        booking.finish("scheduled", "paid", created + timedelta(days=90))
    elif kind in (8, 9, 18, 19) and created < now - timedelta(days=32):
        _history(booking, now)  # its validity or window is over: finished
    elif kind < 10:  # a monthly package under way: one session booked, validity ahead
        booking.package("monthly")
        booking.paid(created + timedelta(minutes=5))
        booking.session(start)
        booking.finish("paid", "paid", created + timedelta(days=90))
    elif kind < 15:  # never paid: waiting within its window, or expired with the link stopped
        if created > now - timedelta(days=1):
            booking.link()
            booking.values["payment_checked_at"] = now
            booking.finish("pending", "pending", created + timedelta(days=1))
        else:
            booking.expired_unpaid(deactivated=True, now=now)
    elif kind == 15:  # paid, then cancelled and refunded
        booking.paid(created + timedelta(minutes=5))
        booking.session(start, state="cancelled")
        cancelled = created + timedelta(hours=6)
        booking.values["cancelled_at"] = cancelled
        booking.refund(cancelled)
        booking.finish("cancelled", "refunded", created + timedelta(days=90))
    elif kind < 18:  # free discovery call, scheduled
        booking.package("discovery")
        booking.paid(created)
        booking.session(start)
        booking.values["scheduled_at"] = created + timedelta(minutes=8)
        booking.finish("scheduled", "paid", created + timedelta(days=30))
    else:  # free discovery call, not scheduled yet
        booking.package("discovery")
        booking.paid(created)
        booking.finish("paid", "paid", created + timedelta(days=30))


def _rows(first: int, count: int, now: datetime, keep_every: int) -> Batch:
    """Bookings first..first+count-1 with every row they leave behind, and the tokens kept."""
    entropy = os.urandom(48 * count)
    batch = Batch()
    present_span = PRESENT_DAYS * 24 * 3600
    history_span = HISTORY_DAYS * 24 * 3600
    for offset in range(count):
        number = first + offset
        chunk = entropy[48 * offset : 48 * offset + 48]
        spread = int.from_bytes(chunk[:4])
        if number < PRESENT_BOOKINGS:
            created = now - timedelta(seconds=spread % present_span)
            booking = _Booking(batch, number, chunk, created)
            _present(booking, now)
        else:
            created = now - timedelta(seconds=present_span + spread % history_span)
            booking = _Booking(batch, number, chunk, created)
            _history(booking, now)
        if offset % keep_every == 0:
            batch.kept.append(booking.token)
    return batch


async def seed(dsn: str, seeded: Seeded, count: int) -> None:
    """Append `count` bookings (and their rows) with COPY, then VACUUM ANALYZE.

    The vacuum matters: left to autovacuum, it would start in the middle of a measurement.
    """
    now = seeded.now
    keep_every = max(1, count // SAMPLE_PER_BATCH)
    kept_all: list[str] = []
    connection = await asyncpg.connect(dsn)
    try:
        for first in range(seeded.rows, seeded.rows + count, CHUNK_ROWS):
            size = min(CHUNK_ROWS, seeded.rows + count - first)
            batch = _rows(first, size, now, keep_every)
            kept_all.extend(batch.kept)
            if seeded.present_booking is None:
                seeded.present_booking = batch.ids[-1]
            if seeded.history_booking is None and first + size > PRESENT_BOOKINGS:
                seeded.history_booking = batch.ids[max(0, PRESENT_BOOKINGS - first)]
            for table, columns in TABLES:
                records = batch.rows[table]
                if records:
                    await connection.copy_records_to_table(
                        table, records=records, columns=list(columns)
                    )
        for table, _columns in TABLES:
            await connection.execute(f"VACUUM ANALYZE {table}")
        # Likewise the checkpoint that writes the new pages out: now, not during the timing.
        with contextlib.suppress(asyncpg.InsufficientPrivilegeError):
            await connection.execute("CHECKPOINT")
    finally:
        await connection.close()
    seeded.rows += count
    seeded.batches.append((count, kept_all))


def describe() -> str:
    """One line for logs: what the seed holds."""
    return json.dumps(
        {"present": PRESENT_BOOKINGS, "presentDays": PRESENT_DAYS, "historyDays": HISTORY_DAYS}
    )
