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
        try:
            await asyncio.wait_for(self._rung.wait(), seconds)
        except TimeoutError:
            return False
        self._rung.clear()
        return True
