"""Outbox sweep duties: queue reminders and lapse warnings, send what is due with backoff.

Nothing here runs inside a request: the request only wrote an outbox row. A row is claimed
(its next attempt pushed past a lease) and committed before the email leaves, so two sweepers
never send the same row; the outcome is recorded right after each send.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import structlog

from sessionbook.bookings.sessions import sessions_remaining
from sessionbook.branding.profile import BrandSource
from sessionbook.catalog.models import Package
from sessionbook.core.db import SERVICE, Database, utcnow
from sessionbook.core.metrics import record_notification
from sessionbook.notifications.email import EmailDeliveryError, EmailSender, OutgoingEmail
from sessionbook.notifications.messages import EmailSetting, Obsolete, render
from sessionbook.notifications.outbox import (
    OutboxRepository,
    enqueue_reminder,
    enqueue_sessions_lapsing,
)
from sessionbook.notifications.previews import sample_for

log = structlog.get_logger(__name__)

# Waits after the 1st, 2nd, ... failed attempt; after the last one the message is "failed".
RETRY_DELAYS = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=15),
    timedelta(hours=1),
    timedelta(hours=3),
    timedelta(hours=6),
    timedelta(hours=12),
)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
REMINDER_LEAD = timedelta(hours=24)
# How long before `sessionsValidUntil` a customer with sessions left is told.
LAPSE_WARNING_LEAD = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class _Job:
    row_id: int
    attempt: int
    kind: str
    booking_id: str
    email: OutgoingEmail | None
    skip_reason: str | None = None


class NotificationService:
    """Owns the outbox's sweep duties; the email sender is whichever port was wired."""

    def __init__(
        self,
        *,
        database: Database,
        sender: EmailSender,
        brand: BrandSource,
        site_url: str,
        coach_timezone: str,
        message_domain: str = "sessionbook.invalid",
        batch_size: int = 20,
        max_batches: int = 10,
        lease: timedelta = timedelta(minutes=10),
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.database = database
        self.sender = sender
        self.brand = brand
        self.site_url = site_url
        self.coach_timezone = coach_timezone
        self.message_domain = message_domain
        self.batch_size = batch_size
        self.max_batches = max_batches
        self.lease = lease
        self.clock = clock

    async def queue_reminders(self) -> int:
        """Queue a reminder for each session starting within 24 hours; idempotent."""
        now = self.clock()
        queued = 0
        async with self.database.transaction(SERVICE) as session:
            repository = OutboxRepository(session)
            upcoming = await repository.sessions_to_remind(
                starting_after=now, starting_before=now + REMINDER_LEAD, limit=1000
            )
            for booking_session in upcoming:
                if await enqueue_reminder(session, booking_session):
                    queued += 1
        return queued

    async def queue_lapse_warnings(self) -> int:
        """Sweep duty: a week before unbooked sessions lapse, tell the customer once."""
        now = self.clock()
        queued = 0
        async with self.database.transaction(SERVICE) as session:
            repository = OutboxRepository(session)
            lapsing = await repository.bookings_lapsing(
                valid_until_after=now, valid_until_before=now + LAPSE_WARNING_LEAD, limit=1000
            )
            live = await repository.live_sessions_of({booking.id for booking in lapsing})
            for booking in lapsing:
                remaining = sessions_remaining(booking, len(live[booking.id]))
                if remaining and await enqueue_sessions_lapsing(session, booking, remaining):
                    queued += 1
        return queued

    async def deliver_due(self) -> int:
        """Send due messages batch by batch (bounded per pass); the number sent."""
        sent = 0
        for _ in range(self.max_batches):
            jobs = await self._claim()
            for job in jobs:
                sent += await self._deliver(job)
            if len(jobs) < self.batch_size:
                break
        return sent

    async def email_setting(self) -> EmailSetting:
        """The brand as it is now, with the site and the coach's zone: what every email shares."""
        return EmailSetting(
            brand=await self.brand.current(),
            site_url=self.site_url,
            coach_timezone=self.coach_timezone,
        )

    async def preview(self, kind: str, *, locale: str, package: Package) -> OutgoingEmail:
        """`kind` as a fictitious customer of `package` would receive it, rendered like the
        real ones; KeyError for a kind that does not exist."""
        now = self.clock()
        setting = await self.email_setting()
        zone = ZoneInfo(self.coach_timezone)
        sample = sample_for(kind, package=package, locale=locale, zone=zone, now=now)
        return render(
            kind=kind,
            booking=sample.booking,
            sessions=sample.sessions,
            payload=sample.payload,
            setting=setting,
            message_id=f"<sessionbook-preview-{kind}@{self.message_domain}>",
            sequence=int(now.timestamp()),
            now=now,
        )

    async def _claim(self) -> list[_Job]:
        now = self.clock()
        jobs: list[_Job] = []
        # Read before the claim's transaction, once per batch: the brand is its own read.
        setting = await self.email_setting()
        async with self.database.transaction(SERVICE) as session:
            repository = OutboxRepository(session)
            rows = await repository.claim_due(now, lease=self.lease, limit=self.batch_size)
            booking_ids = {row.booking_id for row in rows if row.booking_id}
            bookings = await repository.bookings(booking_ids)
            sessions = await repository.live_sessions_of(booking_ids)
            for row in rows:
                booking = bookings.get(row.booking_id) if row.booking_id else None
                email: OutgoingEmail | None = None
                reason: str | None = None
                try:
                    if booking is None:
                        raise Obsolete("no booking")
                    email = render(
                        kind=row.kind,
                        booking=booking,
                        sessions=sessions.get(booking.id, []),
                        payload=dict(row.payload or {}),
                        setting=setting,
                        message_id=f"<sessionbook-outbox-{row.id}@{self.message_domain}>",
                        sequence=int(row.created_at.timestamp()),
                        now=now,
                    )
                except Obsolete as exc:
                    reason = str(exc)
                jobs.append(
                    _Job(
                        row_id=row.id,
                        attempt=row.attempts,
                        kind=row.kind,
                        booking_id=str(row.booking_id),
                        email=email,
                        skip_reason=reason,
                    )
                )
        return jobs

    async def _deliver(self, job: _Job) -> int:
        if job.email is None:
            await self._settle(job, "skipped", error=f"skipped: {job.skip_reason}")
            record_notification(job.kind, "skipped")
            return 0
        try:
            await self.sender.send(job.email)
        except Exception as exc:
            permanent = isinstance(exc, EmailDeliveryError) and exc.permanent
            error = str(exc) if isinstance(exc, EmailDeliveryError) else type(exc).__name__
            if permanent or job.attempt >= MAX_ATTEMPTS:
                await self._settle(job, "failed", error=error)
                record_notification(job.kind, "failed")
                log.error(
                    "email_failed",
                    kind=job.kind,
                    booking_id=job.booking_id,
                    attempts=job.attempt,
                    error=error,
                )
            else:
                retry_at = self.clock() + RETRY_DELAYS[job.attempt - 1]
                await self._settle(job, "pending", error=error, next_attempt_at=retry_at)
                record_notification(job.kind, "retry")
                log.warning(
                    "email_retry_scheduled",
                    kind=job.kind,
                    booking_id=job.booking_id,
                    attempts=job.attempt,
                    error=error,
                )
            return 0
        await self._settle(job, "sent")
        record_notification(job.kind, "sent")
        return 1

    async def _settle(
        self,
        job: _Job,
        state: str,
        *,
        error: str | None = None,
        next_attempt_at: datetime | None = None,
    ) -> None:
        async with self.database.transaction(SERVICE) as session:
            recorded = await OutboxRepository(session).settle(
                job.row_id,
                claimed_attempt=job.attempt,
                state=state,
                now=self.clock(),
                error=error,
                next_attempt_at=next_attempt_at,
            )
        if not recorded:
            log.warning("outbox_claim_lost", kind=job.kind, booking_id=job.booking_id)


def message_domain(sender_address: str | None) -> str:
    """The domain part of SMTP_FROM, used in Message-IDs; a reserved name without one."""
    if sender_address and "@" in sender_address:
        return sender_address.rsplit("@", 1)[1].strip(" >") or "sessionbook.invalid"
    return "sessionbook.invalid"


__all__ = ["MAX_ATTEMPTS", "NotificationService", "message_domain"]
