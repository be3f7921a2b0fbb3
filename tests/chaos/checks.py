"""What the chaos run must leave behind, as pure comparisons of our records with the stand-ins'.

Each function returns the problems it found, one sentence each; an empty list is a pass.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class OurSession:
    id: str
    cal_uid: str
    start: datetime
    end: datetime


@dataclass(frozen=True)
class OurBooking:
    """A booking as our database holds it, with its live sessions (by start)."""

    id: str
    status: str
    payment_status: str
    payment_intent_id: str | None
    amount_cents: int
    sessions_total: int
    sessions_lapsed: int = 0
    confirmations: int = 0  # payment_confirmed audit rows
    sessions: list[OurSession] = field(default_factory=list)


@dataclass(frozen=True)
class CalBooking:
    """An active booking at the Cal.com stand-in."""

    uid: str
    start: datetime
    end: datetime
    booking_id: str | None
    session_id: str | None


def payment_problems(ours: dict[str, OurBooking], succeeded: dict[str, list[str]]) -> list[str]:
    """Every payment Airwallex took is applied exactly once; nothing is paid that it did not take.

    `succeeded` maps a booking id to the ids of the stand-in's succeeded payment intents.
    """
    problems: list[str] = []
    for booking_id, intents in succeeded.items():
        booking = ours.get(booking_id)
        if booking is None:
            problems.append(f"{booking_id}: paid at Airwallex, unknown to us")
            continue
        if len(intents) != 1:
            problems.append(f"{booking_id}: paid {len(intents)} times at Airwallex")
        if booking.payment_status != "paid" or booking.status not in ("paid", "scheduled"):
            problems.append(
                f"{booking_id}: payment lost, still {booking.status}/{booking.payment_status}"
            )
        elif booking.payment_intent_id not in intents:
            problems.append(f"{booking_id}: recorded intent {booking.payment_intent_id}")
        if booking.confirmations != 1:
            problems.append(f"{booking_id}: {booking.confirmations} payment_confirmed rows")
    for booking in ours.values():
        if (
            booking.amount_cents
            and booking.payment_status == "paid"
            and booking.id not in succeeded
        ):
            problems.append(f"{booking.id}: paid with us, not at Airwallex")
    return problems


def session_problems(ours: dict[str, OurBooking], at_cal: list[CalBooking]) -> list[str]:
    """Our live sessions are exactly Cal.com's bookings, within each package, never overlapping."""
    problems: list[str] = []
    by_booking: dict[str | None, list[CalBooking]] = defaultdict(list)
    for event in at_cal:
        by_booking[event.booking_id].append(event)
    for booking_id in set(by_booking) - set(ours):
        problems.append(f"Cal.com bookings for no booking of ours ({booking_id}): {by_booking}")
    for booking in ours.values():
        theirs = by_booking.get(booking.id, [])
        if {(s.id, s.cal_uid) for s in booking.sessions} != {
            (e.session_id, e.uid) for e in theirs
        } or len(theirs) != len(booking.sessions):
            problems.append(f"{booking.id}: sessions {booking.sessions} but Cal.com has {theirs}")
        live = len(booking.sessions)
        if live > booking.sessions_total:
            problems.append(f"{booking.id}: {live} sessions of {booking.sessions_total}")
        remaining = booking.sessions_total - live - booking.sessions_lapsed
        if booking.payment_status == "paid" and live:
            expected = "scheduled" if remaining == 0 else "paid"
            if booking.status != expected:
                problems.append(f"{booking.id}: {booking.status} with {remaining} left")
        for earlier, later in itertools.pairwise(booking.sessions):
            if earlier.end > later.start:
                problems.append(f"{booking.id}: sessions overlap: {earlier} {later}")
    spans = sorted(at_cal, key=lambda event: event.start)
    for first, second in itertools.pairwise(spans):
        if first.end > second.start:
            problems.append(f"double-booked at Cal.com: {first} {second}")
    return problems
