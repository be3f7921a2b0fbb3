"""A doorbell for the in-process sweep: news queued now should not wait a whole interval."""

from __future__ import annotations

import asyncio


class Wakeup:
    """Rung when work is queued for the sweep (an email, say); the sweep worker waits on it.

    Ringing is cheap and safe without a listener (cron mode, the CLI): it only sets a flag.
    """

    def __init__(self) -> None:
        self._rung = asyncio.Event()

    def ring(self) -> None:
        self._rung.set()

    async def wait_at_most(self, seconds: float) -> bool:
        """True when rung within `seconds` (the ring is then used up), else False."""
        # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a cancellation
        # that lands as the ring arrives, and the sweep worker then never stopped.
        try:
            async with asyncio.timeout(seconds):
                await self._rung.wait()
        except TimeoutError:
            return False
        self._rung.clear()
        return True
