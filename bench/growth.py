"""How latency grows with the table: status, create, the admin insights page, every sweep
duty's query and every admin or CLI view's queries at 1 thousand, 100 thousand, 1 million rows.

One PostgreSQL database grows in steps (COPY), and after each step the same load is measured
on the same running server, so the only thing that changes is the amount of data. Status asks
for tokens spread evenly over all rows, old and new, not only the freshest ones in cache. What
grows is the history (see bench/seed.py): the practice's present stays the same.

`python -m bench.growth --sizes 1000,100000,1000000 [--explain] [--queries-only]` runs it on
its own: the queries alone (no server, no load) with `--queries-only`, and with `--explain`
the `EXPLAIN (ANALYZE, BUFFERS)` of every query at the largest size.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import asyncpg

from bench.databases import BenchDatabase, create_postgres, drop_postgres
from bench.insights import time_insights_page
from bench.load import run_load
from bench.queries import QueryBench
from bench.report import markdown_table
from bench.scenarios import CreateScenario, Scenario, StatusScenario
from bench.seed import TABLES, Seeded, seed
from bench.stack import running_stack
from sessionbook.core.db import Database

# The admin insights page, rendered in process one request at a time (see bench/insights.py).
INSIGHTS_SCENARIO = "admin insights page, 1 client"
INSIGHTS_ROUNDS = 20
# Each sweep or view query: rounds after a warm-up, the median kept.
QUERY_ROUNDS = 15


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
                points.extend(await measure_queries(database, seeded, size, log=log))
    finally:
        await drop_postgres(database.owner_url)
    return points


async def vacuum_tables(database: BenchDatabase) -> None:
    """Clear the dead row versions the captured runs left (the sweep's stamps, rolled back)."""
    connection = await asyncpg.connect(database.owner_dsn)
    try:
        for table, _columns in TABLES:
            await connection.execute(f"VACUUM {table}")
    finally:
        await connection.close()


# (size, query, database ms, pages) of every query measured in this process, for the table.
database_points: list[tuple[int, str, float, int]] = []


async def measure_queries(
    database: BenchDatabase,
    seeded: Seeded,
    size: int,
    *,
    rounds: int = QUERY_ROUNDS,
    log: Callable[[str], None] = print,
) -> list[GrowthPoint]:
    """Each sweep and view query's median over `rounds`, as growth points (p99: the slowest)."""

    async def vacuum() -> None:
        await vacuum_tables(database)

    app = Database(database.app_url)
    try:
        timings = await QueryBench(app, seeded).time_all(rounds=rounds, vacuum=vacuum)
    finally:
        await app.dispose()
    points = []
    for timing in timings:
        log(
            f"growth: {size:,} rows {timing.name}: median {timing.median_ms:.2f} ms "
            f"(fastest {timing.fastest_ms:.2f}, slowest {timing.slowest_ms:.2f}, "
            f"{timing.rows} rows); database {timing.database_ms:.3f} ms, "
            f"{timing.buffers} pages"
        )
        database_points.append((size, timing.name, timing.database_ms, timing.buffers))
        points.append(
            GrowthPoint(
                rows=size,
                scenario=timing.name,
                requests=timing.rounds,
                errors=0,
                p50_ms=timing.median_ms,
                p99_ms=timing.slowest_ms,
                throughput=1000 / timing.median_ms if timing.median_ms else 0.0,
                seed_seconds=0.0,
            )
        )
    return points


def is_query_point(point: GrowthPoint) -> bool:
    """A sweep duty's or an admin or CLI view's query, not a load scenario."""
    return point.scenario.startswith(("sweep", "admin", "CLI"))


def query_table(points: list[GrowthPoint], sizes: list[int]) -> str:
    """One row per query: its median at each size and the ratio of the largest to the first."""
    medians: dict[str, dict[int, float]] = {}
    for point in points:
        if is_query_point(point):
            medians.setdefault(point.scenario, {})[point.rows] = point.p50_ms
    body = []
    for name, by_size in medians.items():
        first, last = by_size.get(sizes[0]), by_size.get(sizes[-1])
        ratio = f"{last / first:.2f}" if first and last else ""
        body.append([name, *(f"{by_size.get(size, 0.0):.2f}" for size in sizes), ratio])
    headers = ["query", *(f"{size:,} ms" for size in sizes), f"{sizes[-1]:,} / {sizes[0]:,}"]
    return markdown_table(headers, body)


def database_table(sizes: list[int]) -> str:
    """Per query: the database's execution time and the pages it touched, at each size."""
    found: dict[str, dict[int, tuple[float, int]]] = {}
    for size, name, database_ms, pages in database_points:
        found.setdefault(name, {})[size] = (database_ms, pages)
    body = []
    for name, by_size in found.items():
        first, last = by_size.get(sizes[0]), by_size.get(sizes[-1])
        ratio = f"{last[0] / first[0]:.2f}" if first and last and first[0] else ""
        cells = [f"{by_size[size][0]:.3f}" if size in by_size else "" for size in sizes]
        touched = [str(by_size[size][1]) if size in by_size else "" for size in sizes]
        body.append([name, *cells, ratio, " / ".join(touched)])
    headers = [
        "query",
        *(f"{size:,} db ms" for size in sizes),
        f"{sizes[-1]:,} / {sizes[0]:,}",
        "pages (each size)",
    ]
    return markdown_table(headers, body)


@contextlib.contextmanager
def _timed(label: str, log: Callable[[str], None]) -> Iterator[None]:
    started = time.perf_counter()
    yield
    log(f"growth: {label} in {time.perf_counter() - started:.1f}s")


async def queries_only(
    sizes: list[int], *, explain: bool, rounds: int, log: Callable[[str], None] = print
) -> None:
    """Grow one database and time the sweep and view queries at each size (no server)."""
    database = await create_postgres()
    points: list[GrowthPoint] = []
    seeded = Seeded()
    try:
        for size in sizes:
            with _timed(f"{size:,} bookings seeded", log):
                await seed(database.owner_dsn, seeded, size - seeded.rows)
            points.extend(await measure_queries(database, seeded, size, rounds=rounds, log=log))
        print(query_table(points, sizes))
        print()
        print(database_table(sizes))
        if explain:
            app = Database(database.app_url)
            try:

                async def vacuum() -> None:
                    await vacuum_tables(database)

                plans = await QueryBench(app, seeded).explain_all(vacuum)
            finally:
                await app.dispose()
            for name, statement, plan in plans:
                print(f"\n#### {name}\n\n```sql\n{statement}\n```\n\n```\n{plan}\n```")
    finally:
        await drop_postgres(database.owner_url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,100000,1000000")
    parser.add_argument("--rounds", type=int, default=QUERY_ROUNDS)
    parser.add_argument("--explain", action="store_true", help="EXPLAIN each at the last size")
    parser.add_argument(
        "--queries-only", action="store_true", help="only the sweep and view queries"
    )
    args = parser.parse_args()
    sizes = sorted(int(size) for size in args.sizes.split(","))
    if args.queries_only or args.explain:
        asyncio.run(queries_only(sizes, explain=args.explain, rounds=args.rounds))
        return
    points = asyncio.run(
        measure_growth(sizes, workers=2, clients=16, max_requests=20000, max_seconds=8.0)
    )
    print(growth_table([point for point in points if not is_query_point(point)]))
    print(query_table(points, sizes))
    print(database_table(sizes))


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


if __name__ == "__main__":
    main()
