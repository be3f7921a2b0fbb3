"""The in-process sweeper: runs `run_sweep` every SWEEP_INTERVAL_SECONDS inside the server.

Every instance (and every worker process) may run it: each duty claims its rows with
SKIP LOCKED or a unique key, so passes on several hosts share the work instead of doubling it.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Awaitable, Callable

import structlog

from sessionbook.core.metrics import record_sweep
from sessionbook.core.wakeup import Wakeup
from sessionbook.monitoring.sweep import SweepReport

log = structlog.get_logger(__name__)

# The first pass comes soon after start, so a restart resumes waiting work quickly.
FIRST_PASS_MAX_DELAY_SECONDS = 10.0
# After a ring, a short pause: the news was queued inside a transaction that commits a moment
# later, and a burst of rings (a busy minute) makes one pass, not one per ring.
RING_SETTLE_SECONDS = 0.5


class SweepWorker:
    """A background task started in the app's lifespan and cancelled at shutdown."""

    def __init__(
        self,
        run_pass: Callable[[], Awaitable[SweepReport]],
        interval_seconds: float,
        wakeup: Wakeup | None = None,
    ) -> None:
        self.run_pass = run_pass
        self.interval_seconds = interval_seconds
        # Rung when work is queued: a pass then comes at once instead of at the next interval.
        self.wakeup = wakeup
        self.passes = 0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self.interval_seconds <= 0 or self._task is not None:
            return
        self._task = asyncio.create_task(self._loop(), name="sessionbook-sweep")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def _loop(self) -> None:
        # Jitter keeps instances started together from sweeping in lock-step.
        delay = random.uniform(0, min(self.interval_seconds, FIRST_PASS_MAX_DELAY_SECONDS))
        while True:
            if self.wakeup is None:
                await asyncio.sleep(delay)
            elif await self.wakeup.wait_at_most(delay):
                await asyncio.sleep(RING_SETTLE_SECONDS)
            await self.run_once()
            delay = self.interval_seconds * random.uniform(0.9, 1.1)

    async def run_once(self) -> None:
        """One pass; whatever it raises is logged, and the loop goes on."""
        try:
            report = await self.run_pass()
        except Exception:
            log.exception("sweep_pass_failed")
            record_sweep(["pass"])
        else:
            record_sweep(
                [d.removesuffix("_failed") for d in report.counts if d.endswith("_failed")]
            )
        finally:
            self.passes += 1
