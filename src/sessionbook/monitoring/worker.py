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
        run_rung: Callable[[], Awaitable[SweepReport]] | None = None,
    ) -> None:
        self.run_pass = run_pass
        self.interval_seconds = interval_seconds
        # What a ring calls for (sending the email just queued); the whole pass by default.
        # Every duty still runs each interval: a ring does not move the next whole pass.
        self.run_rung = run_rung or run_pass
        # Rung when work is queued: a pass then comes at once instead of at the next interval.
        self.wakeup = wakeup
        self.passes = 0
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def start(self) -> None:
        if self.interval_seconds <= 0 or self._task is not None:
            return
        self._task = asyncio.create_task(self._loop(), name="sessionbook-sweep")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is None:
            return
        # The flag ends the loop even if a cancellation is lost inside a library's wait.
        self._stopping = True
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def _loop(self) -> None:
        # Jitter keeps instances started together from sweeping in lock-step.
        loop = asyncio.get_running_loop()
        delay = random.uniform(0, min(self.interval_seconds, FIRST_PASS_MAX_DELAY_SECONDS))
        next_pass = loop.time() + delay
        while not self._stopping:
            delay = max(0.0, next_pass - loop.time())
            if self.wakeup is None:
                await asyncio.sleep(delay)
            elif await self.wakeup.wait_at_most(delay):
                # Under steady traffic (a payment a second) rings come back to back: running
                # every duty on each made the sweep most of a webhook's CPU (bench/RESULTS.md).
                await asyncio.sleep(RING_SETTLE_SECONDS)
                if loop.time() < next_pass:
                    await self.run_once(self.run_rung)
                    continue
            await self.run_once()
            next_pass = loop.time() + self.interval_seconds * random.uniform(0.9, 1.1)

    async def run_once(self, run: Callable[[], Awaitable[SweepReport]] | None = None) -> None:
        """One pass (the whole one unless told); whatever it raises is logged, the loop goes on."""
        try:
            report = await (run or self.run_pass)()
        except Exception:
            log.exception("sweep_pass_failed")
            record_sweep(["pass"])
        else:
            record_sweep(
                [d.removesuffix("_failed") for d in report.counts if d.endswith("_failed")]
            )
        finally:
            self.passes += 1
