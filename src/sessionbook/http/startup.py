"""Make a configuration error found at start-up (in the lifespan) end with its message alone.

Starlette reports a failing lifespan to the server with the whole traceback as the message,
and uvicorn logs that. For a ConfigurationError the operator needs one line naming the
variable, so this ASGI middleware replaces the traceback by the error's own message; uvicorn
then logs that line, says "Application startup failed" and exits non-zero.
"""

from __future__ import annotations

import sys
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sessionbook.core.settings import ConfigurationError


class StartupFailureMiddleware:
    """Pure ASGI: touches only the lifespan's "startup failed" message."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return

        async def send_clean(message: Message) -> None:
            if message["type"] == "lifespan.startup.failed":
                # Starlette sends this from inside its `except` block, so the error is current.
                error = _configuration_error(sys.exc_info()[1])
                if error is not None:
                    message = {**message, "message": str(error)}
            await send(message)

        await self.app(scope, receive, send_clean)


def _configuration_error(error: BaseException | None) -> ConfigurationError | None:
    seen: set[int] = set()
    current: Any = error
    while current is not None and id(current) not in seen:
        if isinstance(current, ConfigurationError):
            return current
        seen.add(id(current))
        if isinstance(current, BaseExceptionGroup):
            # A task group in the lifespan wraps what its tasks raised.
            for inner in current.exceptions:
                found = _configuration_error(inner)
                if found is not None:
                    return found
        current = current.__cause__ or current.__context__
    return None
