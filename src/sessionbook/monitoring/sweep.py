"""One pass of the background duties; idempotent, safe on several hosts at once."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import structlog

from sessionbook.core.db import database_unreachable

log = structlog.get_logger(__name__)

# A duty's name in the report, and the call that does it and says how many rows it handled.
SweepDuty = tuple[str, Callable[[], Awaitable[int]]]


@dataclass
class SweepReport:
    """What one pass did, by duty; printed by `sessionbook sweep`."""

    counts: dict[str, int] = field(default_factory=dict)

    def add(self, duty: str, count: int) -> None:
        self.counts[duty] = self.counts.get(duty, 0) + count


async def run_sweep(duties: Sequence[SweepDuty]) -> SweepReport:
    """Run every duty once, in order; a failing duty is logged and the others still run."""
    report = SweepReport()
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
