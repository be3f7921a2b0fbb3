"""One pass of the background duties; idempotent, safe on several hosts at once."""

from __future__ import annotations

from dataclasses import dataclass, field

import structlog

from sessionbook.container import Services

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
    duties = [("expired", services.bookings.expire_due)]
    for name, duty in duties:
        try:
            report.add(name, await duty())
        except Exception:
            log.exception("sweep_duty_failed", duty=name)
            report.add(f"{name}_failed", 1)
    log.info("sweep_done", **report.counts)
    return report
