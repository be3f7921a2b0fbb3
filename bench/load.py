"""Closed-loop load: N clients, each sending its next request as soon as the last one answered.

Every run is bounded twice, by a number of requests and by a time limit, whichever comes
first, so no loop here can run away. Latency is measured per request from just before the
request is written to just after its body is read.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from bench.client import Answer, Connection

# A request maker gets the request's sequence number and a connection, and returns the answer.
RequestMaker = Callable[[int, Connection], Awaitable[Answer]]


@dataclass
class LoadResult:
    """What one run saw: answers by status, latencies of the expected ones, wall time."""

    concurrency: int
    seconds: float
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)
    stopped_by_time: bool = False

    @property
    def ok(self) -> int:
        return len(self.latencies)

    @property
    def errors(self) -> int:
        return sum(self.failures.values())

    @property
    def throughput(self) -> float:
        return self.ok / self.seconds if self.seconds > 0 else 0.0

    def percentile(self, fraction: float) -> float:
        """Nearest-rank percentile of successful latencies, in seconds (nan when none)."""
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        rank = max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))
        return ordered[rank]

    @property
    def p50_ms(self) -> float:
        return self.percentile(0.50) * 1000

    @property
    def p99_ms(self) -> float:
        return self.percentile(0.99) * 1000


async def run_load(
    make_request: RequestMaker,
    *,
    port: int,
    concurrency: int,
    max_requests: int,
    max_seconds: float,
    expected_status: int = 200,
    host: str = "127.0.0.1",
) -> LoadResult:
    """Run up to `max_requests` with `concurrency` clients for at most `max_seconds`.

    Requests are numbered 0..max_requests-1 and handed out in order, so a scenario can give
    each request its own prepared data. An answer with another status than expected counts
    as an error, not as a latency sample.
    """
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise ValueError("load goes to the loopback interface only")
    result = LoadResult(concurrency=concurrency, seconds=0.0)
    next_number = 0
    started = time.perf_counter()
    deadline = started + max_seconds

    async def client() -> None:
        nonlocal next_number
        connection = Connection(host, port)
        try:
            while next_number < max_requests:
                if time.perf_counter() >= deadline:
                    result.stopped_by_time = True
                    return
                number = next_number
                next_number += 1
                sent = time.perf_counter()
                try:
                    answer = await make_request(number, connection)
                except (OSError, asyncio.IncompleteReadError, TimeoutError) as exc:
                    result.failures[type(exc).__name__] += 1
                    continue
                elapsed = time.perf_counter() - sent
                result.statuses[answer.status] += 1
                if answer.status == expected_status:
                    result.latencies.append(elapsed)
                else:
                    result.failures[f"http_{answer.status}"] += 1
        finally:
            await connection.close()

    clients = [asyncio.create_task(client()) for _ in range(concurrency)]
    try:
        # The per-request timeout bounds a stuck request; this bounds the run as a whole.
        await asyncio.wait_for(asyncio.gather(*clients), timeout=max_seconds + 60)
    finally:
        for task in clients:
            task.cancel()
        await asyncio.gather(*clients, return_exceptions=True)
    result.seconds = time.perf_counter() - started
    return result
