"""Gauges read from the database at scrape time: bookings by status, webhooks, the outbox.

Each scrape would otherwise cost three grouped queries per instance; the answer is cached for
a few seconds, so many scrapers (or a scraper and an operator) share one round of queries.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

import structlog
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from sessionbook.admin.repository import AdminRepository, StateCount
from sessionbook.bookings.models import BookingStatus
from sessionbook.core.db import ADMIN, Database
from sessionbook.core.metrics import multiprocess_enabled
from sessionbook.payments.models import WEBHOOK_STATES

log = structlog.get_logger(__name__)

SNAPSHOT_TTL_SECONDS = 5.0
OUTBOX_STATES = ("pending", "sent", "failed", "skipped")


@dataclass(frozen=True)
class OperationsSnapshot:
    """What the database said at `taken_at` (monotonic clock); `ok` is false if it failed."""

    ok: bool
    taken_at: float
    bookings_by_status: dict[str, int] = field(default_factory=dict)
    webhooks: list[StateCount] = field(default_factory=list)
    outbox: list[StateCount] = field(default_factory=list)


class SnapshotCache:
    """Query at most once per TTL; concurrent scrapes wait for the same query."""

    def __init__(self, database: Database, ttl_seconds: float = SNAPSHOT_TTL_SECONDS) -> None:
        self.database = database
        self.ttl_seconds = ttl_seconds
        self._snapshot: OperationsSnapshot | None = None
        self._lock = asyncio.Lock()

    async def get(self) -> OperationsSnapshot:
        async with self._lock:
            current = self._snapshot
            if current is not None and time.monotonic() - current.taken_at < self.ttl_seconds:
                return current
            self._snapshot = await self._query()
            return self._snapshot

    async def _query(self) -> OperationsSnapshot:
        try:
            async with self.database.transaction(ADMIN) as session:
                repository = AdminRepository(session)
                return OperationsSnapshot(
                    ok=True,
                    taken_at=time.monotonic(),
                    bookings_by_status=await repository.bookings_by_status(),
                    webhooks=await repository.webhooks_by_state(),
                    outbox=await repository.outbox_by_state(),
                )
        except Exception as exc:
            # Metrics must still answer when the database does not: that is when they matter.
            log.warning("metrics_snapshot_failed", error_type=type(exc).__name__)
            return OperationsSnapshot(ok=False, taken_at=time.monotonic())


class SnapshotCollector(Collector):
    """Turns one snapshot into gauge families for a per-scrape registry."""

    def __init__(self, snapshot: OperationsSnapshot) -> None:
        self.snapshot = snapshot

    def collect(self) -> Iterable[Metric]:
        snapshot = self.snapshot
        up = GaugeMetricFamily(
            "sessionbook_database_up", "1 when the scrape-time database queries succeeded."
        )
        up.add_metric([], 1.0 if snapshot.ok else 0.0)
        yield up
        if not snapshot.ok:
            return
        bookings = GaugeMetricFamily(
            "sessionbook_bookings", "Bookings in each status.", labels=["status"]
        )
        for status in BookingStatus:
            bookings.add_metric([status.value], snapshot.bookings_by_status.get(status.value, 0))
        yield bookings
        yield from _state_gauges(
            "sessionbook_webhook_events_stored",
            "Stored payment webhook deliveries in each processing state.",
            WEBHOOK_STATES,
            snapshot.webhooks,
        )
        newest = max((s.newest for s in snapshot.webhooks if s.newest), default=None)
        if newest is not None:
            last = GaugeMetricFamily(
                "sessionbook_webhook_last_received_timestamp_seconds",
                "Unix time of the newest stored webhook delivery.",
            )
            last.add_metric([], newest.timestamp())
            yield last
        yield from _state_gauges(
            "sessionbook_outbox_messages",
            "Customer notifications in each outbox state.",
            OUTBOX_STATES,
            snapshot.outbox,
        )
        pending = next((s for s in snapshot.outbox if s.state == "pending"), None)
        age = GaugeMetricFamily(
            "sessionbook_outbox_oldest_pending_age_seconds",
            "Age of the oldest notification not sent yet (0 when none waits).",
        )
        oldest = pending.oldest.timestamp() if pending and pending.oldest else None
        age.add_metric([], max(0.0, time.time() - oldest) if oldest is not None else 0.0)
        yield age


def _state_gauges(
    name: str, documentation: str, states: Iterable[str], counts: list[StateCount]
) -> Iterable[Metric]:
    family = GaugeMetricFamily(name, documentation, labels=["state"])
    by_state = {count.state: count.count for count in counts}
    for state in states:
        family.add_metric([state], by_state.get(state, 0))
    yield family


async def render_metrics(cache: SnapshotCache) -> bytes:
    """The exposition text: this process's (or all workers') metrics plus the database gauges."""
    per_scrape = CollectorRegistry(auto_describe=False)
    per_scrape.register(SnapshotCollector(await cache.get()))
    if multiprocess_enabled():
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(per_scrape)  # type: ignore[no-untyped-call]
        return generate_latest(per_scrape)
    return generate_latest(REGISTRY) + generate_latest(per_scrape)
