"""The Calendar port: what the booking service needs from a scheduling provider, and its values."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol


def _require_aware(name: str, value: datetime) -> None:
    # A naive datetime here is always a bug: the whole service keeps instants in UTC.
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got {value!r}")


@dataclass(frozen=True, slots=True)
class Slot:
    """A free time the provider offers, as two aware instants (UTC)."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        _require_aware("start", self.start)
        _require_aware("end", self.end)
        if self.end <= self.start:
            raise ValueError("slot end must be after its start")

    @property
    def duration(self) -> timedelta:
        return self.end - self.start


@dataclass(frozen=True, slots=True)
class CalBooking:
    """A booking as the provider holds it.

    `status` is the provider's word ("accepted", "pending", "cancelled", "rejected").
    `metadata` is what we attached at creation (our own booking id among it), as strings.
    """

    id: int
    uid: str
    status: str
    start: datetime
    end: datetime
    meeting_url: str | None
    event_type_id: int
    metadata: dict[str, str] = field(default_factory=dict)
    # Set on a booking moved away: the uid of the booking that replaced it.
    rescheduled_to_uid: str | None = None

    def __post_init__(self) -> None:
        _require_aware("start", self.start)
        _require_aware("end", self.end)

    @property
    def is_active(self) -> bool:
        """True while the booking holds its time (not cancelled, rejected or rescheduled away)."""
        return self.status in {"accepted", "pending"}


# Location types whose every booking gets a video call: a conferencing app (Cal Video, Google
# Meet, Zoom, ...) or the organizer's default one. A fixed "link" does not count: Cal.com cannot
# tell whether it leads to a call.
VIDEO_LOCATION_TYPES = frozenset({"integration", "organizersDefaultApp", "conferencing"})


@dataclass(frozen=True, slots=True)
class EventLocation:
    """Where an event type's meetings happen: Cal.com's location `type`, and the app if any."""

    type: str
    integration: str | None = None

    @property
    def is_video(self) -> bool:
        return self.type in VIDEO_LOCATION_TYPES

    def describe(self) -> str:
        """The app's slug ("cal-video", "zoom") when there is one, else the type ("address")."""
        return self.integration or self.type


@dataclass(frozen=True, slots=True)
class EventType:
    """What `sessionbook doctor` checks of an event type: its length and its locations."""

    id: int
    length_minutes: int
    locations: tuple[EventLocation, ...]

    @property
    def video_locations(self) -> tuple[EventLocation, ...]:
        return tuple(location for location in self.locations if location.is_video)


class Calendar(Protocol):
    """A scheduling provider (Cal.com in production and in the sandbox alike)."""

    async def get_slots(
        self,
        *,
        event_type_id: int,
        start: datetime,
        end: datetime,
        time_zone: str,
        duration_minutes: int,
    ) -> list[Slot]:
        """Free slots whose start lies in [start, end), sorted, in UTC.

        `time_zone` is the viewer's zone: it decides how the provider groups days, not which
        instants are returned. `duration_minutes` is the catalog's length and sets `Slot.end`.
        """
        ...

    async def create_booking(
        self,
        *,
        event_type_id: int,
        start: datetime,
        duration_minutes: int,
        attendee_name: str,
        attendee_email: str,
        attendee_time_zone: str,
        attendee_phone: str | None,
        notes: str | None,
        metadata: dict[str, str],
    ) -> CalBooking:
        """Book `start`. Never retried inside: a lost answer may still mean "booked".

        Raises CalendarSlotTaken when the provider refuses the time. After CalendarUnavailable the
        caller should look the booking up with `find_bookings_by_metadata` before trying again.
        """
        ...

    async def get_booking(self, uid: str) -> CalBooking:
        """The booking with this uid; CalendarNotFound when there is none."""
        ...

    async def find_bookings_by_metadata(
        self,
        *,
        attendee_email: str,
        start_from: datetime,
        end_until: datetime,
        metadata: dict[str, str],
        event_type_id: int | None = None,
    ) -> list[CalBooking]:
        """Bookings of this attendee starting at or after `start_from` and ending at or before
        `end_until` whose metadata contains every given key/value (any status).

        This is how a booking made just before a crash or a lost response is found again.
        """
        ...

    async def cancel_booking(self, uid: str, reason: str) -> None:
        """Cancel; idempotent (cancelling a cancelled booking succeeds)."""
        ...

    async def reschedule_booking(
        self, uid: str, new_start: datetime, reason: str | None
    ) -> CalBooking:
        """Move a booking; returns the new booking (the provider gives it a new uid)."""
        ...

    async def get_event_type_length(self, event_type_id: int) -> int:
        """The event type's length in minutes (checked against the catalog at start-up)."""
        ...

    async def get_event_type(self, event_type_id: int) -> EventType:
        """The event type's length and locations; CalendarNotFound when there is none."""
        ...
