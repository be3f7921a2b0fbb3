"""Driving the whole app and its in-process Cal.com stand-in over HTTP, for scheduling tests."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import delete, select

from sessionbook.core.db import SERVICE, Database, utcnow
from sessionbook.core.settings import SANDBOX_CAL_API_KEY, SANDBOX_EVENT_TYPE_IDS
from sessionbook.scheduling.calcom.calendar import CalBooking
from sessionbook.scheduling.calcom.client import CalComClient
from sessionbook.scheduling.models import SlotClaim
from tests.conftest import RunningServer
from tests.payments.shop import eventually
from tests.support.queries import set_booking

CAL = "/sandbox/cal"
FREE = {
    "packageId": "discovery",
    "customerName": "Ada Lovelace",
    "customerEmail": "ada@example.com",
}
SINGLE = {**FREE, "packageId": "single"}


@dataclass
class Flow:
    """A customer's requests, the Cal.com stand-in's test hooks and the database, together."""

    server: RunningServer
    http: httpx.AsyncClient
    db: Database

    # -- customer side -------------------------------------------------------------------

    async def create(self, body: dict[str, Any] | None = None) -> dict[str, Any]:
        answer = await self.http.post("/functions/v1/booking-create", json=body or FREE)
        assert answer.status_code == 201, answer.text
        created: dict[str, Any] = answer.json()
        return created

    async def create_paid(self, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """A single-session booking marked paid behind the API's back (payment not under test)."""
        created = await self.create(body or SINGLE)
        await set_booking(
            self.db, created["bookingId"], status="paid", payment_status="paid", paid_at=utcnow()
        )
        return created

    async def pay(self, created: dict[str, Any]) -> None:
        """Pay through the Airwallex stand-in, as a customer would, and wait for the webhook."""
        link_id = created["paymentUrl"].rsplit("/", 1)[-1]
        answer = await self.http.post(
            f"/sandbox/airwallex/_sandbox/pay/{link_id}", json={"outcome": "succeeded"}
        )
        assert answer.status_code == 200, answer.text
        await eventually(lambda: self.status(created), lambda seen: seen["status"] == "paid")

    async def status(self, created: dict[str, Any]) -> dict[str, Any]:
        answer = await self.http.get(
            "/functions/v1/booking-status", headers={"X-Booking-Token": created["bookingToken"]}
        )
        assert answer.status_code == 200, answer.text
        data: dict[str, Any] = answer.json()
        return data

    async def slots_response(
        self, token: str, first: date | str, last: date | str, time_zone: str | None = None
    ) -> httpx.Response:
        params = {"start": str(first), "end": str(last)}
        if time_zone is not None:
            params["timezone"] = time_zone
        return await self.http.get(
            "/functions/v1/booking-slots", params=params, headers={"X-Booking-Token": token}
        )

    async def free_slots(
        self, created: dict[str, Any], days: int = 14, *, from_day: int = 0
    ) -> list[dict[str, str]]:
        """Offered times from `from_day` days ahead (0: today) for `days` more days."""
        first = self.now().date() + timedelta(days=from_day)
        answer = await self.slots_response(
            created["bookingToken"], first, first + timedelta(days=days)
        )
        assert answer.status_code == 200, answer.text
        slots: list[dict[str, str]] = answer.json()["slots"]
        assert slots, "the sandbox offers times every day"
        return slots

    async def schedule(
        self, created: dict[str, Any], slot: dict[str, str], **extra: Any
    ) -> httpx.Response:
        body = {
            "bookingToken": created["bookingToken"],
            "startTime": slot["start"],
            "endTime": slot["end"],
            **extra,
        }
        return await self.http.post("/functions/v1/booking-schedule", json=body)

    async def reschedule(self, created: dict[str, Any], slot: dict[str, str]) -> httpx.Response:
        body = {
            "bookingToken": created["bookingToken"],
            "startTime": slot["start"],
            "endTime": slot["end"],
        }
        return await self.http.post("/functions/v1/booking-reschedule", json=body)

    async def cancel(self, created: dict[str, Any], reason: str | None = None) -> httpx.Response:
        body: dict[str, Any] = {"bookingToken": created["bookingToken"]}
        if reason is not None:
            body["reason"] = reason
        return await self.http.post("/functions/v1/booking-cancel", json=body)

    # -- the Cal.com stand-in ------------------------------------------------------------

    async def cal_bookings(self) -> list[dict[str, Any]]:
        answer = await self.http.get(f"{CAL}/_sandbox/bookings")
        answer.raise_for_status()
        data: list[dict[str, Any]] = answer.json()["data"]
        return data

    async def cal_requests(self, method: str, path_prefix: str) -> list[dict[str, str]]:
        answer = await self.http.get(f"{CAL}/_sandbox/requests")
        answer.raise_for_status()
        seen: list[dict[str, str]] = answer.json()["data"]
        return [r for r in seen if r["method"] == method and r["path"].startswith(path_prefix)]

    async def cal_fault(self, **fault: Any) -> None:
        (await self.http.post(f"{CAL}/_sandbox/faults", json=fault)).raise_for_status()

    def calendar_client(self) -> CalComClient:
        """A Cal.com client of our own, as if someone else (or a dying worker) used the API."""
        return CalComClient(f"{self.server.url}{CAL}/v2", SANDBOX_CAL_API_KEY, backoff_seconds=0.01)

    async def book_at_cal(
        self, start: datetime, *, name: str, email: str, metadata: dict[str, str]
    ) -> CalBooking:
        """Book a single session straight at Cal.com, behind our service's back."""
        async with self.calendar_client() as calendar:
            return await calendar.create_booking(
                event_type_id=SANDBOX_EVENT_TYPE_IDS["single"],
                start=start,
                duration_minutes=60,
                attendee_name=name,
                attendee_email=email,
                attendee_time_zone="UTC",
                attendee_phone=None,
                notes=None,
                metadata=metadata,
            )

    # -- time ----------------------------------------------------------------------------

    def now(self) -> datetime:
        return self.server.services.scheduling.clock()

    async def set_now(self, moment: datetime) -> None:
        """Move both clocks: the stand-in's (what Cal.com offers) and ours (past, cutoff)."""
        answer = await self.http.post(f"{CAL}/_sandbox/clock", json={"now": moment.isoformat()})
        answer.raise_for_status()
        self.set_our_clock(lambda: moment)

    def set_our_clock(self, clock: Callable[[], datetime]) -> None:
        self.server.services.scheduling.clock = clock

    # -- the database --------------------------------------------------------------------

    async def claims(self, booking_id: str) -> list[tuple[datetime, datetime]]:
        async with self.db.transaction(SERVICE) as session:
            rows = await session.execute(
                select(SlotClaim.start_time, SlotClaim.end_time).where(
                    SlotClaim.booking_id == uuid.UUID(booking_id)
                )
            )
            return [(row[0], row[1]) for row in rows]

    async def add_claim(
        self, booking_id: str, start: datetime, end: datetime, package: str = "discovery"
    ) -> None:
        """A claim as a schedule request takes it, written behind the API's back."""
        event_type_id = SANDBOX_EVENT_TYPE_IDS[package]  # type: ignore[index]
        async with self.db.transaction(SERVICE) as session:
            session.add(
                SlotClaim(
                    booking_id=uuid.UUID(booking_id),
                    event_type_id=event_type_id,
                    start_time=start,
                    end_time=end,
                    claimed_at=utcnow(),
                )
            )

    async def reset(self) -> None:
        """A clean calendar for each test: no Cal.com bookings, faults, claims or cached slots."""
        (await self.http.post(f"{CAL}/_sandbox/reset")).raise_for_status()
        async with self.db.transaction(SERVICE) as session:
            await session.execute(delete(SlotClaim))
        scheduling = self.server.services.scheduling
        scheduling.slot_cache.clear()
        scheduling.clock = utcnow


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
