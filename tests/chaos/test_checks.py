"""The chaos run's checks catch what they are there to catch: each broken record is named."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from tests.chaos.checks import (
    CalBooking,
    OurBooking,
    OurSession,
    payment_problems,
    session_problems,
)

NINE = datetime(2030, 1, 7, 9, tzinfo=UTC)
HOUR = timedelta(hours=1)


def _session(number: int, start: datetime) -> OurSession:
    return OurSession(id=f"s{number}", cal_uid=f"uid{number}", start=start, end=start + HOUR)


def _at_cal(booking_id: str, session: OurSession) -> CalBooking:
    return CalBooking(
        uid=session.cal_uid,
        start=session.start,
        end=session.end,
        booking_id=booking_id,
        session_id=session.id,
    )


SINGLE = OurBooking(
    id="b1",
    status="scheduled",
    payment_status="paid",
    payment_intent_id="int1",
    amount_cents=9000,
    sessions_total=1,
    confirmations=1,
    sessions=[_session(1, NINE)],
)
MONTHLY = OurBooking(
    id="b2",
    status="paid",
    payment_status="paid",
    payment_intent_id="int2",
    amount_cents=30000,
    sessions_total=4,
    confirmations=1,
    sessions=[_session(2, NINE + HOUR), _session(3, NINE + 3 * HOUR)],
)
UNPAID = OurBooking(
    id="b3",
    status="pending",
    payment_status="pending",
    payment_intent_id=None,
    amount_cents=9000,
    sessions_total=1,
)
OURS = {b.id: b for b in (SINGLE, MONTHLY, UNPAID)}
SUCCEEDED = {"b1": ["int1"], "b2": ["int2"]}
AT_CAL = [_at_cal(b.id, s) for b in (SINGLE, MONTHLY) for s in b.sessions]


def test_consistent_records_pass() -> None:
    assert payment_problems(OURS, SUCCEEDED) == []
    assert session_problems(OURS, AT_CAL) == []


def test_a_payment_taken_but_left_pending_is_lost() -> None:
    problems = payment_problems(OURS, {**SUCCEEDED, "b3": ["int3"]})

    assert any("b3: payment lost" in p for p in problems), problems


def test_a_payment_applied_twice_or_paid_twice_is_named() -> None:
    twice = {**OURS, "b1": replace(SINGLE, confirmations=2)}

    assert payment_problems(twice, SUCCEEDED) == ["b1: 2 payment_confirmed rows"]
    assert payment_problems(OURS, {**SUCCEEDED, "b1": ["int1", "int9"]}) == [
        "b1: paid 2 times at Airwallex"
    ]


def test_paid_with_us_but_not_at_airwallex_is_named() -> None:
    assert payment_problems(OURS, {"b1": ["int1"]}) == ["b2: paid with us, not at Airwallex"]


def test_a_cal_booking_without_its_session_is_named() -> None:
    extra = _at_cal("b2", _session(7, NINE + 6 * HOUR))

    problems = session_problems(OURS, [*AT_CAL, extra])

    assert len(problems) == 1, problems
    assert problems[0].startswith("b2: sessions")


def test_a_session_cal_does_not_have_is_named() -> None:
    problems = session_problems(OURS, AT_CAL[:-1])

    assert len(problems) == 1, problems
    assert problems[0].startswith("b2: sessions")


def test_a_cal_booking_for_no_booking_of_ours_is_named() -> None:
    stray = _at_cal("b9", _session(8, NINE + 8 * HOUR))

    assert session_problems(OURS, [*AT_CAL, stray])[0].startswith("Cal.com bookings for no")


def test_a_double_booked_slot_is_named() -> None:
    clash = _session(4, NINE + timedelta(minutes=30))
    booking = replace(UNPAID, id="b4", status="scheduled", payment_status="paid", amount_cents=0)
    booking = replace(booking, sessions=[clash])

    problems = session_problems({**OURS, "b4": booking}, [*AT_CAL, _at_cal("b4", clash)])

    assert any(p.startswith("double-booked at Cal.com") for p in problems), problems


def test_a_status_that_does_not_match_the_sessions_is_named() -> None:
    wrong = {**OURS, "b2": replace(MONTHLY, status="scheduled")}

    assert session_problems(wrong, AT_CAL) == ["b2: scheduled with 2 left"]
