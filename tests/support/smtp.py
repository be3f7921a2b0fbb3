"""A real SMTP server (aiosmtpd) on a loopback port, for the tests of our SMTP clients."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from aiosmtpd.controller import Controller

from tests.support.live_server import free_port


@contextmanager
def smtp_server_on_loopback(handler: object, authenticator: Callable[..., Any]) -> Iterator[int]:
    """Serve `handler` with AUTH allowed without STARTTLS; yield its port, stop it afterwards."""
    port = free_port()
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=port,
        authenticator=authenticator,
        auth_require_tls=False,
    )
    controller.start()
    try:
        yield port
    finally:
        controller.stop()
