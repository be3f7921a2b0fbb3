"""The scheduling routes of the contract: thin, one service call each."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from sessionbook.bookings.models import Booking
from sessionbook.http.deps import BadTokenGuardDep, TokenDep, rate_limited, service
from sessionbook.scheduling.schemas import (
    CancelRequest,
    CancelResponse,
    RescheduleRequest,
    ScheduleRequest,
    ScheduleResponse,
    SlotOut,
    SlotsResponse,
    parse_slots_query,
)
from sessionbook.scheduling.service import SchedulingService

router = APIRouter(prefix="/functions/v1")

SchedulingDep = Annotated[SchedulingService, Depends(service(SchedulingService))]


@router.get("/booking-slots", dependencies=[Depends(rate_limited("slots"))])
async def booking_slots(
    token: TokenDep,
    scheduling: SchedulingDep,
    guard: BadTokenGuardDep,
    start: str | None = None,
    end: str | None = None,
    timezone: str | None = None,
) -> SlotsResponse:
    return await slots_answer(token, scheduling, guard, start, end, timezone)


async def slots_answer(
    token: str,
    scheduling: SchedulingDep,
    guard: BadTokenGuardDep,
    start: str | None,
    end: str | None,
    timezone: str | None,
) -> SlotsResponse:
    """The slots answer for a token, shared by the API route and the booking page's script."""
    query = parse_slots_query(start, end, timezone)
    slots = await guard.run(lambda: scheduling.list_slots(token, query))
    return SlotsResponse(
        timezone=query.time_zone,
        slots=[SlotOut(start=slot.start, end=slot.end) for slot in slots],
    )


@router.post("/booking-schedule", dependencies=[Depends(rate_limited("schedule"))])
async def booking_schedule(
    body: ScheduleRequest, scheduling: SchedulingDep, guard: BadTokenGuardDep
) -> ScheduleResponse:
    booking = await guard.run(
        lambda: scheduling.schedule(
            body.booking_token,
            start=body.start_time,
            end=body.end_time,
            time_zone=body.timezone,
            notes=body.additional_notes,
        ),
    )
    return _scheduled(booking)


@router.post("/booking-reschedule", dependencies=[Depends(rate_limited("manage"))])
async def booking_reschedule(
    body: RescheduleRequest, scheduling: SchedulingDep, guard: BadTokenGuardDep
) -> ScheduleResponse:
    booking = await guard.run(
        lambda: scheduling.reschedule(
            body.booking_token, start=body.start_time, end=body.end_time, time_zone=body.timezone
        ),
    )
    return _scheduled(booking)


@router.post("/booking-cancel", dependencies=[Depends(rate_limited("manage"))])
async def booking_cancel(
    body: CancelRequest, scheduling: SchedulingDep, guard: BadTokenGuardDep
) -> CancelResponse:
    cancelled = await guard.run(lambda: scheduling.cancel(body.booking_token, body.reason))
    return CancelResponse(
        payment_status=cancelled.booking.payment_status,
        refund_cents=cancelled.refund_cents,
    )


def _scheduled(booking: Booking) -> ScheduleResponse:
    # Only a scheduled booking reaches here, so every Cal.com field is set.
    assert booking.cal_booking_id is not None
    assert booking.cal_uid is not None
    assert booking.scheduled_start is not None
    assert booking.scheduled_end is not None
    return ScheduleResponse(
        cal_booking_id=booking.cal_booking_id,
        cal_uid=booking.cal_uid,
        meeting_url=booking.meeting_url,
        scheduled_start=booking.scheduled_start,
        scheduled_end=booking.scheduled_end,
    )
