"""Run an ASGI app on a real loopback port, so clients are tested over real HTTP."""

from __future__ import annotations

import os
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from sessionbook.core.settings import SANDBOX_EVENT_TYPE_IDS


def free_port() -> int:
    """Ask the kernel for a port nobody is listening on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def live_mode_env(
    *,
    database_url: str,
    port: int,
    airwallex: str,
    cal: str,
    keys: tuple[str, str, str, str],
    sweep_seconds: int,
) -> dict[str, str]:
    """Settings of a `sessionbook serve` in live mode pointed at stand-ins served apart from it.

    `keys` are the Airwallex client id, API key and webhook secret and the Cal.com key; nothing
    else of this process's environment is passed on. The event types are the ones a fresh
    database's packages were seeded with.
    """
    client_id, api_key, webhook_secret, cal_key = keys
    env = {
        key: value
        for key, value in os.environ.items()
        if key in ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "SYSTEMROOT")
    }
    env.update(
        DATABASE_URL=database_url,
        SITE_URL=f"http://127.0.0.1:{port}",
        AIRWALLEX_BASE_URL=airwallex,
        AIRWALLEX_CLIENT_ID=client_id,
        AIRWALLEX_API_KEY=api_key,
        AIRWALLEX_WEBHOOK_SECRET=webhook_secret,
        CAL_API_URL=f"{cal}/v2",
        CAL_API_KEY=cal_key,
        RATE_LIMITS="off",
        SWEEP_INTERVAL_SECONDS=str(sweep_seconds),
        LOG_LEVEL="warning",
    )
    for package, event_type in SANDBOX_EVENT_TYPE_IDS.items():
        env[f"CAL_{package.upper()}_EVENT_TYPE_ID"] = str(event_type)
    return env


def wait_until_ready(
    process: subprocess.Popen[bytes], url: str, log: Path, *, timeout: float = 30.0
) -> None:
    """Until a `sessionbook serve` subprocess answers /readyz; its log when it dies or stalls."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited with {process.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"server at {url} not ready in time:\n{log.read_text()}")


class _QuietServer(uvicorn.Server):
    def install_signal_handlers(self) -> None:  # the test runner owns signals
        return None


@contextmanager
def live_server(app: Any, port: int | None = None) -> Iterator[str]:
    """Serve `app` in a background thread; yield its base URL; stop it afterwards."""
    chosen_port = port or free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=chosen_port, log_level="warning", lifespan="on"
    )
    server = _QuietServer(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("live server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{chosen_port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
