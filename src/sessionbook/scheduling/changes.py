"""Scheduling changes made on a locked booking row: claim and lease, adopt, release.

Each function runs inside the caller's transaction, after the caller locked the booking, and
writes its audit row through `record_change`. The lease (`schedule_lease_until`) doubles as a
fencing token: whoever set that exact instant is the one allowed to finish the attempt.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from sessionbook.bookings.models import Booking, BookingStatus
from sessionbook.bookings.ports import BookingNews
from sessionbook.bookings.repository import BookingRepository
from sessionbook.bookings.tokens import hash_token, hashes_match, is_well_formed
from sessionbook.bookings.transitions import record_change
from sessionbook.core.api_models import format_utc
from sessionbook.core.errors import BookingNotFound, BookingNotSchedulable, SlotUnavailable
from sessionbook.scheduling.calcom.calendar import CalBooking
from sessionbook.scheduling.models import SlotClaim
from sessionbook.scheduling.repository import ClaimRepository

# Audit event types of the scheduling domain.
STARTED = "scheduling_started"
SCHEDULED = "booking_scheduled"
RESCHEDULED = "booking_rescheduled"
FAILED = "scheduling_failed"  # nothing was made at Cal.com; the claim is released
UNCONFIRMED = "scheduling_unconfirmed"  # Cal.com failed and showed nothing made; released
IN_DOUBT = "scheduling_in_doubt"  # Cal.com could not even be asked; claim kept for recovery
RELEASED = "scheduling_released"  # recovery found nothing at Cal.com; claim released
CANCELLED = "booking_cancelled"
CALENDAR_CANCELLED = "calendar_booking_cancelled"

SLOT_TAKEN_MESSAGE = (
    "That time has just been taken. Please pick another time; your booking is kept as it was."
)
BEING_SCHEDULED = (
    "This booking is already being scheduled or changed by another request. "
    "Please wait a moment and check its status."
)
CALENDAR_IN_DOUBT = (
    "The calendar is not answering and we could not confirm whether the time was booked. "
    "Your booking is kept; please retry in a moment."
)


@dataclass(frozen=True, slots=True)
class Repos:
    """The repositories of one transaction."""

    bookings: BookingRepository
    claims: ClaimRepository

    @classmethod
    def of(cls, session: AsyncSession) -> Repos:
        return cls(BookingRepository(session), ClaimRepository(session))


def token_hash_of(token: str) -> str:
    """The stored hash of a presented token; malformed tokens are unknown ones (404)."""
    if not is_well_formed(token):
        raise BookingNotFound()
    return hash_token(token)


async def locked_by_token(repos: Repos, token_hash: str, token: str) -> Booking:
    """The booking this token opens, locked for the rest of the transaction."""
    booking = await repos.bookings.by_token_hash(token_hash, for_update=True)
    if booking is None or not hashes_match(booking.token_hash, token):
        raise BookingNotFound()
    return booking


def lease_active(booking: Booking, now: datetime) -> bool:
    return booking.schedule_lease_until is not None and booking.schedule_lease_until > now


def check_cutoff(booking: Booking, now: datetime, cutoff: timedelta, verb: str) -> None:
    """Refuse a change within `cutoff` before the session starts."""
    start = booking.scheduled_start
    if start is not None and now > start - cutoff:
        hours = cutoff / timedelta(hours=1)
        raise BookingNotSchedulable(
            f"A session can be {verb} only up to {hours:g} hours before it starts; "
            f"this one starts at {format_utc(start)}."
        )


def pending_claims(booking: Booking, claims: list[SlotClaim]) -> list[SlotClaim]:
    """Claims that are not the held slot of the booking's current Cal.com booking."""
    if booking.status != BookingStatus.SCHEDULED or booking.scheduled_start is None:
        return list(claims)
    return [claim for claim in claims if claim.start_time != booking.scheduled_start]


def adoptable(booking: Booking) -> bool:
    """A Cal.com booking made for this booking may become its booking in these states."""
    if booking.status == BookingStatus.PAID:
        return booking.cal_uid is None
    return booking.status == BookingStatus.SCHEDULED


async def take_slot(
    repos: Repos,
    booking: Booking,
    *,
    event_type_id: int,
    start: datetime,
    end: datetime,
    lease: datetime,
    now: datetime,
    data: dict[str, Any],
) -> None:
    """Claim the slot and lease the booking in one go, before anyone calls Cal.com.

    The unique (event type, start) of slot_claims decides races between bookings; the loser's
    whole transaction, lease included, rolls back.
    """
    claim = SlotClaim(
        booking_id=booking.id,
        event_type_id=event_type_id,
        start_time=start,
        end_time=end,
        claimed_at=now,
    )
    try:
        await repos.claims.add(claim)
    except IntegrityError:
        raise SlotUnavailable(SLOT_TAKEN_MESSAGE) from None
    booking.schedule_lease_until = lease
    await record_change(
        repos.bookings, booking, event_type=STARTED, source="customer", now=now, data=data
    )


async def adopt(
    repos: Repos,
    booking: Booking,
    made: CalBooking,
    *,
    news: BookingNews,
    now: datetime,
    source: str,
    data: dict[str, Any] | None = None,
) -> None:
    """Make `made` the booking's Cal.com booking: scheduled (or moved), claim kept, lease ended."""
    claims = list(await repos.claims.of_booking(booking.id))
    keep = [c for c in claims if c.start_time == made.start]
    await repos.claims.remove(c for c in claims if c not in keep)
    if not keep:
        # Only after a recovery: Cal.com holds the time for us, so no other booking of ours can
        # rightly hold the claim; if one does it is in flight and Cal.com will refuse it.
        await repos.claims.add_if_free(
            SlotClaim(
                booking_id=booking.id,
                event_type_id=made.event_type_id,
                start_time=made.start,
                end_time=made.end,
                claimed_at=now,
            )
        )
    moved = booking.status == BookingStatus.SCHEDULED
    details: dict[str, Any] = {
        "calBookingId": made.id,
        "calUid": made.uid,
        "start": format_utc(made.start),
        "end": format_utc(made.end),
        **(data or {}),
    }
    if moved and booking.scheduled_start is not None:
        details["fromStart"] = format_utc(booking.scheduled_start)
        details["fromCalUid"] = booking.cal_uid
    booking.cal_booking_id = made.id
    booking.cal_uid = made.uid
    booking.cal_event_type_id = made.event_type_id
    booking.scheduled_start = made.start
    booking.scheduled_end = made.end
    booking.meeting_url = made.meeting_url
    booking.schedule_lease_until = None
    await record_change(
        repos.bookings,
        booking,
        event_type=RESCHEDULED if moved else SCHEDULED,
        source=source,
        now=now,
        status=BookingStatus.SCHEDULED,
        data=details,
    )
    # In the same transaction: the confirmation exists if and only if the booking is scheduled.
    await news.booking_confirmed(repos.bookings.session, booking)


async def release(
    repos: Repos,
    booking: Booking,
    *,
    now: datetime,
    source: str,
    event_type: str,
    data: dict[str, Any],
    keep_claims: bool = False,
) -> None:
    """End an attempt that made nothing: drop its claims and the lease, say why in the audit.

    With `keep_claims` (Cal.com could not be asked whether it booked) the claim stays and the
    lease is left lapsed, so the next request or sweep asks Cal.com before anything else.
    """
    if keep_claims:
        booking.schedule_lease_until = now
    else:
        claims = list(await repos.claims.of_booking(booking.id))
        await repos.claims.remove(pending_claims(booking, claims))
        booking.schedule_lease_until = None
    await record_change(
        repos.bookings, booking, event_type=event_type, source=source, now=now, data=data
    )
