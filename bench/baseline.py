"""The yardstick: booking-status as a bare Starlette + asyncpg app, with nothing else around it.

One indexed SELECT by token hash on the same PostgreSQL table, the same JSON shape as the
real route, no ORM, no validation models, no middleware, no row-level security (it connects
as the table's owner). What sessionbook adds on top of this is what the ratio measures.
Run by bench/run.py as `uvicorn --factory bench.baseline:create_app`, with BENCH_BASELINE_DSN.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import asyncpg
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

# The booking by its token hash and, as our status answers, its next booked session (sessions
# moved to their own table; the old single-table query failed on every request since).
QUERY = """
SELECT b.id, b.status, b.payment_status, b.package_id, b.amount_cents, b.currency,
       b.customer_name, b.customer_email, s.start_time AS scheduled_start,
       s.end_time AS scheduled_end, s.meeting_url, s.cal_booking_id,
       b.expires_at, b.created_at, b.payment_url
FROM bookings AS b
LEFT JOIN LATERAL (
    SELECT start_time, end_time, meeting_url, cal_booking_id FROM sessions
    WHERE booking_id = b.id AND state = 'booked' AND end_time > now()
    ORDER BY start_time LIMIT 1
) AS s ON true
WHERE b.token_hash = $1
"""


def _utc(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    moment = moment.astimezone(UTC)
    if moment.microsecond:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _shape(row: Any) -> dict[str, Any]:
    payment_open = row["status"] == "pending" and row["payment_status"] in ("pending", "failed")
    return {
        "id": str(row["id"]),
        "status": row["status"],
        "paymentStatus": row["payment_status"],
        "packageId": row["package_id"],
        "amountCents": row["amount_cents"],
        "currency": row["currency"],
        "customerName": row["customer_name"],
        "customerEmail": row["customer_email"],
        "scheduledStart": _utc(row["scheduled_start"]),
        "scheduledEnd": _utc(row["scheduled_end"]),
        "meetingUrl": row["meeting_url"],
        "calBookingId": row["cal_booking_id"],
        "expiresAt": _utc(row["expires_at"]),
        "createdAt": _utc(row["created_at"]),
        "paymentUrl": row["payment_url"] if payment_open else None,
    }


def create_app() -> Starlette:
    dsn = os.environ["BENCH_BASELINE_DSN"]
    pool_size = int(os.environ.get("BENCH_BASELINE_POOL", "10"))
    state: dict[str, asyncpg.Pool] = {}

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        state["pool"] = await asyncpg.create_pool(dsn, min_size=pool_size, max_size=pool_size)
        try:
            yield
        finally:
            await state["pool"].close()

    async def booking_status(request: Request) -> JSONResponse:
        token = request.headers.get("x-booking-token") or request.query_params.get("token")
        if not token:
            return JSONResponse({"error": {"code": "validation_error"}}, status_code=400)
        token_hash = hashlib.sha256(token.encode()).hexdigest()
        row = await state["pool"].fetchrow(QUERY, token_hash)
        if row is None:
            return JSONResponse({"error": {"code": "booking_not_found"}}, status_code=404)
        return JSONResponse(_shape(row), headers={"Cache-Control": "no-store"})

    return Starlette(
        routes=[Route("/functions/v1/booking-status", booking_status)], lifespan=lifespan
    )
