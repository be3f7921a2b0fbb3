"""Small same-origin JSON endpoints for the booking page's script, keyed by the booking cookie.

They call the same services as the token-taking /functions/v1 routes and answer errors with
the contract's body, but take the token only from the HttpOnly cookie, so the page's script
never holds it. Every POST must pass the CSRF check of `web.session`.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from sessionbook.bookings.errors import BookingNotFound, BookingNotSchedulable
from sessionbook.bookings.routes import BookingsDep
from sessionbook.bookings.service import BookingStatusView
from sessionbook.bookings.sessions import next_session
from sessionbook.core import i18n
from sessionbook.core.api_models import RequestModel, ResponseModel, UtcDatetime
from sessionbook.core.db import utcnow
from sessionbook.core.i18n import gettext as _
from sessionbook.http.deps import BadTokenGuardDep, SettingsDep, rate_limited
from sessionbook.http.language import RequestLocaleDep
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
) -> BookingStatusView:
    """The cookie's booking with its live sessions; unknown tokens count like on the API."""
    return await guard.run(lambda: bookings.status_of(token))


CookieBookingDep = Annotated[BookingStatusView, Depends(cookie_booking)]


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
    sessions_total: int
    sessions_remaining: int
    sessions_valid_until: UtcDatetime | None


@router.get("/api/status", dependencies=[Depends(rate_limited("status"))])
async def page_status(found: CookieBookingDep) -> PageStatus:
    booking, now = found.booking, utcnow()
    shown = next_session(found.sessions, now)
    return PageStatus(
        view=view_name(booking, len(found.sessions), now),
        status=booking.status,
        payment_status=booking.payment_status,
        scheduled_start=shown.start_time if shown else None,
        scheduled_end=shown.end_time if shown else None,
        sessions_total=booking.sessions_total,
        sessions_remaining=found.sessions_remaining,
        sessions_valid_until=booking.sessions_valid_until,
    )


class SessionChoice(RequestModel):
    """Which session of the booking a change is about; None: the booking's only one."""

    session_id: uuid.UUID | None = None


class CancelBody(SessionChoice):
    reason: Text = None


class MovedTime(PickedTime, SessionChoice):
    """A new time for one session; `sessionId` is needed when the booking holds several."""


class Scheduled(ResponseModel):
    """Enough for the page to announce success; it then reloads into the confirmation."""

    success: Literal[True] = True
    session_id: uuid.UUID
    scheduled_start: UtcDatetime
    scheduled_end: UtcDatetime
    sessions_remaining: int


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
    body: MovedTime, token: CookieTokenDep, scheduling: SchedulingDep, guard: BadTokenGuardDep
) -> Scheduled:
    moved = await guard.run(
        lambda: scheduling.reschedule(
            token,
            start=body.start_time,
            end=body.end_time,
            time_zone=body.timezone,
            session_id=body.session_id,
        ),
    )
    return _scheduled(moved)


@router.post(
    "/api/cancel",
    dependencies=[Depends(same_origin_post), Depends(rate_limited("manage"))],
)
async def page_cancel(
    body: CancelBody, token: CookieTokenDep, scheduling: SchedulingDep, guard: BadTokenGuardDep
) -> CancelResponse:
    cancelled = await guard.run(
        lambda: scheduling.cancel(token, body.reason, session_id=body.session_id)
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


def _scheduled(scheduled: ScheduledSession) -> Scheduled:
    session = scheduled.session
    return Scheduled(
        session_id=session.id,
        scheduled_start=session.start_time,
        scheduled_end=session.end_time,
        sessions_remaining=scheduled.sessions_remaining,
    )


@router.get("/calendar.ics", dependencies=[Depends(rate_limited("status"))])
async def calendar_file(found: CookieBookingDep, locale: RequestLocaleDep) -> Response:
    """Every live session as its own RFC 5545 event, each with the UID of its confirmation.

    The events' words are in the language of the page the file is downloaded from.
    """
    booking = found.booking
    if not found.sessions:
        raise BookingNotSchedulable("This booking has no scheduled session to add to a calendar.")
    with i18n.use_locale(locale):
        body = _calendar(found)
    name = "session.ics" if booking.sessions_total == 1 else "sessions.ics"
    return Response(
        body,
        media_type="text/calendar; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _calendar(found: BookingStatusView) -> bytes:
    booking = found.booking
    return sessions_calendar(
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
            for session in found.sessions
        ],
        now=utcnow(),
    )


def _description(meeting_url: str | None, reference: str) -> str:
    booking = _("Booking reference %(reference)s") % {"reference": reference}
    if meeting_url is None:
        return booking
    return _("Join: %(url)s") % {"url": meeting_url} + "\n" + booking
