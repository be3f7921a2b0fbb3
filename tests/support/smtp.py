"""A real SMTP server (aiosmtpd) on a loopback port, for the tests of our SMTP clients."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
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


@dataclass
class Inbox:
    """An aiosmtpd handler keeping every message it accepts, parsed."""

    received: list[EmailMessage] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.received.append(parsed)
        return "250 Message accepted"
