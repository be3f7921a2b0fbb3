"""The system under test: both provider stand-ins and `sessionbook serve`, as live as it gets.

The server gets real-looking credentials and base URLs pointing at the stand-ins, so it runs in
live mode (no sandbox routes mounted) and its provider clients make real HTTP calls.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

from bench import standins
from bench.procs import (
    VENV_BIN,
    Child,
    clean_environment,
    free_port,
    running,
    start,
    uvicorn_command,
)
from bench.scenarios import Target
from sessionbook.core.settings import PackageId

PACKAGE_VARIABLES: dict[PackageId, str] = {
    "discovery": "CAL_DISCOVERY_EVENT_TYPE_ID",
    "single": "CAL_SINGLE_EVENT_TYPE_ID",
    "monthly": "CAL_MONTHLY_EVENT_TYPE_ID",
    "quarterly": "CAL_QUARTERLY_EVENT_TYPE_ID",
}


@dataclass
class Stack:
    target: Target
    server: Child


def server_environment(
    database_url: str, port: int, airwallex_url: str, cal_url: str, *, pool_size: int | None
) -> dict[str, str]:
    environment = {
        "DATABASE_URL": database_url,
        "SITE_URL": f"http://127.0.0.1:{port}",
        "RATE_LIMITS": "off",
        "LOG_LEVEL": "warning",
        "AIRWALLEX_CLIENT_ID": standins.AIRWALLEX_CLIENT_ID,
        "AIRWALLEX_API_KEY": standins.AIRWALLEX_API_KEY,
        "AIRWALLEX_WEBHOOK_SECRET": standins.WEBHOOK_SECRET,
        "AIRWALLEX_BASE_URL": airwallex_url,
        "CAL_API_KEY": standins.CAL_API_KEY,
        "CAL_API_URL": cal_url + "/v2",
    }
    for package, variable in PACKAGE_VARIABLES.items():
        environment[variable] = str(standins.EVENT_TYPE_IDS[package])
    if pool_size is not None:
        environment["DATABASE_POOL_SIZE"] = str(pool_size)
    return environment


@dataclass(frozen=True)
class StandIns:
    airwallex_url: str
    cal_url: str


@contextlib.contextmanager
def running_standins() -> Iterator[StandIns]:
    """Both provider stand-ins as separate uvicorn processes, stopped when the block ends."""
    children: list[Child] = []
    with running(children):
        airwallex_port, cal_port = free_port(), free_port()
        airwallex_url = f"http://127.0.0.1:{airwallex_port}"
        cal_url = f"http://127.0.0.1:{cal_port}"
        children.append(
            start(
                "airwallex",
                uvicorn_command("bench.standins:airwallex", port=airwallex_port),
                port=airwallex_port,
                environment=clean_environment({"BENCH_PUBLIC_URL": airwallex_url}),
                ready_path="/_sandbox/stats",
            )
        )
        children.append(
            start(
                "cal",
                uvicorn_command("bench.standins:cal", port=cal_port),
                port=cal_port,
                environment=clean_environment({"BENCH_PUBLIC_URL": cal_url}),
                ready_path="/_sandbox/bookings",
            )
        )
        yield StandIns(airwallex_url, cal_url)


@contextlib.contextmanager
def running_server(
    database_url: str,
    standins: StandIns,
    *,
    workers: int,
    pool_size: int | None = None,
    extra: dict[str, str] | None = None,
) -> Iterator[Stack]:
    """`sessionbook serve --workers N` pointed at running stand-ins; `extra` adds settings."""
    children: list[Child] = []
    with running(children):
        server_port = free_port()
        environment = server_environment(
            database_url,
            server_port,
            standins.airwallex_url,
            standins.cal_url,
            pool_size=pool_size,
        )
        environment.update(extra or {})
        command = [str(VENV_BIN / "sessionbook"), "serve", "--host", "127.0.0.1"]
        command += ["--port", str(server_port), "--workers", str(workers)]
        server = start(
            "server",
            command,
            port=server_port,
            environment=clean_environment(environment),
            ready_path="/functions/v1/booking-status",
        )
        children.append(server)
        yield Stack(Target(server.url, server_port, standins.airwallex_url), server)


@contextlib.contextmanager
def running_stack(
    database_url: str, *, workers: int, pool_size: int | None = None
) -> Iterator[Stack]:
    """Stand-ins first (the server checks Cal.com event types at start), then the server."""
    with (
        running_standins() as standins,
        running_server(database_url, standins, workers=workers, pool_size=pool_size) as stack,
    ):
        yield stack


@contextlib.contextmanager
def running_baseline(owner_dsn: str, *, workers: int, pool_size: int = 10) -> Iterator[Child]:
    port = free_port()
    children: list[Child] = []
    with running(children):
        child = start(
            "baseline",
            uvicorn_command("bench.baseline:create_app", port=port, workers=workers),
            port=port,
            environment=clean_environment(
                {"BENCH_BASELINE_DSN": owner_dsn, "BENCH_BASELINE_POOL": str(pool_size)}
            ),
            ready_path="/functions/v1/booking-status",
        )
        children.append(child)
        yield child
