"""The chaos run's stage: stand-ins that outlive the server, and a server that can be SIGKILLed.

The Airwallex and Cal.com stand-ins run in this test process on their own loopback ports; the
server is a real `sessionbook serve` subprocess in live mode pointed at them, restarted on the
same port after each kill so that redelivered webhooks find it again.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import time as clock_time
from pathlib import Path
from typing import Any

import httpx

from sessionbook.core.settings import SANDBOX_EVENT_TYPE_IDS
from sessionbook_sandbox.airwallex import create_airwallex_sandbox
from sessionbook_sandbox.airwallex_core import AirwallexSandbox
from sessionbook_sandbox.cal import EventTypeSpec, create_cal_sandbox
from tests.support.live_server import free_port, live_mode_env, live_server

CLIENT_ID = "chaos-client"
API_KEY = "chaos-api-key"
WEBHOOK_SECRET = "chaos-webhook-secret"
CAL_KEY = "cal_chaos_key"
EVENT_TYPES = dict(SANDBOX_EVENT_TYPE_IDS)
LENGTHS = {"discovery": 30, "single": 60, "monthly": 60, "quarterly": 60}
# Each entry is one delivery attempt after that many seconds: about 16 s in all, longer than a
# restart, so most webhooks sent while the server is down still arrive; the sweep finds the rest.
WEBHOOK_RETRY_DELAYS = (0.0, 0.5, 1.0, 2.0, 4.0, 8.0)
READY_TIMEOUT_SECONDS = 45.0
# The coach's hours (UTC) in which the stand-in offers slots.
OPEN_FROM, OPEN_UNTIL = 6, 22


@dataclass
class ServerProcess:
    """One `sessionbook serve` on a fixed port; killed and started again by the test."""

    port: int
    env: dict[str, str]
    log: Path
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        executable = Path(sys.executable).with_name("sessionbook")
        with self.log.open("ab") as output:
            self.process = subprocess.Popen(
                [str(executable), "serve", "--host", "127.0.0.1", "--port", str(self.port)],
                env=self.env,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        self.starts += 1

    def kill(self) -> None:
        """SIGKILL: no shutdown hook runs, whatever was in flight is cut off."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    async def wait_ready(self) -> None:
        """Until /readyz answers 200; a server that died while starting is started again."""
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        async with httpx.AsyncClient(timeout=2) as client:
            while time.monotonic() < deadline:
                if self.process is None or self.process.poll() is not None:
                    self.start()
                try:
                    if (await client.get(f"{self.url}/readyz")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
        raise AssertionError(f"server not ready in time:\n{self.log_tail()}")

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


@dataclass
class Stage:
    airwallex: str
    cal: str
    airwallex_sandbox: AirwallexSandbox
    server: ServerProcess
    sweep_env: dict[str, str] = field(default_factory=dict)


@contextmanager
def stage(database_url: str, directory: Path, *, sweep_seconds: int) -> Iterator[Stage]:
    """Start both stand-ins and one server (not yet waited for); stop everything afterwards."""
    with ExitStack() as stack:
        port = free_port()
        airwallex_port = free_port()
        airwallex = f"http://127.0.0.1:{airwallex_port}"
        airwallex_app = create_airwallex_sandbox(
            client_id=CLIENT_ID,
            api_key=API_KEY,
            webhook_url=f"http://127.0.0.1:{port}/functions/v1/payment-webhook",
            webhook_secret=WEBHOOK_SECRET,
            public_base_url=airwallex,
            return_url="http://127.0.0.1/book",
            webhook_retry_delays=WEBHOOK_RETRY_DELAYS,
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
            weekly_hours={
                day: ((clock_time(OPEN_FROM), clock_time(OPEN_UNTIL)),) for day in range(7)
            },
            min_notice_minutes=60,
            public_base_url=cal,
        )
        stack.enter_context(live_server(cal_app, port=cal_port))
        env = live_mode_env(
            database_url=database_url,
            port=port,
            airwallex=airwallex,
            cal=cal,
            keys=(CLIENT_ID, API_KEY, WEBHOOK_SECRET, CAL_KEY),
            sweep_seconds=sweep_seconds,
        )
        server = ServerProcess(port=port, env=env, log=directory / "server.log")
        stack.callback(server.stop)
        server.start()
        sandbox: AirwallexSandbox = airwallex_app.state.airwallex
        yield Stage(
            airwallex=airwallex,
            cal=cal,
            airwallex_sandbox=sandbox,
            server=server,
            sweep_env=dict(env),
        )


async def run_sweep(env: dict[str, str]) -> dict[str, Any]:
    """One `sessionbook sweep --json` pass in its own process, as an operator's cron runs it."""
    executable = Path(sys.executable).with_name("sessionbook")
    process = await asyncio.create_subprocess_exec(
        str(executable),
        "sweep",
        "--json",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    lines = [line for line in out.decode().splitlines() if line.startswith("{")]
    assert lines, f"sweep printed no report (exit {process.returncode}): {err.decode()[-2000:]}"
    report: dict[str, Any] = json.loads(lines[-1])
    return report
