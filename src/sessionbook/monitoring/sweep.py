"""One pass of the background duties; idempotent, safe on several hosts at once."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import structlog

from sessionbook.bootstrap import Services
from sessionbook.core.db import database_unreachable

log = structlog.get_logger(__name__)


@dataclass
class SweepReport:
    """What one pass did, by duty; printed by `sessionbook sweep`."""

    counts: dict[str, int] = field(default_factory=dict)

    def add(self, duty: str, count: int) -> None:
        self.counts[duty] = self.counts.get(duty, 0) + count


async def run_sweep(services: Services) -> SweepReport:
    """Run every duty once; a failing duty is logged and the others still run."""
    report = SweepReport()
    duties: list[tuple[str, Callable[[], Awaitable[int]]]] = [
        ("expired", services.bookings.expire_due)
    ]
    payments = services.payment_service
    # After expiry, so links of bookings that just expired are stopped in the same pass.
    duties += [
        ("webhooks_retried", payments.retry_webhook_events),
        ("payments_reconciled", payments.reconcile_pending),
        ("payment_links_deactivated", payments.deactivate_expired_links),
        ("refunds_followed", payments.follow_refunds),
    ]
    # Before the emails, so a booking adopted here gets its confirmation in this same pass.
    duties += [
        ("scheduling_recovered", services.scheduling.recovery.recover_lapsed),
        ("calendar_cancelled", services.scheduling.recovery.cancel_for_cancelled),
    ]
    # Last: reminders are queued, then everything due (the news above included) is sent.
    duties += [
        ("reminders_queued", services.notifications.queue_reminders),
        ("emails_sent", services.notifications.deliver_due),
    ]
    for name, duty in duties:
        try:
            report.add(name, await duty())
        except Exception as exc:
            report.add(f"{name}_failed", 1)
            if database_unreachable(exc):
                # Every other duty needs the database too: one line, and the next pass retries.
                log.warning("sweep_database_unreachable", duty=name, error=str(exc))
                break
            log.exception("sweep_duty_failed", duty=name)
    log.info("sweep_done", **report.counts)
    return report
