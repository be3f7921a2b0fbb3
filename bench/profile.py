"""`python -m bench.profile SCENARIO OUTPUT.svg`: one scenario under load, sampled by py-spy.

The same system as bench/run.py measures (a fresh PostgreSQL database, the server logged in
as the NOINHERIT role, both provider stand-ins, `sessionbook serve --workers 1`); py-spy
attaches to the server process for the measured run only (not the preparation or the
warm-up) and writes a flame graph. The CPU milliseconds per request of the same run are
printed too, so a profile and its figure always come from one run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

from bench.client import Answer, Connection
from bench.databases import create_postgres, drop_postgres
from bench.load import run_load
from bench.procs import VENV_BIN
from bench.scenarios import all_scenarios
from bench.stack import running_stack


async def profile(
    name: str, output: Path, *, clients: int, requests: int, seconds: float, rate: int
) -> str:
    database = await create_postgres()
    try:
        with running_stack(database.app_url, workers=1) as stack:
            scenario = all_scenarios()[name]()
            warmup = 50
            available = await scenario.prepare(stack.target, requests + warmup)
            await run_load(
                scenario.request,
                port=stack.target.server_port,
                concurrency=clients,
                max_requests=min(warmup, available // 2),
                max_seconds=seconds,
                expected_status=scenario.expected_status,
            )

            async def fresh(number: int, connection: Connection) -> Answer:
                return await scenario.request(number + warmup, connection)

            recorder = subprocess.Popen(
                [
                    str(VENV_BIN / "py-spy"),
                    "record",
                    "--pid",
                    str(stack.server.process.pid),
                    "--subprocesses",
                    "--rate",
                    str(rate),
                    "--format",
                    "flamegraph",
                    "--output",
                    str(output),
                    "--nonblocking",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            await asyncio.sleep(1.0)  # py-spy attaches before the load starts
            load1 = os.getloadavg()[0]
            cpu_before = stack.server.cpu_seconds()
            result = await run_load(
                fresh,
                port=stack.target.server_port,
                concurrency=clients,
                max_requests=available - warmup,
                max_seconds=seconds,
                expected_status=scenario.expected_status,
            )
            cpu = stack.server.cpu_seconds() - cpu_before
            recorder.send_signal(2)  # SIGINT: py-spy writes the flame graph and exits
            _, errors = recorder.communicate(timeout=60)
            answered = result.ok + result.errors
            return (
                f"{name} c={clients}: {answered} requests, {result.errors} errors, "
                f"{result.throughput:.0f} req/s, CPU {cpu * 1000 / max(answered, 1):.2f} ms/req "
                f"(py-spy attached, so above an unprofiled run), load average {load1:.2f}; "
                f"py-spy: {errors.decode(errors='replace').strip().splitlines()[-1:]}"
            )
    finally:
        await drop_postgres(database.owner_url)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__)
    parser.add_argument("scenario", choices=sorted(all_scenarios()))
    parser.add_argument("output", type=Path, help="the flame graph (SVG) to write")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rate", type=int, default=250, help="py-spy samples per second")
    args = parser.parse_args(argv)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    summary = asyncio.run(
        profile(
            args.scenario,
            args.output,
            clients=args.clients,
            requests=args.requests,
            seconds=args.seconds,
            rate=args.rate,
        )
    )
    print(f"{summary}; {time.perf_counter() - started:.0f}s in all", file=sys.stderr)


if __name__ == "__main__":
    main()
