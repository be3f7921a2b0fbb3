"""A booking read never queues behind a write: booking-status answers while a writer is busy.

On SQLite every changing transaction holds the database's one write lock (BEGIN IMMEDIATE);
status reads used to take it too and waited in SQLite's busy handler (bench/RESULTS.md).
"""

from __future__ import annotations

import asyncio

from sessionbook.bookings.schemas import CreateBookingRequest
from sessionbook.core.db import SERVICE, Database
from tests.conftest import RunningServer
from tests.support.queries import set_booking


async def test_status_read_answers_while_a_write_transaction_is_open(
    server: RunningServer, owner_db: Database
) -> None:
    async with server.local_services() as services:
        created = await services.bookings.create(
            CreateBookingRequest.model_validate(
                {
                    "packageId": "discovery",
                    "customerName": "Patient Reader",
                    "customerEmail": "reader@example.com",
                }
            )
        )
        async with services.database.transaction(SERVICE) as writer:
            await writer.connection()  # the writer's transaction (on SQLite, its lock) is open
            # Well under SQLite's 30 s busy timeout: waiting for the lock would fail this.
            booking = await asyncio.wait_for(services.bookings.find_by_token(created.token), 10)
        assert booking.id == created.booking.id
        assert booking.status == "paid"
    # Out of the shared database's operator lists (waiting, unscheduled), which other tests read.
    await set_booking(owner_db, created.booking.id, status="cancelled")
