"""Each customer email, written from the booking as it is when the email is sent.

The facts of each kind (what happened, when, how much) are gathered here; the words are the
templates' (notifications/templates/<kind>.txt and .html), in the customer's language and
zone. The admin's previews call `render` too, so what they show is what customers receive.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sessionbook.bookings.models import Booking, BookingSession
from sessionbook.bookings.sessions import next_session, sessions_remaining
from sessionbook.branding.profile import BrandProfile
from sessionbook.core.i18n import DEFAULT_LOCALE, ngettext, supported, use_locale
from sessionbook.core.i18n import gettext as _
from sessionbook.core.money import format_money
from sessionbook.notifications.email import Attachment, OutgoingEmail, one_line, reply_to_header
from sessionbook.notifications.ics import session_event
from sessionbook.notifications.rendering import (
    absolute_url,
    accent_colours,
    format_when,
    render_parts,
    web_link,
)

PAYMENT_RECEIVED = "payment_received"
BOOKING_CONFIRMED = "booking_confirmed"
BOOKING_EXPIRED = "booking_expired"
BOOKING_REMINDER = "booking_reminder"
SESSIONS_LAPSING = "sessions_lapsing"
SESSION_CANCELLED_BY_COACH = "session_cancelled_by_coach"
KINDS = (
    PAYMENT_RECEIVED,
    BOOKING_CONFIRMED,
    BOOKING_EXPIRED,
    BOOKING_REMINDER,
    SESSIONS_LAPSING,
    SESSION_CANCELLED_BY_COACH,
)
# The customer's booking page. The token itself is never in an email (only its hash is kept):
# the page opens the booking in the browser that holds it, elsewhere the customer's own link.
MANAGE_PATH = "/book"


class Obsolete(Exception):
    """The news in this message is no longer true (rescheduled, cancelled, paid after all)."""


@dataclass(frozen=True, slots=True)
class EmailSetting:
    """What every email of this install shares: the brand, the public site, the coach's zone."""

    brand: BrandProfile
    site_url: str
    coach_timezone: str


@dataclass(slots=True)
class _Content:
    subject: str
    preheader: str
    values: dict[str, Any] = field(default_factory=dict)
    attachments: tuple[Attachment, ...] = ()


def email_locale(booking: Booking, brand: BrandProfile) -> str:
    """The customer's language, else the brand's default, else English."""
    return supported(booking.customer_locale) or supported(brand.default_language) or DEFAULT_LOCALE


def _zone(booking: Booking, fallback: str) -> ZoneInfo:
    for name in (booking.customer_timezone, fallback):
        if name:
            try:
                return ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


def session_uid(session: BookingSession) -> str:
    """The stable iCalendar UID of a session: the same across moves and resends."""
    return f"{session.id}@sessionbook"


def _session_of(
    booking: Booking, sessions: list[BookingSession], payload: dict[str, object], now: datetime
) -> BookingSession:
    """The session a confirmation or reminder is about: the one it names, else the next."""
    if booking.status not in ("paid", "scheduled"):
        raise Obsolete(f"booking is {booking.status}")
    named = payload.get("sessionId")
    if named is not None:
        for session in sessions:
            if str(session.id) == named:
                return session
        raise Obsolete("session cancelled")
    found = next_session(sessions, now)
    if found is None:
        raise Obsolete("no session booked")
    return found


def render(
    *,
    kind: str,
    booking: Booking,
    sessions: list[BookingSession],
    payload: dict[str, object],
    setting: EmailSetting,
    message_id: str,
    sequence: int,
    now: datetime,
) -> OutgoingEmail:
    """The email for one outbox row, both parts; `Obsolete` when it should no longer be sent."""
    brand = setting.brand
    locale = email_locale(booking, brand)
    zone = _zone(booking, setting.coach_timezone)
    with use_locale(locale):
        content = _content(kind, booking, sessions, payload, zone, locale, sequence, now)
        accent, accent_text = accent_colours(brand.accent_color)
        context: dict[str, Any] = {
            "locale": locale,
            "subject": content.subject,
            "preheader": content.preheader,
            "customer_name": booking.customer_name,
            "title": booking.package_title,
            "reference": str(booking.id),
            "manage_url": setting.site_url.rstrip("/") + MANAGE_PATH,
            "brand_name": brand.display_name,
            "coach_name": brand.coach_name,
            # The business signs below the coach only when it is a name of its own.
            "business_name": brand.business_name if brand.business_name != brand.coach_name else "",
            # The same one plain address as the Reply-To, or none.
            "support_email": reply_to_header(brand.support_email) or "",
            "photo_url": absolute_url(setting.site_url, brand.photo_url),
            "accent": accent,
            "accent_text": accent_text,
            **content.values,
        }
        text, html = render_parts(kind, context)
    return OutgoingEmail(
        to=booking.customer_email,
        subject=one_line(content.subject),
        text=text,
        html=html,
        kind=kind,
        booking_id=str(booking.id),
        message_id=message_id,
        attachments=content.attachments,
        sender_name=brand.display_name,
        reply_to=brand.support_email,
    )


def _content(
    kind: str,
    booking: Booking,
    sessions: list[BookingSession],
    payload: dict[str, object],
    zone: ZoneInfo,
    locale: str,
    sequence: int,
    now: datetime,
) -> _Content:
    """Subject, preheader and the facts of one kind, in the current locale."""
    title = booking.package_title
    if kind == PAYMENT_RECEIVED:
        amount = format_money(booking.amount_cents, booking.currency, locale)
        return _Content(
            subject=_("Payment received: %(title)s") % {"title": title},
            preheader=_("We received %(amount)s for %(title)s.")
            % {"amount": amount, "title": title},
            values={"amount": amount},
        )
    if kind == BOOKING_EXPIRED:
        if booking.status != "expired":
            raise Obsolete(f"booking is {booking.status}")
        return _Content(
            subject=_("Your booking has expired: %(title)s") % {"title": title},
            preheader=_("Nothing was charged. You are welcome to book again at any time."),
        )
    if kind == SESSIONS_LAPSING:
        remaining = sessions_remaining(booking, len(sessions))
        until = booking.sessions_valid_until
        if booking.status != "paid" or remaining == 0 or until is None or until <= now:
            raise Obsolete("nothing left to lapse")
        until_text = format_when(until, zone, locale)
        subject = ngettext(
            "%(num)d session of your %(title)s left to book",
            "%(num)d sessions of your %(title)s left to book",
            remaining,
        ) % {"num": remaining, "title": title}
        return _Content(
            subject=subject,
            preheader=_("Book them by %(until)s.") % {"until": until_text},
            values={"remaining": remaining, "until": until_text},
        )
    if kind == SESSION_CANCELLED_BY_COACH:
        start_text = payload.get("start")
        start = datetime.fromisoformat(str(start_text)) if start_text else None
        when = format_when(start, zone, locale) if start is not None else ""
        if when:
            subject = _("Your coach cancelled your %(title)s on %(when)s") % {
                "title": title,
                "when": when,
            }
        else:
            subject = _("Your coach cancelled a session of your %(title)s") % {"title": title}
        return _Content(
            subject=subject,
            preheader=_("The session is credited back to your booking: nothing is lost."),
            values={"when": when},
        )
    if kind in (BOOKING_CONFIRMED, BOOKING_REMINDER):
        return _session_content(kind, booking, sessions, payload, zone, locale, sequence, now)
    raise Obsolete(f"unknown notification kind {kind!r}")


def _session_content(
    kind: str,
    booking: Booking,
    sessions: list[BookingSession],
    payload: dict[str, object],
    zone: ZoneInfo,
    locale: str,
    sequence: int,
    now: datetime,
) -> _Content:
    title = booking.package_title
    session = _session_of(booking, sessions, payload, now)
    start, end = session.start_time, session.end_time
    when = format_when(start, zone, locale)
    if kind == BOOKING_REMINDER:
        if payload.get("scheduledStart") != start.isoformat() or start <= now:
            raise Obsolete("session moved or already begun")
        subject = _("Reminder: %(title)s on %(when)s") % {"title": title, "when": when}
        preheader = _("Your session starts on %(when)s.") % {"when": when}
    else:
        subject = _("Booking confirmed: %(title)s on %(when)s") % {"title": title, "when": when}
        preheader = _("Your session is booked for %(when)s.") % {"when": when}
    calendar_file = Attachment(
        filename="session.ics",
        content_type="text/calendar; method=PUBLISH",
        content=session_event(
            uid=session_uid(session),
            sequence=sequence,
            start=start,
            end=end,
            summary=title,
            description=_("Booking reference %(reference)s") % {"reference": booking.id},
            location=session.meeting_url,
            now=now,
        ),
    )
    return _Content(
        subject=subject,
        preheader=preheader,
        values={
            "when": when,
            "minutes": int((end - start).total_seconds() // 60),
            # Shown as text whatever it is; a link only when it is a plain web address.
            "meeting_url": session.meeting_url or "",
            "meeting_link": web_link(session.meeting_url),
        },
        attachments=(calendar_file,),
    )
