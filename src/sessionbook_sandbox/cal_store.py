"""The Cal.com stand-in's memory: event types, bookings, injected faults and seen requests."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sessionbook_sandbox.cal_availability import AvailabilityPolicy, Interval, format_utc

# Cal.com booking uids are 22 characters of short-uuid's base58 alphabet.
_UID_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_UID_LENGTH = 22

Clock = Callable[[], datetime]


# Cal.com's default location: every booking gets a Cal Video room.
CAL_VIDEO_LOCATION: tuple[dict[str, str], ...] = (
    {"type": "integration", "integration": "cal-video"},
)


@dataclass(frozen=True, slots=True)
class EventTypeSpec:
    """One event type of the sandbox host; `locations` as GET /v2/event-types answers them."""

    length_minutes: int
    title: str
    slug: str
    locations: tuple[dict[str, str], ...] = CAL_VIDEO_LOCATION


@dataclass(frozen=True, slots=True)
class HostProfile:
    """The single Cal.com user who owns every event type of the sandbox."""

    id: int
    name: str
    email: str
    username: str
    time_zone: str


@dataclass(slots=True)
class StoredBooking:
    id: int
    uid: str
    event_type_id: int
    title: str
    start: datetime
    end: datetime
    attendee_name: str
    attendee_email: str
    attendee_time_zone: str
    attendee_phone: str | None
    attendee_language: str
    metadata: dict[str, Any]
    responses: dict[str, Any]
    location: str
    created_at: datetime
    status: str = "accepted"
    updated_at: datetime | None = None
    cancellation_reason: str | None = None
    cancelled_by_email: str | None = None
    rescheduling_reason: str | None = None
    rescheduled_from_uid: str | None = None
    rescheduled_to_uid: str | None = None

    @property
    def is_active(self) -> bool:
        return self.status in {"accepted", "pending"}


@dataclass(slots=True)
class Fault:
    """An injected failure: the next `remaining` matching requests fail or stall."""

    path_prefix: str
    method: str | None
    status: int | None
    remaining: int
    delay_seconds: float
    after_success: bool
    retry_after_seconds: float | None
    html_body: bool = False

    def matches(self, method: str, path: str) -> bool:
        return (
            self.remaining > 0
            and path.startswith(self.path_prefix)
            and (self.method is None or self.method == method)
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "path_prefix": self.path_prefix,
            "method": self.method,
            "status": self.status,
            "remaining": self.remaining,
            "delay_seconds": self.delay_seconds,
            "after_success": self.after_success,
            "retry_after_seconds": self.retry_after_seconds,
            "html_body": self.html_body,
        }


@dataclass(slots=True)
class CalSandboxStore:
    """Everything the stand-in remembers; booking changes happen under `booking_lock()`."""

    api_key: str
    event_types: dict[int, EventTypeSpec]
    host: HostProfile
    policy: AvailabilityPolicy
    public_base_url: str
    clock: Clock
    bookings: dict[str, StoredBooking] = field(default_factory=dict)
    faults: list[Fault] = field(default_factory=list)
    requests_seen: list[dict[str, str]] = field(default_factory=list)
    clock_override: datetime | None = None
    next_booking_id: int = 1
    _lock: asyncio.Lock | None = None
    _lock_loop: asyncio.AbstractEventLoop | None = None

    def booking_lock(self) -> asyncio.Lock:
        """The lock that makes check-then-book atomic, so that racing creates for one slot give
        exactly one booking (as Cal.com's own conflict checks do).

        Made per event loop: the same app may be served by several loops in turn (tests).
        """
        loop = asyncio.get_running_loop()
        if self._lock is None or self._lock_loop is not loop:
            self._lock = asyncio.Lock()
            self._lock_loop = loop
        return self._lock

    def now(self) -> datetime:
        return (self.clock_override or self.clock()).astimezone(UTC)

    def reset(self) -> None:
        self.bookings.clear()
        self.faults.clear()
        self.requests_seen.clear()
        self.clock_override = None
        # Ids keep growing, as Cal.com's do: a database may still hold ids from before the reset.

    def busy(self, *, ignoring_uid: str | None = None) -> Iterator[Interval]:
        """The host's taken intervals: every active booking, of any event type."""
        for booking in self.bookings.values():
            if booking.is_active and booking.uid != ignoring_uid:
                yield booking.start, booking.end

    def take_fault(self, method: str, path: str) -> Fault | None:
        for fault in self.faults:
            if fault.matches(method, path):
                fault.remaining -= 1
                return fault
        return None

    def new_booking(
        self,
        *,
        event_type_id: int,
        start: datetime,
        attendee_name: str,
        attendee_email: str,
        attendee_time_zone: str,
        attendee_phone: str | None,
        attendee_language: str,
        metadata: dict[str, Any],
        responses: dict[str, Any],
    ) -> StoredBooking:
        """Store an accepted booking; the caller holds the lock and has checked the slot."""
        event_type = self.event_types[event_type_id]
        uid = "".join(secrets.choice(_UID_ALPHABET) for _ in range(_UID_LENGTH))
        booking = StoredBooking(
            id=self.next_booking_id,
            uid=uid,
            event_type_id=event_type_id,
            # Cal.com's default event name: "{Event type title} between {host} and {attendee}".
            title=f"{event_type.title} between {self.host.name} and {attendee_name}",
            start=start,
            end=start + timedelta(minutes=event_type.length_minutes),
            attendee_name=attendee_name,
            attendee_email=attendee_email,
            attendee_time_zone=attendee_time_zone,
            attendee_phone=attendee_phone,
            attendee_language=attendee_language,
            metadata=metadata,
            responses=responses,
            location=f"{self.public_base_url}/video/{uid}",
            created_at=self.now(),
        )
        self.next_booking_id += 1
        self.bookings[uid] = booking
        return booking

    def booking_json(self, booking: StoredBooking) -> dict[str, Any]:
        """BookingOutput_2024_08_13 (optional fields left out when empty, as Cal.com does)."""
        event_type = self.event_types[booking.event_type_id]
        attendee: dict[str, Any] = {
            "name": booking.attendee_name,
            "email": booking.attendee_email,
            "displayEmail": booking.attendee_email,
            "timeZone": booking.attendee_time_zone,
            "language": booking.attendee_language,
            "absent": False,
        }
        if booking.attendee_phone:
            attendee["phoneNumber"] = booking.attendee_phone
        output: dict[str, Any] = {
            "id": booking.id,
            "uid": booking.uid,
            "title": booking.title,
            "description": str(booking.responses.get("notes") or ""),
            "hosts": [
                {
                    "id": self.host.id,
                    "name": self.host.name,
                    "email": self.host.email,
                    "displayEmail": self.host.email,
                    "username": self.host.username,
                    "timeZone": self.host.time_zone,
                }
            ],
            "status": booking.status,
            "cancellationReason": booking.cancellation_reason,
            "cancelledByEmail": booking.cancelled_by_email,
            "reschedulingReason": booking.rescheduling_reason,
            "rescheduledFromUid": booking.rescheduled_from_uid,
            "rescheduledToUid": booking.rescheduled_to_uid,
            "start": format_utc(booking.start),
            "end": format_utc(booking.end),
            "duration": int((booking.end - booking.start) / timedelta(minutes=1)),
            "eventTypeId": booking.event_type_id,
            "eventType": {"id": booking.event_type_id, "slug": event_type.slug},
            "meetingUrl": booking.location,
            "location": booking.location,
            "absentHost": False,
            "createdAt": format_utc(booking.created_at),
            "updatedAt": format_utc(booking.updated_at) if booking.updated_at else None,
            "metadata": dict(booking.metadata),
            "icsUid": f"{booking.uid}@Cal.com",
            "attendees": [attendee],
            "guests": [],
            "bookingFieldsResponses": dict(booking.responses),
        }
        optional = {
            "cancellationReason",
            "cancelledByEmail",
            "reschedulingReason",
            "rescheduledFromUid",
            "rescheduledToUid",
        }
        return {k: v for k, v in output.items() if not (k in optional and v is None)}
