"""Results as rows, printed as Markdown tables: readable in a terminal, pasted into RESULTS.md."""

from __future__ import annotations

import asyncio
import os
import platform
import sys
from dataclasses import dataclass

import asyncpg


@dataclass
class Row:
    """One measured cell of the matrix."""

    backend: str
    workers: int
    scenario: str
    clients: int
    requests: int
    errors: int
    throughput: float
    p50_ms: float
    p99_ms: float
    cpu_ms: float
    note: str = ""

    def summary(self) -> str:
        return (
            f"{self.throughput:,.0f} req/s p50 {self.p50_ms:.1f} p99 {self.p99_ms:.1f} ms "
            f"server CPU {self.cpu_ms:.2f} ms/req errors {self.errors}"
        )


def _number(value: float, digits: int = 1) -> str:
    if value != value:  # nan: nothing succeeded
        return "-"
    return f"{value:,.{digits}f}"


def markdown_table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)
    ]
    lines = ["| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |"]
    lines.append("| " + " | ".join("-" * w for w in widths) + " |")
    for row in rows:
        lines.append("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |")
    return "\n".join(lines)


def matrix_table(rows: list[Row]) -> str:
    headers = ["db", "workers", "scenario", "clients", "requests", "errors", "req/s"]
    headers += ["p50 ms", "p99 ms", "CPU ms/req", "note"]
    body = [
        [
            row.backend,
            str(row.workers),
            row.scenario,
            str(row.clients),
            str(row.requests),
            str(row.errors),
            _number(row.throughput, 0),
            _number(row.p50_ms),
            _number(row.p99_ms),
            _number(row.cpu_ms, 2),
            row.note,
        ]
        for row in rows
    ]
    return markdown_table(headers, body)


def baseline_table(ours: list[Row], baseline: list[Row]) -> str:
    """Our booking-status throughput against the bare app's, cell by cell."""
    theirs = {(row.workers, row.clients): row for row in baseline}
    body = []
    for row in ours:
        if row.backend != "postgres" or row.scenario != "status":
            continue
        other = theirs.get((row.workers, row.clients))
        if other is None:
            continue
        ratio = row.throughput / other.throughput if other.throughput else float("nan")
        body.append(
            [
                str(row.workers),
                str(row.clients),
                _number(row.throughput, 0),
                _number(other.throughput, 0),
                _number(ratio, 2),
                _number(row.p99_ms),
                _number(other.p99_ms),
                _number(row.cpu_ms, 2),
                _number(other.cpu_ms, 2),
            ]
        )
    headers = ["workers", "clients", "ours req/s", "baseline req/s", "ours/baseline"]
    headers += ["ours p99 ms", "baseline p99 ms", "ours CPU ms/req", "baseline CPU ms/req"]
    return markdown_table(headers, body)


def machine_description(postgres_version: str | None) -> str:
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    memory = "unknown"
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemTotal:"):
                    memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                    break
    except OSError:
        pass
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    parts = [
        f"nproc {os.cpu_count()}",
        f"CPU {cpu}",
        f"memory {memory}",
        f"Python {platform.python_version()} ({sys.implementation.name})",
        f"PostgreSQL {postgres_version or 'not used'}",
        f"load average at start {load}",
    ]
    return "machine: " + "; ".join(parts)


async def postgres_version(dsn: str) -> str | None:
    try:
        connection = await asyncio.wait_for(asyncpg.connect(dsn), timeout=5)
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return None
    try:
        version: str = await connection.fetchval("SHOW server_version")
        return version
    finally:
        await connection.close()
