"""The booking routes of the contract: thin, one service call each."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from sessionbook.bookings.models import Booking, BookingStatus, PaymentStatus
from sessionbook.bookings.schemas import (
    BookingStatusResponse,
    CreateBookingRequest,
    CreateBookingResponse,
)
from sessionbook.bookings.service import BookingService
from sessionbook.http.deps import BadTokenGuardDep, TokenDep, rate_limited, service

router = APIRouter(prefix="/functions/v1")

BookingsDep = Annotated[BookingService, Depends(service(BookingService))]


@router.post(
    "/booking-create",
    status_code=201,
    dependencies=[Depends(rate_limited("create"))],
)
async def booking_create(
    body: CreateBookingRequest, bookings: BookingsDep
) -> CreateBookingResponse:
    created = await bookings.create(body)
    booking = created.booking
    return CreateBookingResponse(
        booking_token=created.token,
        booking_id=booking.id,
        requires_payment=booking.amount_cents > 0,
        payment_url=booking.payment_url,
        expires_at=booking.expires_at,
    )


@router.get("/booking-status", dependencies=[Depends(rate_limited("status"))])
async def booking_status(
    token: TokenDep, bookings: BookingsDep, guard: BadTokenGuardDep
) -> BookingStatusResponse:
    booking = await guard.run(lambda: bookings.find_by_token(token))
    return status_response(booking)


def status_response(booking: Booking) -> BookingStatusResponse:
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
        scheduled_start=booking.scheduled_start,
        scheduled_end=booking.scheduled_end,
        meeting_url=booking.meeting_url,
        cal_booking_id=booking.cal_booking_id,
        expires_at=booking.expires_at,
        created_at=booking.created_at,
        payment_url=booking.payment_url if payment_open else None,
    )
