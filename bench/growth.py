"""How latency grows with the table: status, create and the admin insights page at 1 thousand,
100 thousand, 1 million rows.

One PostgreSQL database grows in steps (COPY), and after each step the same load is measured
on the same running server, so the only thing that changes is the amount of data. Status asks
for tokens spread evenly over all rows, old and new, not only the freshest ones in cache.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from bench.databases import create_postgres, drop_postgres
from bench.insights import time_insights_page
from bench.load import run_load
from bench.report import markdown_table
from bench.scenarios import CreateScenario, Scenario, StatusScenario
from bench.seed import Seeded, seed
from bench.stack import running_stack

# The admin insights page, rendered in process one request at a time (see bench/insights.py).
INSIGHTS_SCENARIO = "admin insights page, 1 client"
INSIGHTS_ROUNDS = 20


@dataclass
class GrowthPoint:
    rows: int
    scenario: str
    requests: int
    errors: int
    p50_ms: float
    p99_ms: float
    throughput: float
    seed_seconds: float


async def measure_growth(
    sizes: list[int],
    *,
    workers: int,
    clients: int,
    max_requests: int,
    max_seconds: float,
    log: Callable[[str], None] = print,
) -> list[GrowthPoint]:
    """Seed up to each size in turn and measure status and create there."""
    database = await create_postgres()
    points: list[GrowthPoint] = []
    try:
        with running_stack(database.app_url, workers=workers) as stack:
            seeded = Seeded()
            rng = random.Random(8)
            for size in sizes:
                started = time.perf_counter()
                if size > seeded.rows:
                    await seed(database.owner_dsn, seeded, size - seeded.rows)
                seed_seconds = time.perf_counter() - started
                log(f"growth: {seeded.rows:,} bookings seeded in {seed_seconds:.1f}s")
                status = StatusScenario()
                status.use_tokens(seeded.sample(2000, rng))
                create = CreateScenario()
                scenarios: list[Scenario] = [status, create]
                for scenario in scenarios:
                    await scenario.prepare(stack.target, max_requests)
                    # Warm the server's caches and connections; not counted.
                    await run_load(
                        scenario.request,
                        port=stack.target.server_port,
                        concurrency=clients,
                        max_requests=min(300, max_requests),
                        max_seconds=2,
                        expected_status=scenario.expected_status,
                    )
                    result = await run_load(
                        scenario.request,
                        port=stack.target.server_port,
                        concurrency=clients,
                        max_requests=max_requests,
                        max_seconds=max_seconds,
                        expected_status=scenario.expected_status,
                    )
                    points.append(
                        GrowthPoint(
                            rows=size,
                            scenario=scenario.name,
                            requests=result.ok + result.errors,
                            errors=result.errors,
                            p50_ms=result.p50_ms,
                            p99_ms=result.p99_ms,
                            throughput=result.throughput,
                            seed_seconds=seed_seconds,
                        )
                    )
                    log(
                        f"growth: {size:,} rows {scenario.name}: {result.throughput:,.0f} req/s "
                        f"p50 {result.p50_ms:.1f} ms p99 {result.p99_ms:.1f} ms "
                        f"errors {result.errors}"
                    )
                page = await time_insights_page(database.app_url, rounds=INSIGHTS_ROUNDS)
                points.append(
                    GrowthPoint(
                        rows=size,
                        scenario=INSIGHTS_SCENARIO,
                        requests=page.rounds,
                        errors=0,
                        p50_ms=page.p50_ms,
                        p99_ms=page.p99_ms,
                        throughput=page.rounds / page.total_seconds,
                        seed_seconds=seed_seconds,
                    )
                )
                log(
                    f"growth: {size:,} rows {INSIGHTS_SCENARIO}: p50 {page.p50_ms:.1f} ms "
                    f"p99 {page.p99_ms:.1f} ms ({page.html_bytes:,} bytes, one at a time)"
                )
    finally:
        await drop_postgres(database.owner_url)
    return points


def growth_table(points: list[GrowthPoint]) -> str:
    first: dict[str, GrowthPoint] = {}
    body = []
    for point in points:
        base = first.setdefault(point.scenario, point)
        body.append(
            [
                f"{point.rows:,}",
                point.scenario,
                str(point.requests),
                str(point.errors),
                f"{point.throughput:,.0f}",
                f"{point.p50_ms:.1f}",
                f"{point.p99_ms:.1f}",
                f"{point.p50_ms / base.p50_ms:.2f}",
                f"{point.p99_ms / base.p99_ms:.2f}",
            ]
        )
    headers = ["bookings", "scenario", "requests", "errors", "req/s", "p50 ms", "p99 ms"]
    headers += [f"p50 / {points[0].rows:,}" if points else "p50 ratio", "p99 ratio"]
    return markdown_table(headers, body)
