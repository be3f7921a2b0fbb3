"""Small same-origin JSON endpoints for the booking page's script, keyed by the booking cookie.

They call the same services as the token-taking /functions/v1 routes and answer errors with
the contract's body, but take the token only from the HttpOnly cookie, so the page's script
never holds it. Every POST must pass the CSRF check of `web.session`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from sessionbook.bookings.models import Booking, BookingStatus
from sessionbook.bookings.routes import BookingsDep
from sessionbook.bookings.service import BookingStatusView
from sessionbook.core.api_models import RequestModel, ResponseModel, UtcDatetime
from sessionbook.core.db import utcnow
from sessionbook.core.errors import BookingNotFound, BookingNotSchedulable
from sessionbook.http.deps import BadTokenGuardDep, SettingsDep, rate_limited
from sessionbook.notifications.ics import EventFields, sessions_calendar
from sessionbook.notifications.messages import session_uid
from sessionbook.scheduling.attempts import ScheduledSession
from sessionbook.scheduling.routes import SchedulingDep, slots_answer
from sessionbook.scheduling.schemas import (
    CancelResponse,
    PickedTime,
    SlotsResponse,
    Text,
)
from sessionbook.web.session import CSRF_HEADER, booking_token, check_same_origin
from sessionbook.web.views import view_name

router = APIRouter(prefix="/book", include_in_schema=False)


NO_BOOKING_MESSAGE = "There is no booking in this browser. Open your booking link again."


async def cookie_token(request: Request) -> str:
    """The booking token from the HttpOnly cookie; 404 booking_not_found without one."""
    token = booking_token(request)
    if token is None:
        raise BookingNotFound(NO_BOOKING_MESSAGE)
    return token


CookieTokenDep = Annotated[str, Depends(cookie_token)]


async def cookie_booking(
    token: CookieTokenDep, bookings: BookingsDep, guard: BadTokenGuardDep
) -> Booking:
    """The cookie's booking; unknown tokens count against the address like on the API."""
    return await guard.run(lambda: bookings.find_by_token(token))


CookieBookingDep = Annotated[Booking, Depends(cookie_booking)]


async def cookie_booking_view(
    token: CookieTokenDep, bookings: BookingsDep, guard: BadTokenGuardDep
) -> BookingStatusView:
    """The cookie's booking with its live sessions."""
    return await guard.run(lambda: bookings.status_of(token))


CookieViewDep = Annotated[BookingStatusView, Depends(cookie_booking_view)]


async def same_origin_post(request: Request, settings: SettingsDep) -> None:
    """CSRF: the POST must carry this browser's CSRF token and must not come from elsewhere."""
    check_same_origin(request, settings, request.headers.get(CSRF_HEADER))


class PageStatus(ResponseModel):
    """What the waiting page polls: its view name changes when the booking moves on."""

    view: Literal["waiting", "payment-failed", "schedule", "confirmed", "expired", "cancelled"]
    status: str
    payment_status: str
    scheduled_start: UtcDatetime | None
    scheduled_end: UtcDatetime | None


@router.get("/api/status", dependencies=[Depends(rate_limited("status"))])
async def page_status(view: CookieViewDep) -> PageStatus:
    booking = view.booking
    upcoming = view.next_session(utcnow())
    return PageStatus(
        view=view_name(booking),
        status=booking.status,
        payment_status=booking.payment_status,
        scheduled_start=upcoming.start_time if upcoming else None,
        scheduled_end=upcoming.end_time if upcoming else None,
    )


class CancelBody(RequestModel):
    reason: Text = None


class Scheduled(ResponseModel):
    """Enough for the page to announce success; it then reloads into the confirmation."""

    success: Literal[True] = True
    scheduled_start: UtcDatetime
    scheduled_end: UtcDatetime


@router.get("/api/slots", dependencies=[Depends(rate_limited("slots"))])
async def page_slots(
    token: CookieTokenDep,
    scheduling: SchedulingDep,
    guard: BadTokenGuardDep,
    start: str | None = None,
    end: str | None = None,
    timezone: str | None = None,
) -> SlotsResponse:
    return await slots_answer(token, scheduling, guard, start, end, timezone)


@router.post(
    "/api/schedule",
    dependencies=[Depends(same_origin_post), Depends(rate_limited("schedule"))],
)
async def page_schedule(
    body: PickedTime, token: CookieTokenDep, scheduling: SchedulingDep, guard: BadTokenGuardDep
) -> Scheduled:
    scheduled = await guard.run(
        lambda: scheduling.schedule(
            token, start=body.start_time, end=body.end_time, time_zone=body.timezone, notes=None
        ),
    )
    return _scheduled(scheduled)


@router.post(
    "/api/reschedule",
    dependencies=[Depends(same_origin_post), Depends(rate_limited("manage"))],
)
async def page_reschedule(
    body: PickedTime, token: CookieTokenDep, scheduling: SchedulingDep, guard: BadTokenGuardDep
) -> Scheduled:
    scheduled = await guard.run(
        lambda: scheduling.reschedule(
            token, start=body.start_time, end=body.end_time, time_zone=body.timezone
        ),
    )
    return _scheduled(scheduled)


@router.post(
    "/api/cancel",
    dependencies=[Depends(same_origin_post), Depends(rate_limited("manage"))],
)
async def page_cancel(
    body: CancelBody, token: CookieTokenDep, scheduling: SchedulingDep, guard: BadTokenGuardDep
) -> CancelResponse:
    cancelled = await guard.run(lambda: scheduling.cancel(token, body.reason))
    return CancelResponse(
        payment_status=cancelled.booking.payment_status,
        refund_cents=cancelled.refund_cents,
    )


def _scheduled(scheduled: ScheduledSession) -> Scheduled:
    session = scheduled.session
    return Scheduled(scheduled_start=session.start_time, scheduled_end=session.end_time)


@router.get("/calendar.ics", dependencies=[Depends(rate_limited("status"))])
async def calendar_file(view: CookieViewDep) -> Response:
    """Every live session as its own event; each UID the same as its confirmation email's."""
    booking = view.booking
    if booking.status not in (BookingStatus.PAID, BookingStatus.SCHEDULED) or not view.sessions:
        raise BookingNotSchedulable("This booking has no scheduled session to add to a calendar.")
    body = sessions_calendar(
        [
            EventFields(
                uid=session_uid(session),
                # Each move stamps updated_at, so a newer file always has a higher sequence.
                sequence=int(session.updated_at.timestamp()),
                start=session.start_time,
                end=session.end_time,
                summary=booking.package_title,
                description=_description(session.meeting_url, str(booking.id)),
                location=session.meeting_url,
            )
            for session in view.sessions
        ],
        now=utcnow(),
    )
    return Response(
        body,
        media_type="text/calendar; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="session.ics"'},
    )


def _description(meeting_url: str | None, reference: str) -> str:
    join = f"Join: {meeting_url}\n" if meeting_url else ""
    return f"{join}Booking reference {reference}"
