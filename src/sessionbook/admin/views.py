"""What the operator sees, as plain values: the dashboard, one booking's story, webhook health.

Built by `AdminService` and shown by both the HTML pages and `sessionbook bookings`, so the
dashboard and the command line always tell the same story.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from sessionbook.admin.repository import StateCount
from sessionbook.bookings.models import Booking, BookingEvent, BookingSession, SessionState
from sessionbook.bookings.sessions import next_session, sessions_remaining
from sessionbook.notifications.models import OutboxMessage
from sessionbook.payments.models import PaymentRefund, WebhookEvent


@dataclass(frozen=True)
class WebhookHealth:
    """Enough to answer "is the payment webhook healthy?" at a glance, with the reasons."""

    last_received: datetime | None
    by_state: list[StateCount]  # deliveries received in the last 24 hours, per state
    last_day: list[tuple[str, str, int]]  # (event type, state, count), last 24 hours
    stuck: int  # stored but neither processed nor failed for more than a few minutes
    confirmed_by_source: dict[str, int]  # payments confirmed in 24 h: webhook vs sweep
    problems: list[str] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class BookingRow:
    """One line of a bookings list: the booking, how many sessions it holds, and which start."""

    booking: Booking
    sessions_booked: int
    session_start: (
        datetime | None
    )  # the next session not ended, else the last; in "today", that day's

    @property
    def sessions_remaining(self) -> int:
        return sessions_remaining(self.booking, self.sessions_booked)


@dataclass(frozen=True)
class Dashboard:
    # Bounded counts: pending and paid as they are now; scheduled, expired and cancelled in
    # the last `changes_days` days (a whole-table count would grow with the history).
    counts: dict[str, int]
    changes_days: int
    recent: Sequence[BookingRow]
    awaiting_payment: Sequence[BookingRow]
    today: date
    scheduled_today: Sequence[BookingRow]
    paid_not_scheduled: Sequence[BookingRow]
    lapsing: Sequence[BookingRow]
    webhooks: WebhookHealth
    outbox_waiting: StateCount  # not sent yet, with the oldest one's age
    outbox: list[StateCount]  # queued in the last 24 hours, per state


@dataclass(frozen=True)
class BookingDetail:
    booking: Booking
    events: Sequence[BookingEvent]
    outbox: Sequence[OutboxMessage]
    webhooks: Sequence[WebhookEvent]
    refunds: Sequence[PaymentRefund]
    sessions: Sequence[BookingSession]  # every session, cancelled ones too, by start
    now: datetime

    @property
    def live_sessions(self) -> list[BookingSession]:
        return [s for s in self.sessions if s.state == SessionState.BOOKED]

    @property
    def sessions_remaining(self) -> int:
        return sessions_remaining(self.booking, len(self.live_sessions))

    @property
    def sessions_used(self) -> int:
        """Sessions the customer has had (started) or lost (lapsed): no longer refundable."""
        started = sum(1 for s in self.live_sessions if s.start_time <= self.now)
        return min(self.booking.sessions_total, started + self.booking.sessions_lapsed)

    @property
    def partly_used(self) -> bool:
        """A package of several sessions of which some, not all, are used."""
        return self.booking.sessions_total > 1 and self.sessions_used > 0

    @property
    def refundable_cents(self) -> int:
        """What is left: paid, minus settled refunds, minus refunds still under way."""
        return max(0, self.booking.amount_cents - self._refunded_or_under_way)

    @property
    def suggested_refund_cents(self) -> int:
        """The unused share of the price (rounded down to the cent), less what was refunded."""
        booking = self.booking
        unused = booking.sessions_total - self.sessions_used
        share = booking.amount_cents * unused // booking.sessions_total
        return max(0, min(share - self._refunded_or_under_way, self.refundable_cents))

    @property
    def _refunded_or_under_way(self) -> int:
        under_way = sum(
            r.amount_cents for r in self.refunds if r.status not in ("settled", "failed")
        )
        return self.booking.refunded_cents + under_way


def booking_summary(row: BookingRow) -> dict[str, object]:
    """A booking as one JSON-friendly row (CLI `--json`), camelCase like the API."""
    booking = row.booking
    return {
        "id": str(booking.id),
        "status": booking.status,
        "paymentStatus": booking.payment_status,
        "packageId": booking.package_id,
        "amountCents": booking.amount_cents,
        "refundedCents": booking.refunded_cents,
        "currency": booking.currency,
        "customerName": booking.customer_name,
        "customerEmail": booking.customer_email,
        "sessionsTotal": booking.sessions_total,
        "sessionsBooked": row.sessions_booked,
        "sessionsRemaining": row.sessions_remaining,
        "sessionsLapsed": booking.sessions_lapsed,
        "sessionsValidUntil": _iso(booking.sessions_valid_until),
        "sessionStart": _iso(row.session_start),
        "paymentLinkId": booking.payment_link_id,
        "paymentIntentId": booking.payment_intent_id,
        "createdAt": _iso(booking.created_at),
        "paidAt": _iso(booking.paid_at),
        "expiresAt": _iso(booking.expires_at),
    }


def detail_summary(detail: BookingDetail) -> dict[str, object]:
    live = detail.live_sessions
    shown = next_session(live, detail.now)
    row = BookingRow(detail.booking, len(live), shown.start_time if shown else None)
    return {
        "booking": booking_summary(row),
        "suggestedRefundCents": detail.suggested_refund_cents if detail.partly_used else None,
        "sessions": [
            {
                "id": str(session.id),
                "state": session.state,
                "start": _iso(session.start_time),
                "end": _iso(session.end_time),
                "calBookingId": session.cal_booking_id,
                "calUid": session.cal_uid,
                "meetingUrl": session.meeting_url,
                "cancelledAt": _iso(session.cancelled_at),
                "cancelledBy": session.cancelled_by,
            }
            for session in detail.sessions
        ],
        "events": [
            {
                "id": event.id,
                "at": _iso(event.created_at),
                "type": event.event_type,
                "source": event.source,
                "from": event.from_status,
                "to": event.to_status,
                "data": event.data,
            }
            for event in detail.events
        ],
        "notifications": [
            {
                "kind": message.kind,
                "state": message.state,
                "attempts": message.attempts,
                "createdAt": _iso(message.created_at),
                "sentAt": _iso(message.sent_at),
                "lastError": message.last_error,
            }
            for message in detail.outbox
        ],
        "webhooks": [
            {
                "eventId": hook.event_id,
                "type": hook.event_type,
                "state": hook.state,
                "attempts": hook.attempts,
                "receivedAt": _iso(hook.received_at),
                "processedAt": _iso(hook.processed_at),
                "lastError": hook.last_error,
            }
            for hook in detail.webhooks
        ],
        "refunds": [
            {
                "amountCents": refund.amount_cents,
                "currency": refund.currency,
                "status": refund.status,
                "reason": refund.reason,
                "createdAt": _iso(refund.created_at),
            }
            for refund in detail.refunds
        ],
    }


def webhook_summary(health: WebhookHealth) -> dict[str, object]:
    return {
        "healthy": health.healthy,
        "problems": health.problems,
        "lastReceived": _iso(health.last_received),
        "stuck": health.stuck,
        "byState": {count.state: count.count for count in health.by_state},
        "lastDay": [
            {"type": kind, "state": state, "count": count} for kind, state, count in health.last_day
        ],
        "paymentsConfirmedBySource": health.confirmed_by_source,
    }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment is not None else None
