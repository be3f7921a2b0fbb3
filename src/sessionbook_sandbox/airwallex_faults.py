"""Fault injection and a request log for the Airwallex stand-in (sandbox-only test hooks).

A fault makes the next `count` calls whose path starts with `path_prefix` (and, optionally,
whose method matches) wait `delay_seconds` and then answer `status` in Airwallex's error shape.
With `when="after"` the call is processed first and only its answer is replaced: a lost response,
the case where a retry must not create a second object. `status=None` only delays.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from dataclasses import dataclass
from typing import Any, Literal

from starlette.types import ASGIApp, Message, Receive, Scope, Send

_FAULT_CODES = {429: "too_many_requests", 500: "internal_error", 503: "service_unavailable"}


@dataclass
class Fault:
    path_prefix: str
    status: int | None
    count: int
    delay_seconds: float = 0.0
    method: str | None = None
    when: Literal["before", "after"] = "before"

    def matches(self, method: str, path: str) -> bool:
        return (
            self.count > 0
            and path.startswith(self.path_prefix)
            and (self.method is None or self.method == method)
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "path_prefix": self.path_prefix,
            "status": self.status,
            "count": self.count,
            "delay_seconds": self.delay_seconds,
            "method": self.method,
            "when": self.when,
        }


class FaultInjector:
    """Pending faults, and a log of the API calls seen (never their headers' values)."""

    def __init__(self) -> None:
        self.faults: list[Fault] = []
        self.requests: deque[dict[str, Any]] = deque(maxlen=2000)

    def add(self, fault: Fault) -> None:
        self.faults.append(fault)

    def take(self, method: str, path: str) -> Fault | None:
        for fault in self.faults:
            if fault.matches(method, path):
                fault.count -= 1
                if fault.count == 0:
                    self.faults.remove(fault)
                return fault
        return None

    def clear(self) -> None:
        self.faults.clear()
        self.requests.clear()


def route_path(scope: Scope) -> str:
    """The path inside this app, whether or not it is mounted under a prefix."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


class FaultMiddleware:
    """Pure ASGI, so it can swallow a processed answer and send another in its place."""

    def __init__(self, app: ASGIApp, injector: FaultInjector) -> None:
        self.app = app
        self.injector = injector

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = route_path(scope) if scope["type"] == "http" else ""
        if not path.startswith("/api/"):
            await self.app(scope, receive, send)
            return
        method: str = scope["method"]
        headers = {key.decode("latin-1"): value for key, value in scope["headers"]}
        self.injector.requests.append(
            {
                "method": method,
                "path": path,
                "api_version": headers.get("x-api-version", b"").decode("latin-1") or None,
                "authenticated": "authorization" in headers,
            }
        )
        fault = self.injector.take(method, path)
        if fault is None:
            await self.app(scope, receive, send)
            return
        if fault.delay_seconds > 0:
            await asyncio.sleep(fault.delay_seconds)
        if fault.status is None:
            await self.app(scope, receive, send)
            return
        if fault.when == "after":
            await self.app(scope, receive, _discard)
        await _send_error(send, fault.status)


async def _discard(message: Message) -> None:
    return None


async def _send_error(send: Send, status: int) -> None:
    code = _FAULT_CODES.get(status, "internal_error" if status >= 500 else "sandbox_fault")
    body = json.dumps({"code": code, "message": f"Injected sandbox fault ({status})"}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
