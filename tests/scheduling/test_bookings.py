"""Booking, cancelling, rescheduling and finding bookings through the client over HTTP."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sessionbook.scheduling.calcom.calendar import CalBooking, Calendar
from sessionbook.scheduling.calcom.client import CalComClient
from sessionbook.scheduling.calcom.errors import (
    CalendarNotFound,
    CalendarRejected,
    CalendarSlotTaken,
    CalendarUnavailable,
)
from tests.scheduling.conftest import DISCOVERY, SINGLE, Sandbox

NOW = datetime(2026, 12, 7, 7, tzinfo=UTC)  # Monday morning, London on GMT
TUESDAY_TEN = datetime(2026, 12, 8, 10, tzinfo=UTC)


async def book(
    client: CalComClient,
    start: datetime = TUESDAY_TEN,
    *,
    event_type_id: int = SINGLE,
    booking_id: str = "bk-1",
    email: str = "ada@example.com",
    phone: str | None = None,
) -> CalBooking:
    return await client.create_booking(
        event_type_id=event_type_id,
        start=start,
        duration_minutes=60 if event_type_id == SINGLE else 30,
        attendee_name="Ada Lovelace",
        attendee_email=email,
        attendee_time_zone="Europe/Paris",
        attendee_phone=phone,
        notes="About the engine",
        metadata={"booking_id": booking_id, "package": "single"},
    )


@pytest.fixture(autouse=True)
async def frozen_clock(sandbox: Sandbox) -> None:
    await sandbox.set_now(NOW)


async def test_booking_an_offered_slot(sandbox: Sandbox, client: CalComClient) -> None:
    booking = await book(client)

    assert booking.status == "accepted"
    assert booking.start == TUESDAY_TEN
    assert booking.end == TUESDAY_TEN + timedelta(hours=1)
    assert booking.event_type_id == SINGLE
    assert booking.metadata == {"booking_id": "bk-1", "package": "single"}
    assert isinstance(booking.id, int)
    assert booking.meeting_url == f"{sandbox.root}/video/{booking.uid}"
    stored = await sandbox.bookings()
    assert [b["uid"] for b in stored] == [booking.uid]
    assert stored[0]["description"] == "About the engine"
    assert stored[0]["attendees"][0]["timeZone"] == "Europe/Paris"
    room = await sandbox.http.get(f"/video/{booking.uid}")
    assert room.status_code == 200
    assert "Sandbox" in room.text


async def test_the_booking_reads_back_the_same(client: CalComClient) -> None:
    booking = await book(client)

    assert await client.get_booking(booking.uid) == booking


async def test_a_taken_slot_is_refused(sandbox: Sandbox, client: CalComClient) -> None:
    await book(client)

    with pytest.raises(CalendarSlotTaken) as refused:
        await book(client, booking_id="bk-2", email="grace@example.com")

    assert refused.value.status_code == 400
    assert "already has booking at this time or is not available" in refused.value.message
    assert len(await sandbox.bookings()) == 1


async def test_an_overlapping_shorter_booking_is_refused(client: CalComClient) -> None:
    await book(client)

    with pytest.raises(CalendarSlotTaken):
        await book(client, TUESDAY_TEN + timedelta(minutes=30), event_type_id=DISCOVERY)


@pytest.mark.parametrize(
    ("start", "phrase"),
    [
        (datetime(2026, 12, 8, 9, 17, tzinfo=UTC), "not available"),  # off the slot grid
        (datetime(2026, 12, 8, 19, tzinfo=UTC), "not available"),  # after working hours
        (datetime(2026, 12, 12, 10, tzinfo=UTC), "not available"),  # Saturday
        (NOW + timedelta(minutes=60), "minimum booking notice"),  # too soon
        (NOW + timedelta(days=200), "scheduling window"),  # too far ahead
        (NOW - timedelta(days=1), "in the past"),
    ],
)
async def test_a_time_that_is_not_offered_is_refused(
    sandbox: Sandbox, client: CalComClient, start: datetime, phrase: str
) -> None:
    with pytest.raises(CalendarSlotTaken) as refused:
        await book(client, start)

    assert phrase in refused.value.message
    assert await sandbox.bookings() == []


async def test_twenty_racing_bookings_of_one_slot_give_exactly_one(
    sandbox: Sandbox, client: CalComClient
) -> None:
    results = await asyncio.gather(
        *(book(client, booking_id=f"bk-{n}", email=f"p{n}@example.com") for n in range(20)),
        return_exceptions=True,
    )

    successes = [r for r in results if isinstance(r, CalBooking)]
    refusals = [r for r in results if isinstance(r, CalendarSlotTaken)]
    assert len(successes) == 1
    assert len(refusals) == 19
    assert len(await sandbox.bookings()) == 1


async def test_cancelling_frees_the_slot_and_is_idempotent(client: CalComClient) -> None:
    booking = await book(client)

    await client.cancel_booking(booking.uid, "Customer asked for a refund")
    await client.cancel_booking(booking.uid, "Customer asked for a refund")

    assert (await client.get_booking(booking.uid)).status == "cancelled"
    again = await book(client, booking_id="bk-2")
    assert again.start == TUESDAY_TEN


async def test_cancelling_an_unknown_booking_is_not_found(client: CalComClient) -> None:
    with pytest.raises(CalendarNotFound):
        await client.cancel_booking("noSuchUid", "why not")


async def test_rescheduling_moves_the_booking_to_a_new_uid(
    sandbox: Sandbox, client: CalComClient
) -> None:
    booking = await book(client)
    new_start = TUESDAY_TEN + timedelta(hours=3)

    moved = await client.reschedule_booking(booking.uid, new_start, "Clash at work")

    assert moved.uid != booking.uid
    assert moved.start == new_start
    assert moved.status == "accepted"
    assert moved.metadata == booking.metadata
    assert (await client.get_booking(booking.uid)).status == "cancelled"
    stored = {b["uid"]: b for b in await sandbox.bookings()}
    assert stored[booking.uid]["rescheduledToUid"] == moved.uid
    assert stored[moved.uid]["rescheduledFromUid"] == booking.uid
    assert stored[moved.uid]["reschedulingReason"] == "Clash at work"
    slots = await client.get_slots(
        event_type_id=SINGLE,
        start=TUESDAY_TEN,
        end=TUESDAY_TEN + timedelta(hours=5),
        time_zone="UTC",
        duration_minutes=60,
    )
    assert TUESDAY_TEN in {s.start for s in slots}
    assert new_start not in {s.start for s in slots}


async def test_rescheduling_onto_a_taken_slot_is_refused(client: CalComClient) -> None:
    first = await book(client)
    await book(client, TUESDAY_TEN + timedelta(hours=1), booking_id="bk-2")

    with pytest.raises(CalendarSlotTaken):
        await client.reschedule_booking(first.uid, TUESDAY_TEN + timedelta(hours=1), None)

    assert (await client.get_booking(first.uid)).status == "accepted"


async def test_a_cancelled_booking_cannot_be_rescheduled(client: CalComClient) -> None:
    booking = await book(client)
    await client.cancel_booking(booking.uid, "No longer needed")

    with pytest.raises(CalendarRejected) as rejected:
        await client.reschedule_booking(booking.uid, TUESDAY_TEN + timedelta(hours=2), None)

    assert not isinstance(rejected.value, CalendarSlotTaken)
    assert "has been cancelled" in rejected.value.message


async def test_a_booking_whose_answer_was_lost_is_found_by_its_metadata(
    sandbox: Sandbox, client: CalComClient
) -> None:
    other = await book(client, TUESDAY_TEN + timedelta(hours=2), booking_id="bk-other")
    await sandbox.add_fault(
        path_prefix="/v2/bookings", method="POST", status=503, after_success=True
    )

    with pytest.raises(CalendarUnavailable):
        await book(client, booking_id="bk-lost")

    found = await client.find_bookings_by_metadata(
        attendee_email="ada@example.com",
        start_from=TUESDAY_TEN - timedelta(hours=1),
        end_until=TUESDAY_TEN + timedelta(hours=4),
        metadata={"booking_id": "bk-lost"},
    )
    assert len(found) == 1
    assert found[0].start == TUESDAY_TEN
    assert found[0].uid != other.uid
    assert found[0].metadata["booking_id"] == "bk-lost"


async def test_finding_respects_the_time_window_and_the_attendee(client: CalComClient) -> None:
    await book(client, booking_id="bk-1")
    await book(client, TUESDAY_TEN + timedelta(hours=2), booking_id="bk-1", email="x@example.com")

    outside = await client.find_bookings_by_metadata(
        attendee_email="ada@example.com",
        start_from=TUESDAY_TEN + timedelta(minutes=1),
        end_until=TUESDAY_TEN + timedelta(hours=8),
        metadata={"booking_id": "bk-1"},
    )
    inside = await client.find_bookings_by_metadata(
        attendee_email="ada@example.com",
        start_from=TUESDAY_TEN,
        end_until=TUESDAY_TEN + timedelta(hours=8),
        metadata={"booking_id": "bk-1"},
        event_type_id=SINGLE,
    )

    assert outside == []
    assert [b.start for b in inside] == [TUESDAY_TEN]


async def test_an_unknown_booking_is_not_found(client: CalComClient) -> None:
    with pytest.raises(CalendarNotFound):
        await client.get_booking("missing-uid")


async def test_event_type_lengths(client: CalComClient) -> None:
    assert await client.get_event_type_length(DISCOVERY) == 30
    assert await client.get_event_type_length(SINGLE) == 60
    with pytest.raises(CalendarNotFound):
        await client.get_event_type_length(999)


@pytest.mark.parametrize(
    ("typed", "sent"),
    [("+44 20 7946 0958", "+442079460958"), ("0044 (20) 7946-0958", "+442079460958")],
)
async def test_a_phone_in_international_form_reaches_cal_com(
    sandbox: Sandbox, client: CalComClient, typed: str, sent: str
) -> None:
    await book(client, phone=typed)

    (stored,) = await sandbox.bookings()
    assert stored["attendees"][0]["phoneNumber"] == sent


async def test_a_phone_cal_com_would_refuse_is_left_out_not_fatal(
    sandbox: Sandbox, client: CalComClient
) -> None:
    booking = await book(client, phone="call me after six")

    (stored,) = await sandbox.bookings()
    assert stored["uid"] == booking.uid
    assert "phoneNumber" not in stored["attendees"][0]


@pytest.mark.parametrize(
    "metadata",
    [
        {"k" * 41: "v"},
        {"note": "x" * 501},
        {f"k{n}": "v" for n in range(51)},
    ],
)
async def test_metadata_cal_com_would_refuse_fails_before_any_request(
    sandbox: Sandbox, client: CalComClient, metadata: dict[str, Any]
) -> None:
    with pytest.raises(ValueError, match="metadata"):
        await client.create_booking(
            event_type_id=SINGLE,
            start=TUESDAY_TEN,
            duration_minutes=60,
            attendee_name="Ada",
            attendee_email="ada@example.com",
            attendee_time_zone="UTC",
            attendee_phone=None,
            notes=None,
            metadata=metadata,
        )

    assert await sandbox.requests("POST", "/v2/bookings") == []


async def test_the_client_implements_the_calendar_port(client: CalComClient) -> None:
    calendar: Calendar = client  # checked by mypy: the port and the client agree

    assert await calendar.get_event_type_length(SINGLE) == 60
