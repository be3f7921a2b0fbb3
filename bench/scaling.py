"""Scaling out, and SQLite under concurrent writers: the runs behind the ratios in the table.

- Scaling (PostgreSQL): the same database and stand-ins served by one server with 1 worker,
  then by two such servers on different ports with the load split evenly between them, then
  by one server with 2 workers; status and create at the same total number of clients. The
  servers share Redis (REDIS_URL), as instances in production do. With `limits_on` the rate
  limits are on too; every request then comes "through a proxy" from its own address
  (TRUSTED_PROXIES=127.0.0.1 and X-Forwarded-For), so each one costs the limiter's Redis
  round trips without ever being refused.
- SQLite writers: booking-create at 16 clients on the embedded default (one worker), where
  every create's two write transactions meet on the one SQLite file.

Ratios are to the 1-server, 1-worker figures measured minutes before on the same database.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace

from bench.client import Answer, Connection
from bench.load import LoadResult, RequestMaker, run_load
from bench.report import Row
from bench.scenarios import CreateScenario, Scenario, StatusScenario
from bench.stack import Stack, StandIns, running_server

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/13"
SQLITE_WRITERS = 16


@dataclass(frozen=True)
class Bounds:
    """The limits of each run (the plan's, passed on so this module needs no plan)."""

    max_requests: dict[str, int]
    warmup_requests: int
    max_seconds: float


class ForwardedConnection(Connection):
    """A connection whose every request says it was forwarded for its own client address."""

    def __init__(self, inner: Connection, address: str) -> None:
        super().__init__(inner.host, inner.port, timeout=inner.timeout)
        self._inner = inner
        self._address = address

    async def request(
        self,
        method: str,
        path: str,
        *,
        headers: dict[str, str] | None = None,
        body: bytes = b"",
    ) -> Answer:
        forwarded = dict(headers or {})
        forwarded["X-Forwarded-For"] = self._address
        return await self._inner.request(method, path, headers=forwarded, body=body)


def address_of(number: int) -> str:
    """A distinct client address for each request number (10.0.0.0/8 has 16 million)."""
    return f"10.{(number >> 16) & 255}.{(number >> 8) & 255}.{number & 255}"


def merged(results: list[LoadResult]) -> LoadResult:
    """Runs made side by side, as one: their answers together over the longest wall time."""
    total = LoadResult(
        concurrency=sum(r.concurrency for r in results),
        seconds=max((r.seconds for r in results), default=0.0),
    )
    for result in results:
        total.latencies.extend(result.latencies)
        total.statuses.update(result.statuses)
        total.failures.update(result.failures)
        total.stopped_by_time = total.stopped_by_time or result.stopped_by_time
    return total


async def measure_split(
    scenario: Scenario,
    stacks: list[Stack],
    clients: int,
    bounds: Bounds,
    *,
    forwarded: bool = False,
) -> tuple[LoadResult, float]:
    """Warm-up, then one bounded run with `clients` split evenly over the servers.

    Returns the merged result and the CPU ms per answered request of all servers together.
    Request numbers never repeat across servers, so each request has its own prepared data.
    """
    wanted = bounds.max_requests[scenario.name]
    available = await scenario.prepare(stacks[0].target, wanted + bounds.warmup_requests)
    warmup = min(bounds.warmup_requests, available // 2)
    share = (available - warmup) // len(stacks)

    def maker(offset: int) -> RequestMaker:
        async def make(number: int, connection: Connection) -> Answer:
            numbered = number + offset
            if forwarded:
                connection = ForwardedConnection(connection, address_of(numbered))
            return await scenario.request(numbered, connection)

        return make

    await asyncio.gather(
        *(
            run_load(
                maker(index * warmup),
                port=stack.target.server_port,
                concurrency=max(1, clients // len(stacks)),
                max_requests=warmup // len(stacks),
                max_seconds=bounds.max_seconds,
                expected_status=scenario.expected_status,
            )
            for index, stack in enumerate(stacks)
        )
    )
    cpu_before = sum(stack.server.cpu_seconds() for stack in stacks)
    results = await asyncio.gather(
        *(
            run_load(
                maker(warmup + index * share),
                port=stack.target.server_port,
                concurrency=max(1, clients // len(stacks)),
                max_requests=share,
                max_seconds=bounds.max_seconds,
                expected_status=scenario.expected_status,
            )
            for index, stack in enumerate(stacks)
        )
    )
    result = merged(list(results))
    answered = result.ok + result.errors
    cpu = sum(stack.server.cpu_seconds() for stack in stacks) - cpu_before
    return result, (cpu * 1000 / answered if answered else float("nan"))


def row_of(
    backend: str, workers: int, scenario: str, clients: int, measured: tuple[LoadResult, float]
) -> Row:
    result, cpu_ms = measured
    note = ", ".join(f"{kind}x{count}" for kind, count in result.failures.most_common(3))
    return Row(
        backend=backend,
        workers=workers,
        scenario=scenario,
        clients=clients,
        requests=result.ok + result.errors,
        errors=result.errors,
        throughput=result.throughput,
        p50_ms=result.p50_ms,
        p99_ms=result.p99_ms,
        cpu_ms=cpu_ms,
        note=note,
    )


def _add_note(row: Row, text: str) -> None:
    row.note = f"{row.note}; {text}" if row.note else text


def redis_url() -> str:
    return os.environ.get("BENCH_REDIS_URL") or DEFAULT_REDIS_URL


def limit_settings(limits_on: bool, redis: str | None) -> dict[str, str]:
    settings = {"RATE_LIMITS": "on" if limits_on else "off"}
    if redis is not None:
        settings["REDIS_URL"] = redis
    if limits_on:
        settings["TRUSTED_PROXIES"] = "127.0.0.1"
    return settings


async def measure_scaling(
    database_url: str,
    standins: StandIns,
    *,
    clients: int,
    bounds: Bounds,
    status_tokens: list[str],
    pool_size: int | None,
    limits_on: bool,
    redis: str | None,
    log: Callable[[str], None],
    two_workers: dict[str, Row] | None = None,
) -> list[Row]:
    """Status and create at `clients`: 1 server x 1 worker, 2 servers x 1, 1 server x 2.

    The second server joins the first (one start, not two); `two_workers` are figures already
    measured on this database with one 2-worker server at `clients`, used instead of starting
    that server again (what `make bench` does, to stay within its time).
    """
    extra = limit_settings(limits_on, redis)
    label = "limits on" if limits_on else "limits off"
    rows: list[Row] = []
    first: dict[str, Row] = {}

    def record(row: Row) -> None:
        name = row.scenario.split(",", 1)[0]
        base = first.setdefault(name, row)
        if row is not base and base.throughput:
            _add_note(row, f"x{row.throughput / base.throughput:.2f} of 1 server x1")
        _add_note(row, label)
        rows.append(row)
        log(f"scaling {row.scenario} c={clients} ({label}): {row.summary()}")

    async def measure_on(stacks: list[Stack], shape: str, workers: int) -> None:
        for scenario in _scaling_scenarios(status_tokens):
            measured = await measure_split(scenario, stacks, clients, bounds, forwarded=limits_on)
            record(row_of("postgres", workers, f"{scenario.name}, {shape}", clients, measured))

    def server(workers: int) -> AbstractContextManager[Stack]:
        return running_server(
            database_url, standins, workers=workers, pool_size=pool_size, extra=extra
        )

    with server(1) as one:
        await measure_on([one], "1 server x1", 1)
        with server(1) as other:
            await measure_on([one, other], "2 servers x1", 1)
    if two_workers and not limits_on:
        for name, known in two_workers.items():
            copied = replace(known, scenario=f"{name}, 1 server x2", note="")
            record(copied)
            _add_note(copied, "the matrix run above")
        return rows
    with server(2) as both:
        await measure_on([both], "1 server x2", 2)
    return rows


def _scaling_scenarios(status_tokens: list[str]) -> list[Scenario]:
    status = StatusScenario()
    status.use_tokens(status_tokens)
    return [status, CreateScenario()]


async def measure_sqlite_writers(
    database_url: str,
    standins: StandIns,
    *,
    workers: int,
    bounds: Bounds,
    pool_size: int | None,
    log: Callable[[str], None],
    running: Stack | None = None,
) -> Row:
    """booking-create at 16 clients on SQLite with `workers` worker processes.

    On `running` (a server with that many workers already up on this database) if given,
    else on a server started for it.
    """
    if running is not None:
        measured = await measure_split(CreateScenario(), [running], SQLITE_WRITERS, bounds)
    else:
        with running_server(database_url, standins, workers=workers, pool_size=pool_size) as stack:
            measured = await measure_split(CreateScenario(), [stack], SQLITE_WRITERS, bounds)
    row = row_of("sqlite", workers, "create (writers)", SQLITE_WRITERS, measured)
    _add_note(row, "target p99 <= 200 ms" + (" (embedded default)" if workers == 1 else ""))
    log(f"sqlite writers x{workers} c={SQLITE_WRITERS}: {row.summary()}")
    return row
