"""Scheduling changes made on a locked booking row: claim and lease, adopt, release.

Each function runs inside the caller's transaction, after the caller locked the booking, and
writes its audit row through `record_change`. The lease (`schedule_lease_until`) doubles as a
fencing token: whoever set that exact instant is the one allowed to finish the attempt.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from sessionbook.bookings.errors import BookingNotFound, BookingNotSchedulable
from sessionbook.bookings.models import (
    Booking,
    BookingSession,
    BookingStatus,
    CancelledBy,
    SessionState,
)
from sessionbook.bookings.ports import BookingNews
from sessionbook.bookings.repository import BookingRepository
from sessionbook.bookings.sessions import all_booked, sessions_remaining
from sessionbook.bookings.tokens import hash_token, hashes_match, is_well_formed
from sessionbook.bookings.transitions import record_change
from sessionbook.core.api_models import format_utc
from sessionbook.core.errors import ValidationFailed
from sessionbook.scheduling.calcom.calendar import CalBooking
from sessionbook.scheduling.errors import SessionNotFound, SlotUnavailable
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
SESSION_CANCELLED = "session_cancelled"
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


async def resolve_session(
    repos: Repos, booking: Booking, live: list[BookingSession], session_id: uuid.UUID | None
) -> BookingSession | None:
    """The live session a change names, or the only one when it names none.

    SessionNotFound for an id that is not this booking's; ValidationFailed naming `sessionId`
    when none is named and the booking holds more than one; None when it holds none.
    """
    if session_id is None:
        if len(live) > 1:
            raise ValidationFailed(
                "This booking holds several sessions: say which one with sessionId.",
                fields={"sessionId": "is required when the booking holds more than one session"},
            )
        return live[0] if live else None
    session = await repos.bookings.session_by_id(booking.id, session_id)
    if session is None:
        raise SessionNotFound()
    if session.state != SessionState.BOOKED:
        raise BookingNotSchedulable("This session was cancelled already.")
    return session


def lease_active(booking: Booking, now: datetime) -> bool:
    return booking.schedule_lease_until is not None and booking.schedule_lease_until > now


def check_cutoff(start: datetime, now: datetime, cutoff: timedelta, verb: str) -> None:
    """Refuse a change within `cutoff` before the session starting at `start`."""
    if now > start - cutoff:
        hours = cutoff / timedelta(hours=1)
        raise BookingNotSchedulable(
            f"A session can be {verb} only up to {hours:g} hours before it starts; "
            f"this one starts at {format_utc(start)}."
        )


def pending_claims(claims: list[SlotClaim]) -> list[SlotClaim]:
    """Claims of attempts that never finished: no session holds them."""
    return [claim for claim in claims if claim.session_id is None]


def status_for(booking: Booking, live_count: int) -> BookingStatus:
    """`scheduled` once every session the booking may hold is booked, else `paid`."""
    return BookingStatus.SCHEDULED if all_booked(booking, live_count) else BookingStatus.PAID


async def adoptable_as(
    repos: Repos, booking: Booking, made: CalBooking, session_id: uuid.UUID
) -> BookingSession | bool | None:
    """Whether `made` may become session `session_id` of this booking.

    The session itself when `made` moves it; None when `made` is a new session with room for
    it (a session left, no overlap, within the validity); False when it may not be adopted.
    """
    if booking.status not in (BookingStatus.PAID, BookingStatus.SCHEDULED):
        return False
    live = await repos.bookings.sessions_of(booking.id)
    existing = await repos.bookings.session_by_id(booking.id, session_id)
    if existing is not None:
        return existing if existing.state == SessionState.BOOKED else False
    if sessions_remaining(booking, len(live)) == 0:
        return False
    if booking.sessions_valid_until is not None and made.start >= booking.sessions_valid_until:
        return False
    if any(s.start_time < made.end and made.start < s.end_time for s in live):
        return False
    return None


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
    session_id: uuid.UUID,
    moving: BookingSession | None,
    news: BookingNews,
    now: datetime,
    source: str,
    data: dict[str, Any] | None = None,
) -> BookingSession:
    """Record `made` as the session `session_id` (new, or `moving` moved); lease ended.

    The caller checked `adoptable_as`. The slot claim at the new time now names the session;
    the moved session's old claim and any claim of the attempt at another time go.
    """
    claims = list(await repos.claims.of_booking(booking.id))
    keep = [c for c in claims if c.start_time == made.start and c.session_id in (None, session_id)]
    await repos.claims.remove(
        c for c in claims if c not in keep and (c.session_id is None or c.session_id == session_id)
    )
    details: dict[str, Any] = {
        "sessionId": str(session_id),
        "calBookingId": made.id,
        "calUid": made.uid,
        "start": format_utc(made.start),
        "end": format_utc(made.end),
        **(data or {}),
    }
    if moving is not None:
        details["fromStart"] = format_utc(moving.start_time)
        details["fromCalUid"] = moving.cal_uid
        session = moving
    else:
        session = BookingSession(
            id=session_id,
            booking_id=booking.id,
            state=SessionState.BOOKED.value,
            created_at=now,
        )
    session.start_time = made.start
    session.end_time = made.end
    session.cal_event_type_id = made.event_type_id
    session.cal_booking_id = made.id
    session.cal_uid = made.uid
    session.meeting_url = made.meeting_url
    session.updated_at = now
    if moving is None:
        await repos.bookings.add_session(session)
    else:
        await repos.bookings.session.flush()
    for claim in keep:
        claim.session_id = session.id
    if not keep:
        # Only after a recovery: Cal.com holds the time for us, so no other booking of ours can
        # rightly hold the claim; if one does it is in flight and Cal.com will refuse it.
        await repos.claims.add_if_free(
            SlotClaim(
                booking_id=booking.id,
                session_id=session.id,
                event_type_id=made.event_type_id,
                start_time=made.start,
                end_time=made.end,
                claimed_at=now,
            )
        )
    booking.schedule_lease_until = None
    live = await repos.bookings.sessions_of(booking.id)
    await record_change(
        repos.bookings,
        booking,
        event_type=RESCHEDULED if moving is not None else SCHEDULED,
        source=source,
        now=now,
        status=status_for(booking, len(live)),
        data={**details, "sessionsRemaining": sessions_remaining(booking, len(live))},
    )
    # In the same transaction: the confirmation exists if and only if the session is booked.
    await news.booking_confirmed(repos.bookings.session, booking, booking_session=session)
    return session


async def cancel_session(
    repos: Repos,
    booking: Booking,
    session: BookingSession,
    *,
    now: datetime,
    source: str,
    cancelled_by: CancelledBy,
    event_type: str,
    data: dict[str, Any] | None = None,
    status_follows: bool = True,
) -> None:
    """Mark one session cancelled, free its slot and give its credit back (no refund).

    With `status_follows` a booking with every session booked returns to `paid`; a whole
    booking being cancelled keeps its status until its own cancellation row.
    """
    session.state = SessionState.CANCELLED.value
    session.cancelled_at = now
    session.cancelled_by = cancelled_by.value
    session.updated_at = now
    claims = list(await repos.claims.of_booking(booking.id))
    await repos.claims.remove(c for c in claims if c.session_id == session.id)
    await repos.bookings.session.flush()
    live = await repos.bookings.sessions_of(booking.id)
    status: BookingStatus | None = None
    if status_follows and booking.status in (BookingStatus.PAID, BookingStatus.SCHEDULED):
        status = status_for(booking, len(live))
    await record_change(
        repos.bookings,
        booking,
        event_type=event_type,
        source=source,
        now=now,
        status=status,
        data={
            "sessionId": str(session.id),
            "calUid": session.cal_uid,
            "start": format_utc(session.start_time),
            "sessionsRemaining": sessions_remaining(booking, len(live)),
            **(data or {}),
        },
    )


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
        await repos.claims.remove(pending_claims(claims))
        booking.schedule_lease_until = None
    await record_change(
        repos.bookings, booking, event_type=event_type, source=source, now=now, data=data
    )
