"""The booking routes of the contract: thin, one service call each."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends
from starlette.responses import Response

from sessionbook.bookings.models import BookingStatus, PaymentStatus
from sessionbook.bookings.schemas import (
    BookingStatusResponse,
    CreateBookingRequest,
    CreateBookingResponse,
    SessionOut,
)
from sessionbook.bookings.service import BookingService, BookingStatusView
from sessionbook.core.api_models import json_response
from sessionbook.core.db import utcnow
from sessionbook.http.deps import (
    TokenRead,
    rate_limited,
    service,
    token_read,
)
from sessionbook.http.language import RequestLocaleDep

router = APIRouter(prefix="/functions/v1")

BookingsDep = Annotated[BookingService, Depends(service(BookingService))]


@router.post(
    "/booking-create",
    status_code=201,
    dependencies=[Depends(rate_limited("create"))],
)
async def booking_create(
    body: CreateBookingRequest, bookings: BookingsDep, locale: RequestLocaleDep
) -> CreateBookingResponse:
    # The language comes from the request's cookie or Accept-Language: the body has no field for it.
    created = await bookings.create(body, locale=locale)
    booking = created.booking
    return CreateBookingResponse(
        booking_token=created.token,
        booking_id=booking.id,
        requires_payment=booking.amount_cents > 0,
        payment_url=booking.payment_url,
        expires_at=booking.expires_at,
    )


StatusReadDep = Annotated[TokenRead, Depends(token_read("status"))]


@router.get("/booking-status", response_model=BookingStatusResponse)
async def booking_status(read: StatusReadDep, bookings: BookingsDep) -> Response:
    view = await read.guard.run(lambda: bookings.status_of(read.token))
    return json_response(status_response(view, bookings.clock()))


def status_response(view: BookingStatusView, now: datetime | None = None) -> BookingStatusResponse:
    """booking-status's answer; the top-level times are those of the next session."""
    booking = view.booking
    upcoming = view.next_session(now or utcnow())
    payment_open = booking.status == BookingStatus.PENDING and booking.payment_status in (
        PaymentStatus.PENDING,
        PaymentStatus.FAILED,
    )
    return BookingStatusResponse(
        id=booking.id,
        status=booking.status,
        payment_status=booking.payment_status,
        package_id=booking.package_id,
        amount_cents=booking.amount_cents,
        currency=booking.currency,
        customer_name=booking.customer_name,
        customer_email=booking.customer_email,
        scheduled_start=upcoming.start_time if upcoming else None,
        scheduled_end=upcoming.end_time if upcoming else None,
        meeting_url=upcoming.meeting_url if upcoming else None,
        cal_booking_id=upcoming.cal_booking_id if upcoming else None,
        expires_at=booking.expires_at,
        created_at=booking.created_at,
        payment_url=booking.payment_url if payment_open else None,
        sessions_total=booking.sessions_total,
        sessions_remaining=view.sessions_remaining,
        sessions_valid_until=booking.sessions_valid_until,
        sessions=[
            SessionOut(
                id=session.id,
                start=session.start_time,
                end=session.end_time,
                meeting_url=session.meeting_url,
                cal_booking_id=session.cal_booking_id,
                cal_uid=session.cal_uid,
            )
            for session in view.sessions
        ],
    )
