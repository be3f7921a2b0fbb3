"""The scheduling routes of the contract: thin, one service call each."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from sessionbook.core.errors import NotFound
from sessionbook.http.deps import BadTokenGuardDep, TokenDep, rate_limited, service
from sessionbook.scheduling.attempts import ScheduledSession
from sessionbook.scheduling.calcom.webhook import SIGNATURE_HEADER
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
    scheduled = await guard.run(
        lambda: scheduling.schedule(
            body.booking_token,
            start=body.start_time,
            end=body.end_time,
            time_zone=body.timezone,
            notes=body.additional_notes,
        ),
    )
    return _scheduled(scheduled)


@router.post("/booking-reschedule", dependencies=[Depends(rate_limited("manage"))])
async def booking_reschedule(
    body: RescheduleRequest, scheduling: SchedulingDep, guard: BadTokenGuardDep
) -> ScheduleResponse:
    scheduled = await guard.run(
        lambda: scheduling.reschedule(
            body.booking_token,
            start=body.start_time,
            end=body.end_time,
            time_zone=body.timezone,
            session_id=body.session_id,
        ),
    )
    return _scheduled(scheduled)


@router.post(
    "/booking-cancel",
    dependencies=[Depends(rate_limited("manage"))],
    # The session fields only when one session was cancelled: the whole-booking answer is
    # exactly what it always was.
    response_model_exclude_none=True,
)
async def booking_cancel(
    body: CancelRequest, scheduling: SchedulingDep, guard: BadTokenGuardDep
) -> CancelResponse:
    cancelled = await guard.run(
        lambda: scheduling.cancel(body.booking_token, body.reason, body.session_id)
    )
    if cancelled.session is None:
        return CancelResponse(
            payment_status=cancelled.booking.payment_status,
            refund_cents=cancelled.refund_cents,
        )
    return CancelResponse(
        status=cancelled.booking.status,
        payment_status=cancelled.booking.payment_status,
        refund_cents=0,
        session_id=cancelled.session.id,
        sessions_remaining=cancelled.sessions_remaining,
    )


def _scheduled(scheduled: ScheduledSession) -> ScheduleResponse:
    session = scheduled.session
    return ScheduleResponse(
        cal_booking_id=session.cal_booking_id,
        cal_uid=session.cal_uid,
        meeting_url=session.meeting_url,
        scheduled_start=session.start_time,
        scheduled_end=session.end_time,
        session_id=session.id,
        sessions_remaining=scheduled.sessions_remaining,
    )


@router.post("/calendar-webhook")
async def calendar_webhook(request: Request, scheduling: SchedulingDep) -> JSONResponse:
    """Cal.com's webhook: the coach cancelled or moved a booking in Cal.com itself."""
    if scheduling.coach_changes is None:
        raise NotFound()
    # The raw bytes, not a parsed model: the signature covers exactly what was sent.
    receipt = await scheduling.coach_changes.receive_webhook(
        await request.body(), request.headers.get(SIGNATURE_HEADER)
    )
    return JSONResponse({"received": True, "state": receipt.state}, status_code=200)
