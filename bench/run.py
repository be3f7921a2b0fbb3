"""`python -m bench.run --short|--full`: the benchmark matrix, the baseline and the growth curve.

The table goes to stdout; the charts (throughput and p99 against clients, the growth curve)
to bench/figures/*.svg, which RESULTS.md shows.

For each database (SQLite, PostgreSQL) and worker count, a fresh migrated database, fresh
provider stand-ins and `sessionbook serve --workers N`; then each scenario at each number of
concurrent clients, every run bounded in requests and seconds. On PostgreSQL the bare
Starlette + asyncpg baseline is measured against the same database. Everything started is
stopped and every database created is dropped, whatever happens.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bench.client import Answer, Connection
from bench.databases import (
    BenchDatabase,
    admin_url,
    create_postgres,
    drop_postgres,
    plain_dsn,
    postgres_available,
    sqlite_database,
)
from bench.figures import write_figures
from bench.growth import (
    GrowthPoint,
    database_table,
    growth_table,
    is_query_point,
    measure_growth,
    query_table,
)
from bench.load import LoadResult, run_load
from bench.procs import Child
from bench.report import Row, baseline_table, machine_description, matrix_table, postgres_version
from bench.scaling import Bounds, measure_scaling, measure_sqlite_writers, redis_url, row_of
from bench.scenarios import Scenario, StatusScenario, Target, all_scenarios
from bench.stack import Stack, StandIns, running_baseline, running_server, running_standins

FIGURES = Path(__file__).parent / "figures"


@dataclass
class Plan:
    """What to measure and how hard: the limits of every single run."""

    backends: list[str]
    workers: list[int]
    clients: list[int]
    scenarios: list[str]
    max_seconds: float
    max_requests: dict[str, int]
    warmup_requests: int
    growth_sizes: list[int]
    growth_workers: int
    growth_clients: int
    growth_requests: int
    growth_seconds: float
    baseline: bool = True
    pool_size: int | None = None
    detailed: bool = False
    status_pool: int = 200
    figures: Path | None = FIGURES
    # Scaling out (PostgreSQL) at these clients, limits off and, if asked, on; None skips it.
    scaling_clients: int | None = None
    scaling_limits: tuple[bool, ...] = (False,)
    # SQLite create at 16 clients with each of these worker counts.
    sqlite_writer_workers: list[int] = field(default_factory=list)
    # The worker counts of SQLite's matrix, when not `workers`.
    sqlite_workers: list[int] | None = None
    rows: list[Row] = field(default_factory=list)
    baseline_rows: list[Row] = field(default_factory=list)
    extra_rows: list[Row] = field(default_factory=list)

    @property
    def bounds(self) -> Bounds:
        return Bounds(self.max_requests, self.warmup_requests, self.max_seconds)


@dataclass(frozen=True)
class Preset:
    """The defaults of --short and --full."""

    backends: tuple[str, ...]
    workers: tuple[int, ...]
    clients: tuple[int, ...]
    max_seconds: float
    max_requests: dict[str, int]
    warmup_requests: int
    growth_sizes: tuple[int, ...]
    growth_requests: int
    growth_seconds: float
    status_pool: int
    scaling_clients: int
    scaling_limits: tuple[bool, ...]
    sqlite_writer_workers: tuple[int, ...]
    sqlite_workers: tuple[int, ...]


SHORT = Preset(
    backends=("postgres", "sqlite"),
    workers=(2,),
    clients=(32,),
    max_seconds=2.5,
    max_requests={"status": 5000, "create": 500, "webhook": 120, "schedule": 100},
    warmup_requests=20,
    growth_sizes=(1_000, 100_000),
    growth_requests=3000,
    growth_seconds=2.5,
    status_pool=100,
    scaling_clients=32,
    scaling_limits=(False,),
    sqlite_writer_workers=(1,),
    # SQLite as `sessionbook serve` runs it by default (one worker): its create at 16 clients
    # is then measured on the same server, with no server started for it alone.
    sqlite_workers=(1,),
)
FULL = Preset(
    backends=("postgres", "sqlite"),
    workers=(1, 2),
    clients=(1, 16, 64, 256),
    max_seconds=8.0,
    max_requests={"status": 40000, "create": 3000, "webhook": 600, "schedule": 400},
    warmup_requests=200,
    growth_sizes=(1_000, 100_000, 1_000_000),
    growth_requests=20000,
    growth_seconds=8.0,
    status_pool=200,
    scaling_clients=32,
    scaling_limits=(False, True),
    sqlite_writer_workers=(1, 2),
    sqlite_workers=(1, 2),
)


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


async def measure(
    scenario: Scenario, target: Target, clients: int, plan: Plan, server: Child
) -> tuple[LoadResult, float]:
    """Warm up, then one bounded run; returns it with the server's CPU ms per request.

    The warm-up uses its own prepared requests, so the measured ones are all fresh.
    """
    wanted = plan.max_requests[scenario.name]
    available = await scenario.prepare(target, wanted + plan.warmup_requests)
    warmup = min(plan.warmup_requests, available // 2)
    await run_load(
        scenario.request,
        port=target.server_port,
        concurrency=clients,
        max_requests=warmup,
        max_seconds=plan.max_seconds,
        expected_status=scenario.expected_status,
    )

    async def fresh(number: int, connection: Connection) -> Answer:
        return await scenario.request(number + warmup, connection)

    cpu_before = server.cpu_seconds()
    result = await run_load(
        fresh,
        port=target.server_port,
        concurrency=clients,
        max_requests=available - warmup,
        max_seconds=plan.max_seconds,
        expected_status=scenario.expected_status,
    )
    answered = result.ok + result.errors
    cpu_ms = (server.cpu_seconds() - cpu_before) * 1000 / answered if answered else float("nan")
    return result, cpu_ms


async def run_configuration(database: BenchDatabase, workers: int, plan: Plan) -> None:
    backend = database.backend
    status_tokens: list[str] = []
    with running_standins() as standins:
        with running_server(
            database.app_url, standins, workers=workers, pool_size=plan.pool_size
        ) as stack:
            status_tokens = await run_matrix(backend, workers, stack, plan)
            if backend == "sqlite" and workers in plan.sqlite_writer_workers:
                await sqlite_writers(database, standins, workers, plan, stack)
        await run_extras(database, standins, status_tokens, plan)
    if backend == "postgres" and plan.baseline and status_tokens:
        await run_baseline(database, workers, status_tokens, plan)


async def run_matrix(backend: str, workers: int, stack: Stack, plan: Plan) -> list[str]:
    """Every scenario at every client count on one server; returns the status run's tokens."""
    status_tokens: list[str] = []
    for name in plan.scenarios:
        scenario = all_scenarios()[name]()
        if isinstance(scenario, StatusScenario):
            scenario.pool_size = plan.status_pool
        missing = await scenario.missing_route(stack.target)
        if missing is not None:
            log(f"{backend} x{workers} {name}: skipped, the server has no {missing} yet")
            plan.rows.append(
                Row(
                    backend,
                    workers,
                    name,
                    0,
                    0,
                    0,
                    *(float("nan"),) * 4,
                    note=f"not measured: {missing} not implemented yet",
                )
            )
            continue
        for clients in plan.clients:
            measured = await measure(scenario, stack.target, clients, plan, stack.server)
            row = row_of(backend, workers, name, clients, measured)
            plan.rows.append(row)
            log(f"{backend} x{workers} {name} c={clients}: {row.summary()}")
        if isinstance(scenario, StatusScenario):
            status_tokens = scenario.tokens
    return status_tokens


async def run_extras(
    database: BenchDatabase, standins: StandIns, status_tokens: list[str], plan: Plan
) -> None:
    """Once per backend, on the database and stand-ins the matrix just used."""
    if database.backend == "sqlite":
        in_matrix = plan.sqlite_workers or plan.workers
        for workers in plan.sqlite_writer_workers:
            if workers not in in_matrix:  # else measured on the matrix's own server
                await sqlite_writers(database, standins, workers, plan, None)
        return
    if any(row.backend == "postgres" for row in plan.extra_rows):
        return
    if plan.scaling_clients is None or not status_tokens:
        return
    redis: str | None = redis_url()
    if not await redis_available(redis):
        log(f"Redis is not reachable at {redis}: scaling without REDIS_URL")
        redis = None
    two_workers = {
        row.scenario: row
        for row in plan.rows
        if row.backend == "postgres"
        and row.workers == 2
        and row.clients == plan.scaling_clients
        and row.scenario in ("status", "create")
    }
    for limits_on in plan.scaling_limits:
        if limits_on and redis is None:
            continue
        plan.extra_rows += await measure_scaling(
            database.app_url,
            standins,
            clients=plan.scaling_clients,
            bounds=plan.bounds,
            status_tokens=status_tokens,
            pool_size=plan.pool_size,
            limits_on=limits_on,
            redis=redis,
            log=log,
            two_workers=two_workers if not plan.detailed else None,
        )


async def sqlite_writers(
    database: BenchDatabase, standins: StandIns, workers: int, plan: Plan, stack: Stack | None
) -> None:
    """SQLite create at 16 clients with `workers` workers, once per run."""
    if any(row.backend == "sqlite" and row.workers == workers for row in plan.extra_rows):
        return
    plan.extra_rows.append(
        await measure_sqlite_writers(
            database.app_url,
            standins,
            workers=workers,
            bounds=plan.bounds,
            pool_size=plan.pool_size,
            log=log,
            running=stack,
        )
    )


async def redis_available(url: str | None) -> bool:
    if url is None:
        return False
    client = Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
    try:
        await client.ping()
    except (RedisError, OSError):
        return False
    finally:
        await client.aclose()
    return True


async def run_baseline(
    database: BenchDatabase, workers: int, tokens: list[str], plan: Plan
) -> None:
    """The same status load against the bare app, on the same rows of the same database."""
    with running_baseline(database.owner_dsn, workers=workers) as child:
        scenario = StatusScenario()
        scenario.use_tokens(tokens)
        target = Target(child.url, child.port, "")
        for clients in plan.clients:
            measured = await measure(scenario, target, clients, plan, child)
            row = row_of("postgres", workers, "baseline", clients, measured)
            plan.baseline_rows.append(row)
            log(f"baseline x{workers} c={clients}: {row.summary()}")


async def run_plan(plan: Plan) -> str:
    pg_ok = await postgres_available(admin_url())
    if not pg_ok:
        log("PostgreSQL is not reachable at BENCH_DATABASE_URL: measuring SQLite only")
    version = await postgres_version(plain_dsn(admin_url())) if pg_ok else None
    header = machine_description(version)
    started = time.perf_counter()
    for backend in plan.backends:
        if backend == "postgres" and not pg_ok:
            continue
        counts = plan.sqlite_workers if backend == "sqlite" and plan.sqlite_workers else None
        for workers in counts or plan.workers:
            log(f"{backend} with {workers} worker(s): fresh database, stand-ins and server")
            if backend == "postgres":
                database = await create_postgres()
                try:
                    await run_configuration(database, workers, plan)
                finally:
                    await drop_postgres(database.owner_url)
            else:
                with sqlite_database() as database:
                    await run_configuration(database, workers, plan)
    points: list[GrowthPoint] = []
    queries: list[GrowthPoint] = []
    if plan.growth_sizes and pg_ok:
        log(f"growth: one PostgreSQL database seeded up to {max(plan.growth_sizes):,} bookings")
        measured = await measure_growth(
            plan.growth_sizes,
            workers=plan.growth_workers,
            clients=plan.growth_clients,
            max_requests=plan.growth_requests,
            max_seconds=plan.growth_seconds,
            log=log,
        )
        # The sweep's and the views' queries get tables of their own, not the load's charts.
        points = [point for point in measured if not is_query_point(point)]
        queries = [point for point in measured if is_query_point(point)]
    if plan.figures is not None:
        written = write_figures(plan.rows, plan.baseline_rows, points, plan.figures)
        log("figures: " + ", ".join(str(path) for path in written))
    sections = [header, "", matrix_table(combined_rows(plan, points) + plan.extra_rows)]
    if plan.detailed and plan.baseline_rows:
        sections += ["", "## booking-status against the bare Starlette + asyncpg baseline", ""]
        sections.append(baseline_table(plan.rows, plan.baseline_rows))
    if plan.detailed and points:
        sections += [
            "",
            f"## Growth (PostgreSQL, {plan.growth_clients} clients, {plan.growth_workers} workers)",
            "",
            growth_table(points),
        ]
    if queries:
        sizes = sorted(set(plan.growth_sizes))
        sections += ["", "## Growth of the sweep's and the admin views' queries", ""]
        sections += [query_table(queries, sizes), "", database_table(sizes)]
    sections += ["", f"total time {time.perf_counter() - started:.0f}s"]
    return "\n".join(sections)


def combined_rows(plan: Plan, points: list[GrowthPoint]) -> list[Row]:
    """Everything in one table: the matrix, the baseline beside our status, the growth steps."""
    baseline = {(row.workers, row.clients): row for row in plan.baseline_rows}
    rows: list[Row] = []
    for row in plan.rows:
        rows.append(row)
        if row.backend == "postgres" and row.scenario == "status":
            other = baseline.get((row.workers, row.clients))
            if other is not None and other.throughput:
                ratio = row.throughput / other.throughput
                row.note = (row.note + "; " if row.note else "") + f"{ratio:.2f} of baseline"
                rows.append(other)
    first: dict[str, GrowthPoint] = {}
    for point in points:
        base = first.setdefault(point.scenario, point)
        rows.append(
            Row(
                backend="postgres",
                workers=plan.growth_workers,
                scenario=f"{point.scenario} @ {point.rows:,} rows",
                clients=plan.growth_clients,
                requests=point.requests,
                errors=point.errors,
                throughput=point.throughput,
                p50_ms=point.p50_ms,
                p99_ms=point.p99_ms,
                cpu_ms=float("nan"),
                note=f"p50 x{point.p50_ms / base.p50_ms:.2f}, p99 x{point.p99_ms / base.p99_ms:.2f}"
                f" of {base.rows:,} rows",
            )
        )
    return rows


def parse_plan(argv: list[str] | None) -> Plan:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--short", action="store_true", help="the quick version (make bench)")
    size.add_argument("--full", action="store_true", help="the whole matrix and 1M rows")
    parser.add_argument("--backends", help="comma-separated: postgres,sqlite (or none)")
    parser.add_argument("--workers", help="comma-separated worker counts")
    parser.add_argument("--clients", help="comma-separated concurrent client counts")
    parser.add_argument("--scenarios", help="comma-separated: status,create,webhook,schedule")
    parser.add_argument("--seconds", type=float, help="time limit of each run")
    parser.add_argument("--growth", help="comma-separated table sizes, or 'none'")
    parser.add_argument("--growth-workers", type=int, default=2)
    parser.add_argument("--growth-clients", type=int, default=16)
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--pool-size", type=int, help="DATABASE_POOL_SIZE for the server")
    parser.add_argument(
        "--figures", default=str(FIGURES), help="where the SVG charts go, or 'none'"
    )
    parser.add_argument(
        "--scaling-clients",
        help="clients of the scaling runs (1 vs 2 servers, 1 vs 2 workers), or 'none'",
    )
    parser.add_argument(
        "--scaling-limits",
        choices=["off", "on", "both"],
        help="rate limits in the scaling runs (default: off; both with --full)",
    )
    parser.add_argument(
        "--sqlite-writers",
        help="worker counts for SQLite create at 16 clients, comma-separated, or 'none'",
    )
    args = parser.parse_args(argv)
    preset = FULL if args.full else SHORT

    def numbers(text: str | None, default: tuple[int, ...]) -> list[int]:
        if text is None:
            return list(default)
        if text == "none":
            return []
        return [int(part) for part in text.split(",") if part]

    backends = args.backends.split(",") if args.backends else list(preset.backends)
    if set(backends) - {"postgres", "sqlite", "none"}:
        parser.error("--backends takes postgres, sqlite, or none (growth and baseline only)")
    backends = [backend for backend in backends if backend != "none"]
    scenarios = args.scenarios.split(",") if args.scenarios else list(all_scenarios())
    unknown = set(scenarios) - set(all_scenarios())
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    scaling_clients = numbers(args.scaling_clients, (preset.scaling_clients,))
    limits = {"off": (False,), "on": (True,), "both": (False, True)}
    return Plan(
        backends=backends,
        workers=numbers(args.workers, preset.workers),
        clients=numbers(args.clients, preset.clients),
        scenarios=scenarios,
        max_seconds=args.seconds or preset.max_seconds,
        max_requests=dict(preset.max_requests),
        warmup_requests=preset.warmup_requests,
        growth_sizes=numbers(args.growth, preset.growth_sizes),
        growth_workers=args.growth_workers,
        growth_clients=args.growth_clients,
        growth_requests=preset.growth_requests,
        growth_seconds=preset.growth_seconds,
        baseline=not args.no_baseline,
        pool_size=args.pool_size,
        detailed=args.full,
        status_pool=preset.status_pool,
        figures=None if args.figures == "none" else Path(args.figures),
        scaling_clients=scaling_clients[0] if scaling_clients else None,
        scaling_limits=(
            limits[args.scaling_limits] if args.scaling_limits else preset.scaling_limits
        ),
        sqlite_writer_workers=numbers(args.sqlite_writers, preset.sqlite_writer_workers),
        sqlite_workers=None if args.workers else list(preset.sqlite_workers),
    )


def main(argv: list[str] | None = None) -> None:
    plan = parse_plan(argv)
    try:
        import uvloop
    except ImportError:  # uvloop comes with uvicorn[standard]; without it asyncio will do
        print(asyncio.run(run_plan(plan)))
    else:
        # The load generator shares the CPU with the server: the cheaper loop, the better.
        print(uvloop.run(run_plan(plan)))


if __name__ == "__main__":
    main()
