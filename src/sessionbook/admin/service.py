"""Operator use cases: the monitoring views, search, one booking's story, and the three actions.

Every read and write runs as the ADMIN database role. Refunds and cancellations are the
payment and scheduling services' own use cases, called with `source="admin"`, so an operator
follows exactly the rules a customer or the sweep does (except the customer's cancel cutoff).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import structlog

from sessionbook.admin.repository import AdminRepository, StateCount
from sessionbook.admin.views import BookingDetail, BookingRow, Dashboard, WebhookHealth
from sessionbook.bookings.errors import BookingNotFound, BookingNotSchedulable
from sessionbook.bookings.models import Booking, BookingStatus
from sessionbook.bookings.repository import BookingRepository
from sessionbook.bookings.transitions import record_change
from sessionbook.core.db import ADMIN, Database, utcnow
from sessionbook.core.errors import ServiceError
from sessionbook.notifications.outbox import enqueue_booking_confirmed

log = structlog.get_logger(__name__)

LIST_LIMIT = 50
# The dashboard counts bookings scheduled, expired and cancelled over this window.
CHANGES_WINDOW = timedelta(days=30)
LAPSING_WITHIN = timedelta(days=14)
WEBHOOK_STUCK_AFTER = timedelta(minutes=5)

# (booking id, amount in cents, reason) -> None; raises a ServiceError when refused.
RefundAction = Callable[[uuid.UUID, int, str], Awaitable[object]]
# (booking id, reason) -> None; raises a ServiceError when refused.
CancelAction = Callable[[uuid.UUID, str], Awaitable[object]]


class ActionUnavailable(ServiceError):
    status_code = 409
    code = "action_unavailable"
    default_message = "This action is not available for this booking."


def day_window(now: datetime, zone: ZoneInfo) -> tuple[date, datetime, datetime]:
    """Today in `zone` and its bounds in UTC; a DST day is 23 or 25 hours long, as it should."""
    today = now.astimezone(zone).date()
    start = datetime.combine(today, time(0), tzinfo=zone)
    end = datetime.combine(today + timedelta(days=1), time(0), tzinfo=zone)
    return today, start.astimezone(UTC), end.astimezone(UTC)


async def _rows(
    repository: AdminRepository, bookings: Sequence[Booking], now: datetime
) -> list[BookingRow]:
    """List rows with each booking's session count and shown start, in one more query."""
    facts = await repository.session_facts([b.id for b in bookings], now=now)
    rows = []
    for booking in bookings:
        fact = facts.get(booking.id)
        booked, start = (fact.booked, fact.shown_start) if fact else (0, None)
        rows.append(BookingRow(booking, booked, start))
    return rows


async def _today(
    repository: AdminRepository, start: datetime, end: datetime, now: datetime, limit: int
) -> list[BookingRow]:
    """Each live session of the day as a row showing that session's start."""
    found = await repository.sessions_between(start, end, limit=limit)
    facts = await repository.session_facts([booking.id for booking, _ in found], now=now)
    return [
        BookingRow(booking, facts[booking.id].booked if booking.id in facts else 0, s.start_time)
        for booking, s in found
    ]


class AdminService:
    """Reads for the dashboard and the CLI; actions delegate to the owning domain's service."""

    def __init__(
        self,
        *,
        database: Database,
        coach_timezone: str,
        refund: RefundAction | None = None,
        cancel: CancelAction | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.database = database
        self.zone = ZoneInfo(coach_timezone)
        self._refund = refund
        self._cancel = cancel
        self.clock = clock

    # -- views ---------------------------------------------------------------------------

    async def dashboard(self) -> Dashboard:
        now = self.clock()
        today, start, end = day_window(now, self.zone)
        async with self.database.transaction(ADMIN) as session:
            repository = AdminRepository(session)
            return Dashboard(
                counts={
                    **await repository.open_bookings(),
                    **await repository.bookings_changed_since(now - CHANGES_WINDOW),
                },
                changes_days=CHANGES_WINDOW.days,
                recent=await _rows(repository, await repository.recent(limit=LIST_LIMIT), now),
                awaiting_payment=await _rows(
                    repository,
                    await repository.awaiting_payment(
                        since=now - timedelta(hours=24), limit=LIST_LIMIT
                    ),
                    now,
                ),
                today=today,
                scheduled_today=await _today(repository, start, end, now, LIST_LIMIT),
                paid_not_scheduled=await _rows(
                    repository, await repository.paid_not_scheduled(limit=LIST_LIMIT), now
                ),
                lapsing=await _rows(
                    repository,
                    await repository.lapsing(now=now, until=now + LAPSING_WITHIN, limit=LIST_LIMIT),
                    now,
                ),
                webhooks=await self._webhook_health(repository, now),
                outbox_waiting=await repository.outbox_waiting(),
                outbox=await repository.outbox_since(now - timedelta(hours=24)),
            )

    async def recent(
        self,
        *,
        limit: int = LIST_LIMIT,
        status: str | None = None,
        before: tuple[datetime, uuid.UUID] | None = None,
    ) -> list[BookingRow]:
        """Newest first; with `before` (see admin.paging), the page after that booking."""
        async with self.database.transaction(ADMIN) as session:
            repository = AdminRepository(session)
            found = await repository.recent(limit=limit, status=status, before=before)
            return await _rows(repository, found, self.clock())

    async def awaiting_payment(self, *, limit: int = LIST_LIMIT) -> list[BookingRow]:
        now = self.clock()
        async with self.database.transaction(ADMIN) as session:
            repository = AdminRepository(session)
            found = await repository.awaiting_payment(since=now - timedelta(hours=24), limit=limit)
            return await _rows(repository, found, now)

    async def scheduled_today(self, *, limit: int = LIST_LIMIT) -> tuple[date, list[BookingRow]]:
        now = self.clock()
        today, start, end = day_window(now, self.zone)
        async with self.database.transaction(ADMIN) as session:
            return today, await _today(AdminRepository(session), start, end, now, limit)

    async def paid_not_scheduled(self, *, limit: int = LIST_LIMIT) -> list[BookingRow]:
        async with self.database.transaction(ADMIN) as session:
            repository = AdminRepository(session)
            found = await repository.paid_not_scheduled(limit=limit)
            return await _rows(repository, found, self.clock())

    async def lapsing(
        self, *, within: timedelta = LAPSING_WITHIN, limit: int = LIST_LIMIT
    ) -> list[BookingRow]:
        """Packages with sessions left whose validity ends within `within`, soonest first."""
        now = self.clock()
        async with self.database.transaction(ADMIN) as session:
            repository = AdminRepository(session)
            found = await repository.lapsing(now=now, until=now + within, limit=limit)
            return await _rows(repository, found, now)

    async def search(self, query: str, *, limit: int = LIST_LIMIT) -> list[BookingRow]:
        if not query.strip():
            return await self.recent(limit=limit)
        async with self.database.transaction(ADMIN) as session:
            repository = AdminRepository(session)
            return await _rows(
                repository, await repository.search(query, limit=limit), self.clock()
            )

    async def detail(self, booking_id: uuid.UUID) -> BookingDetail:
        async with self.database.transaction(ADMIN) as session:
            repository = AdminRepository(session)
            booking = await repository.by_id(booking_id)
            if booking is None:
                raise BookingNotFound("No booking has this id.")
            return BookingDetail(
                booking=booking,
                events=await repository.events_of(booking_id),
                outbox=await repository.outbox_of(booking_id),
                webhooks=await repository.webhooks_of(booking_id),
                refunds=await repository.refunds_of(booking_id),
                sessions=await repository.sessions_of(booking_id),
                now=self.clock(),
            )

    async def webhook_health(self) -> WebhookHealth:
        async with self.database.transaction(ADMIN) as session:
            return await self._webhook_health(AdminRepository(session), self.clock())

    async def _webhook_health(self, repository: AdminRepository, now: datetime) -> WebhookHealth:
        day_ago = now - timedelta(hours=24)
        last_day = await repository.webhook_types_since(day_ago)
        by_state: dict[str, int] = {}
        for _kind, state, count in last_day:
            by_state[state] = by_state.get(state, 0) + count
        stuck = await repository.webhooks_stuck(received_before=now - WEBHOOK_STUCK_AFTER)
        confirmed = await repository.payments_confirmed_by_source(since=day_ago)
        problems: list[str] = []
        failed_today = sum(count for _, state, count in last_day if state == "failed")
        if failed_today:
            problems.append(f"{failed_today} webhook deliveries failed in the last 24 hours")
        if stuck:
            problems.append(f"{stuck} webhook deliveries are stored but not processed")
        by_webhook = confirmed.get("webhook", 0)
        by_others = sum(count for source, count in confirmed.items() if source != "webhook")
        if by_others and not by_webhook:
            # Payments are arriving, but only the sweep's reconciliation notices them.
            problems.append(
                f"{by_others} payments in the last 24 hours were confirmed without a webhook: "
                "check the webhook URL and AIRWALLEX_WEBHOOK_SECRET"
            )
        return WebhookHealth(
            last_received=await repository.webhook_last_received(),
            by_state=[StateCount(state, count) for state, count in sorted(by_state.items())],
            last_day=last_day,
            stuck=stuck,
            confirmed_by_source=confirmed,
            problems=problems,
        )

    # -- actions -------------------------------------------------------------------------

    async def resend_confirmation(self, booking_id: uuid.UUID) -> None:
        """Queue the confirmation email again, under a fresh dedupe key, and audit it."""
        async with self.database.transaction(ADMIN) as session:
            bookings = BookingRepository(session)
            booking = await bookings.by_id(booking_id, for_update=True)
            if booking is None:
                raise BookingNotFound("No booking has this id.")
            if booking.status != BookingStatus.SCHEDULED:
                raise BookingNotSchedulable(
                    "Only a scheduled booking has a confirmation to send again."
                )
            resend_id = uuid.uuid4().hex
            await enqueue_booking_confirmed(session, booking, resend_id=resend_id)
            await record_change(
                bookings,
                booking,
                event_type="confirmation_resent",
                source="admin",
                now=self.clock(),
                data={"resendId": resend_id},
            )
        log.info("admin_confirmation_resent", booking_id=str(booking_id))

    async def refund(self, booking_id: uuid.UUID, *, amount_cents: int, reason: str) -> None:
        if self._refund is None:
            raise ActionUnavailable("Refunds are not available in this deployment.")
        if amount_cents <= 0:
            raise ActionUnavailable("The refund amount must be more than zero.")
        await self._refund(booking_id, amount_cents, reason)
        log.info("admin_refund_requested", booking_id=str(booking_id), amount_cents=amount_cents)

    async def cancel(self, booking_id: uuid.UUID, *, reason: str) -> None:
        if self._cancel is None:
            raise ActionUnavailable("Cancelling is not available in this deployment.")
        await self._cancel(booking_id, reason)
        log.info("admin_cancel_requested", booking_id=str(booking_id))
