"""Two real `sessionbook serve` processes on one PostgreSQL, sharing one Airwallex and one Cal.com.

The stand-ins run in this test process on their own loopback ports; every Airwallex webhook goes
through a fan-out that delivers it to both servers at the same moment, as a load balancer's
retry or Airwallex's own redelivery can.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import time as clock_time
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sessionbook.core.settings import SANDBOX_EVENT_TYPE_IDS
from sessionbook_sandbox.airwallex import create_airwallex_sandbox
from sessionbook_sandbox.cal import EventTypeSpec, create_cal_sandbox
from tests.support.live_server import free_port, live_mode_env, live_server, wait_until_ready

CLIENT_ID = "cluster-client"
API_KEY = "cluster-api-key"
WEBHOOK_SECRET = "cluster-webhook-secret"
CAL_KEY = "cal_cluster_key"
# The ids the shared test database's packages were seeded with: CAL_*_EVENT_TYPE_ID only seed
# a fresh database, so the "real" Cal.com here must know the event types its packages name.
EVENT_TYPES = dict(SANDBOX_EVENT_TYPE_IDS)
LENGTHS = {"discovery": 30, "single": 60, "monthly": 60, "quarterly": 60}
START_TIMEOUT_SECONDS = 30.0


@dataclass
class FanOut:
    """Receives each Airwallex delivery and posts it to every server at once."""

    targets: list[str] = field(default_factory=list)
    answers: list[tuple[str, str, int]] = field(default_factory=list)  # (event, server, status)

    def delivered(self, event_name: str) -> int:
        """How many deliveries of this event every server has answered."""
        per_server = Counter(t for name, t, _ in self.answers if name == event_name)
        return min((per_server[target] for target in self.targets), default=0)

    def app(self) -> Starlette:
        async def deliver(request: Request) -> Response:
            body = await request.body()
            name = str(json.loads(body).get("name"))
            headers = {
                key: value
                for key, value in request.headers.items()
                if key in ("x-timestamp", "x-signature", "content-type")
            }
            async with httpx.AsyncClient(timeout=30) as client:
                answers = await asyncio.gather(
                    *(
                        client.post(
                            f"{target}/functions/v1/payment-webhook", content=body, headers=headers
                        )
                        for target in self.targets
                    ),
                    return_exceptions=True,
                )
            codes = [a.status_code if isinstance(a, httpx.Response) else 599 for a in answers]
            self.answers.extend(
                (name, target, code) for target, code in zip(self.targets, codes, strict=True)
            )
            return Response(status_code=200 if set(codes) == {200} else 502)

        return Starlette(routes=[Route("/hook", deliver, methods=["POST"])])


@dataclass
class Cluster:
    servers: list[str]
    airwallex: str
    cal: str
    fanout: FanOut
    logs: list[Path]

    def server(self, index: int) -> str:
        return self.servers[index % len(self.servers)]

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(
            f"--- {path.name}\n" + "\n".join(path.read_text().splitlines()[-lines:])
            for path in self.logs
        )


@contextmanager
def _serve(database_url: str, airwallex: str, cal: str, logs: list[Path]) -> Iterator[list[str]]:
    """Start one server per log file, all at once; wait until each is ready; stop them all."""
    executable = Path(sys.executable).with_name("sessionbook")
    started: list[tuple[subprocess.Popen[bytes], str, Path]] = []
    try:
        for log in logs:
            port = free_port()
            with log.open("wb") as output:
                process = subprocess.Popen(
                    [str(executable), "serve", "--port", str(port)],
                    env=live_mode_env(
                        database_url=database_url,
                        port=port,
                        airwallex=airwallex,
                        cal=cal,
                        keys=(CLIENT_ID, API_KEY, WEBHOOK_SECRET, CAL_KEY),
                        # both sweep all the time: that must be harmless too
                        sweep_seconds=1,
                    ),
                    stdout=output,
                    stderr=subprocess.STDOUT,
                )
            started.append((process, f"http://127.0.0.1:{port}", log))
        for process, url, log in started:
            wait_until_ready(process, url, log, timeout=START_TIMEOUT_SECONDS)
        yield [url for _, url, _ in started]
    finally:
        for process, _, _ in started:
            process.terminate()  # SIGTERM: uvicorn's graceful shutdown stops the sweeper too
        for process, _, _ in started:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextmanager
def cluster(database_url: str, directory: Path) -> Iterator[Cluster]:
    """Start the stand-ins, the fan-out and two servers; stop everything afterwards."""
    with ExitStack() as stack:
        fanout = FanOut()
        hook_url = stack.enter_context(live_server(fanout.app())) + "/hook"
        airwallex_port = free_port()
        airwallex = f"http://127.0.0.1:{airwallex_port}"
        airwallex_app = create_airwallex_sandbox(
            client_id=CLIENT_ID,
            api_key=API_KEY,
            webhook_url=hook_url,
            webhook_secret=WEBHOOK_SECRET,
            public_base_url=airwallex,
            return_url="http://127.0.0.1/book",
            webhook_retry_delays=(0.0, 0.5, 1.0, 2.0),
        )
        stack.enter_context(live_server(airwallex_app, port=airwallex_port))
        cal_port = free_port()
        cal = f"http://127.0.0.1:{cal_port}"
        cal_app = create_cal_sandbox(
            api_key=CAL_KEY,
            event_types={
                EVENT_TYPES[package]: EventTypeSpec(
                    length_minutes=LENGTHS[package], title=package, slug=package
                )
                for package in EVENT_TYPES
            },
            host_time_zone="UTC",
            weekly_hours={day: ((clock_time(6), clock_time(22)),) for day in range(7)},
            min_notice_minutes=60,
            public_base_url=cal,
        )
        stack.enter_context(live_server(cal_app, port=cal_port))
        logs = [directory / "server-a.log", directory / "server-b.log"]
        servers = stack.enter_context(_serve(database_url, airwallex, cal, logs))
        fanout.targets = servers
        yield Cluster(servers=servers, airwallex=airwallex, cal=cal, fanout=fanout, logs=logs)


def spread(items: list[Any], cluster: Cluster) -> list[tuple[str, Any]]:
    """Pair each item with a server, alternating, so the load is split between them."""
    return [(cluster.server(index), item) for index, item in enumerate(items)]
