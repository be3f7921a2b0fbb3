"""Run an ASGI app on a real loopback port, so clients are tested over real HTTP."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn


def free_port() -> int:
    """Ask the kernel for a port nobody is listening on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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
