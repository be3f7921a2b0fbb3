"""Slot helpers: a customer's calendar days as UTC instants, and a short cache of Cal.com slots."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from zoneinfo import ZoneInfo

from sessionbook.scheduling.calcom.calendar import Slot

SlotKey = tuple[int, datetime, datetime, str]


def day_window(first: date, last: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """[start of `first`, start of the day after `last`) in `zone`, as UTC instants.

    zoneinfo applies each date's own offset, so a day that gains or loses an hour to daylight
    saving is 25 or 23 hours long, as the customer lives it.
    """
    start = datetime.combine(first, clock_time(0), tzinfo=zone)
    end = datetime.combine(last + timedelta(days=1), clock_time(0), tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def without_overlaps(
    slots: Iterable[Slot], taken: Iterable[tuple[datetime, datetime]]
) -> list[Slot]:
    held = list(taken)
    return [
        slot
        for slot in slots
        if not any(slot.start < end and start < slot.end for start, end in held)
    ]


class SlotCache:
    """Cal.com's answers for a few seconds, per event type, range and zone.

    A page showing a week of slots asks for the same range many times (several visitors, a
    refresh); within the TTL Cal.com is asked once. Staleness is harmless: a slot taken since is
    refused by Cal.com when booked, and a slot we hold ourselves is filtered by our own claims.
    """

    def __init__(
        self,
        ttl_seconds: float,
        *,
        max_entries: int = 1024,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl_seconds = ttl_seconds
        self.max_entries = max_entries
        self._monotonic = monotonic
        self._entries: dict[SlotKey, tuple[float, list[Slot]]] = {}

    def get(self, key: SlotKey) -> list[Slot] | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires, slots = entry
        if expires <= self._monotonic():
            del self._entries[key]
            return None
        return slots

    def put(self, key: SlotKey, slots: list[Slot]) -> None:
        if self.ttl_seconds <= 0:
            return
        now = self._monotonic()
        if len(self._entries) >= self.max_entries:
            self._entries = {k: v for k, v in self._entries.items() if v[0] > now}
            if len(self._entries) >= self.max_entries:
                # Still full of live entries: drop the oldest half rather than grow without end.
                for stale in sorted(self._entries, key=lambda k: self._entries[k][0])[
                    : self.max_entries // 2
                ]:
                    del self._entries[stale]
        self._entries[key] = (now + self.ttl_seconds, slots)

    def clear(self) -> None:
        """Forget everything: called after we book, move or cancel, so our own change shows."""
        self._entries.clear()
