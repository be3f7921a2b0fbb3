"""Fill the bookings table fast (COPY) with realistic rows, keeping some tokens to query.

Rows look like a practice that has run for two years, in the steady state the sweep leaves:
half scheduled (paid, with a payment link, an intent and a Cal.com booking), three in ten expired
unpaid (their links deactivated, with that audit row), one in a thousand waiting for payment,
a fifth free and not yet scheduled. Every row has its own random token, of which only the
SHA-256 hash is stored, as the service does; the token of an evenly spread sample is kept so
that booking-status can be asked for old and new rows alike. Each booking also gets its
audit rows, since that table grows with bookings too.
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

# The order of the values in a row built by _rows().
BOOKING_COLUMNS = [
    *("id", "token_hash", "package_id", "amount_cents", "refunded_cents", "currency"),
    *("customer_name", "customer_email", "customer_phone", "customer_timezone", "notes"),
    *("metadata", "status", "payment_status", "payment_link_id", "payment_url"),
    *("payment_intent_id", "payment_checked_at", "cal_event_type_id", "schedule_lease_until"),
    *("expires_at", "created_at", "updated_at", "paid_at", "scheduled_at", "cancelled_at"),
    "expired_at",
    *("package_title", "duration_minutes", "sessions_total", "valid_days"),
]
# Each seeded package's snapshot, as booking-create copies it (see catalog/defaults.py).
SNAPSHOTS = {
    "discovery": ("Discovery call", 30, 1, None),
    "single": ("Single session", 60, 1, None),
}
# A scheduled booking's one session (the Cal.com booking lives on the session row).
SESSION_COLUMNS = (
    *("id", "booking_id", "state", "start_time", "end_time", "cal_event_type_id"),
    *("cal_booking_id", "cal_uid", "meeting_url", "created_at", "updated_at"),
)
EVENT_COLUMNS = (
    "booking_id",
    "event_type",
    "from_status",
    "to_status",
    "source",
    "data",
    "created_at",
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
    """One chunk of rows for COPY, and the tokens kept from it."""

    bookings: list[tuple[Any, ...]] = field(default_factory=list)
    sessions: list[tuple[Any, ...]] = field(default_factory=list)
    events: list[tuple[Any, ...]] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)


def _rows(first: int, count: int, now: datetime, keep_every: int) -> Batch:
    """Booking rows first..first+count-1, their sessions and audit rows, the tokens kept."""
    entropy = os.urandom(48 * count)
    batch = Batch()
    bookings = batch.bookings
    events = batch.events
    kept = batch.kept
    two_years = 2 * 365 * 24 * 3600
    for offset in range(count):
        number = first + offset
        chunk = entropy[48 * offset : 48 * offset + 48]
        token = _token(chunk[:32])
        if offset % keep_every == 0:
            kept.append(token)
        booking_id = uuid.UUID(bytes=chunk[32:], version=4)
        created = now - timedelta(seconds=int.from_bytes(chunk[:4]) % two_years)
        kind = number % 20
        common = {
            "package_id": "single",
            "amount_cents": 15000,
            "link": None,
            "url": None,
            "intent": None,
            "cal_id": None,
            "cal_uid": None,
            "start": None,
            "end": None,
            "meeting": None,
            "paid_at": None,
            "scheduled_at": None,
            "expired_at": None,
            "checked": None,
        }
        if kind < 10:  # paid and scheduled, on the hour as the coach's slots are
            start = created.replace(minute=0, second=0, microsecond=0)
            start += timedelta(days=3, hours=number % 9)
            common.update(
                status="scheduled",
                payment_status="paid",
                link=f"plink_seed_{number}",
                intent=f"int_seed_{number}",
                cal_id=CAL_ID_OFFSET + number,
                cal_uid=f"seeduid{number}",
                start=start,
                end=start + timedelta(hours=1),
                meeting=f"https://cal.example/video/seeduid{number}",
                paid_at=created + timedelta(minutes=5),
                scheduled_at=created + timedelta(minutes=8),
                expires=created + timedelta(days=90),
            )
        elif kind < 15 or (kind == 15 and number % 50):  # never paid, expired, link stopped
            common.update(
                status="expired",
                payment_status="pending",
                link=f"plink_seed_{number}",
                url=f"https://pay.example/pay/plink_seed_{number}",
                expires=created + timedelta(days=1),
                expired_at=created + timedelta(days=1, minutes=1),
                checked=created + timedelta(days=1, minutes=2),
            )
        elif kind == 15:  # waiting for payment, within its window: one booking in a thousand
            common.update(
                status="pending",
                payment_status="pending",
                link=f"plink_seed_{number}",
                url=f"https://pay.example/pay/plink_seed_{number}",
                expires=now + timedelta(days=1),
                checked=now,
            )
        else:  # free discovery call, not scheduled yet
            common.update(
                package_id="discovery",
                amount_cents=0,
                status="paid",
                payment_status="paid",
                paid_at=created,
                expires=now + timedelta(days=30),
            )
        bookings.append(
            (
                booking_id,
                hashlib.sha256(token.encode("ascii")).hexdigest(),
                common["package_id"],
                common["amount_cents"],
                0,
                "USD",
                f"Seeded Customer {number}",
                f"customer{number}@example.com",
                None,
                None,
                None,
                EMPTY_JSON,
                common["status"],
                common["payment_status"],
                common["link"],
                common["url"],
                common["intent"],
                common["checked"],
                1001 if common["package_id"] == "discovery" else 1002,
                None,
                common["expires"],
                created,
                created,
                common["paid_at"],
                common["scheduled_at"],
                None,
                common["expired_at"],
                *SNAPSHOTS[str(common["package_id"])],
            )
        )
        if common["cal_id"] is not None:
            batch.sessions.append(
                (
                    uuid.uuid4(),
                    booking_id,
                    "booked",
                    common["start"],
                    common["end"],
                    1002,
                    common["cal_id"],
                    common["cal_uid"],
                    common["meeting"],
                    common["scheduled_at"],
                    common["scheduled_at"],
                )
            )
        events.append(
            (
                booking_id,
                "booking_created",
                None,
                "pending" if common["amount_cents"] else "paid",
                "customer",
                json.dumps({"packageId": common["package_id"]}),
                created,
            )
        )
        if common["status"] == "expired":
            # What the sweep leaves behind: the unpaid link deactivated, once.
            events.append(
                (
                    booking_id,
                    "payment_link_deactivated",
                    "expired",
                    "expired",
                    "sweep",
                    json.dumps({"paymentLinkId": common["link"]}),
                    common["checked"],
                )
            )
    return batch


async def seed(dsn: str, seeded: Seeded, count: int) -> None:
    """Append `count` bookings (and their audit rows) with COPY, then VACUUM ANALYZE.

    The vacuum matters: left to autovacuum, it would start in the middle of a measurement.
    """
    now = datetime.now(UTC)
    keep_every = max(1, count // SAMPLE_PER_BATCH)
    kept_all: list[str] = []
    connection = await asyncpg.connect(dsn)
    try:
        for first in range(seeded.rows, seeded.rows + count, CHUNK_ROWS):
            size = min(CHUNK_ROWS, seeded.rows + count - first)
            batch = _rows(first, size, now, keep_every)
            kept_all.extend(batch.kept)
            await connection.copy_records_to_table(
                "bookings", records=batch.bookings, columns=BOOKING_COLUMNS
            )
            await connection.copy_records_to_table(
                "sessions", records=batch.sessions, columns=SESSION_COLUMNS
            )
            await connection.copy_records_to_table(
                "booking_events", records=batch.events, columns=EVENT_COLUMNS
            )
        await connection.execute("VACUUM ANALYZE bookings")
        await connection.execute("VACUUM ANALYZE sessions")
        await connection.execute("VACUUM ANALYZE booking_events")
        # Likewise the checkpoint that writes the new pages out: now, not during the timing.
        with contextlib.suppress(asyncpg.InsufficientPrivilegeError):
            await connection.execute("CHECKPOINT")
    finally:
        await connection.close()
    seeded.rows += count
    seeded.batches.append((count, kept_all))
