"""Pure ASGI middleware: request id and redacted access log, security headers, body size limit
and latency metrics, in one layer."""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Mapping

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sessionbook.core.logs import redact_query_string
from sessionbook.core.metrics import observe_request

MAX_BODY_BYTES = 64 * 1024
API_PREFIX = "/functions/v1/"

access_log = structlog.get_logger("sessionbook.access")
_access_logger = logging.getLogger("sessionbook.access")

PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self' {form_targets}; frame-ancestors 'none'; "
    "base-uri 'none'; object-src 'none'"
)
API_CSP = "default-src 'none'; frame-ancestors 'none'"
API_CSP_RAW = API_CSP.encode("latin-1")
_ALWAYS = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
)
_NO_STORE_PREFIXES = (API_PREFIX, "/book", "/admin")


async def _drain(receive: Receive, more_body: bool, *, limit: int) -> None:
    """Read and drop the rest of a refused upload (up to a bound), so the client hears the 413."""
    while more_body and limit > 0:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        limit -= len(message.get("body", b""))
        more_body = message.get("more_body", False)


def _size(limit: int) -> str:
    megabyte = 1024 * 1024
    return f"{limit // megabyte} MB" if limit % megabyte == 0 else f"{limit // 1024} KB"


async def _send_too_large(send: Send, max_bytes: int) -> None:
    body = json.dumps(
        {
            "error": {
                "code": "payload_too_large",
                "message": f"The request body is larger than {_size(max_bytes)}.",
            }
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"cache-control", b"no-store"),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class EdgeMiddleware:
    """Every HTTP request's own bookkeeping, in one pure ASGI layer (one `send` wrapper):

    - a request id (the caller's `X-Request-ID` when sane, else a new one) in the log context,
      in `scope["state"]` and on the answer, and one access-log line with the token query
      redacted;
    - the headers every answer carries: booking data is never cached, pages never leak a
      Referer, a Content-Security-Policy for pages and one for the API;
    - bodies over 64 KB refused with 413, by header or by counting what arrives;
      `upload_limits` names the few paths (exact) that take a file, each with its own limit;
    - the request's latency observed under its route template and status (a body refused
      with 413 never reached a route and is not observed).

    These were four nested middlewares (request log, security headers, body limit, metrics,
    outermost first); each answer passes through the steps in the order they applied.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        form_targets: str = "",
        max_bytes: int = MAX_BODY_BYTES,
        upload_limits: Mapping[str, int] | None = None,
    ) -> None:
        self.app = app
        self.page_csp = PAGE_CSP.format(form_targets=form_targets).replace("  ", " ")
        self.page_csp_raw = self.page_csp.encode("latin-1")
        self.max_bytes = max_bytes
        self.upload_limits = dict(upload_limits or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _incoming_request_id(scope) or uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        raw_id = request_id.encode("latin-1")
        path: str = scope["path"]
        page_csp = self.page_csp_raw
        outer_root_path = str(scope.get("root_path", ""))
        started = time.perf_counter()
        status = 500
        # When the app was called (None: the body limit answered without it).
        app_started: list[float] = []

        async def answer(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                # The raw list (ASGI header names are lowercase bytes): one pass to see what is
                # there, then appends, instead of a search through the list per header.
                headers: list[tuple[bytes, bytes]] = message.setdefault("headers", [])
                present: dict[bytes, bytes] = {}
                for name, value in headers:
                    present.setdefault(name, value)
                for name, value in _ALWAYS:
                    if name not in present:
                        headers.append((name, value))
                if b"content-security-policy" not in present:
                    html = present.get(b"content-type", b"").startswith(b"text/html")
                    headers.append((b"content-security-policy", page_csp if html else API_CSP_RAW))
                # Only a route that declared its answer public (the package list) may be kept.
                public = present.get(b"cache-control", b"").startswith(b"public")
                if path.startswith(_NO_STORE_PREFIXES) and not public:
                    headers[:] = [(n, v) for n, v in headers if n != b"cache-control"]
                    headers.append((b"cache-control", b"no-store"))
                if b"x-request-id" in present:
                    headers[:] = [(n, v) for n, v in headers if n != b"x-request-id"]
                headers.append((b"x-request-id", raw_id))
            await send(message)

        # Bound for the request and put back as it was after (tokens, not a context manager:
        # `bound_contextvars` reads the whole context first, on every request).
        bound = structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            try:
                await self._limited(scope, receive, answer, app_started)
            finally:
                if app_started:
                    elapsed = time.perf_counter() - app_started[0]
                    observe_request(scope, outer_root_path, status, elapsed)
                # At LOG_LEVEL=warning (production's usual level) the line would be dropped
                # anyway: skip redacting and formatting it (the standard logger caches this).
                if _access_logger.isEnabledFor(logging.INFO):
                    query = redact_query_string(scope.get("query_string", b"").decode("latin-1"))
                    access_log.info(
                        "http_request",
                        method=scope["method"],
                        path=path,
                        query=query or None,
                        status=status,
                        duration_ms=round((time.perf_counter() - started) * 1000, 2),
                    )
        finally:
            structlog.contextvars.reset_contextvars(**bound)

    async def _limited(
        self, scope: Scope, receive: Receive, send: Send, app_started: list[float]
    ) -> None:
        """The body limit, then the app (noting in `app_started` when it was called)."""
        max_bytes = self.upload_limits.get(scope["path"], self.max_bytes)
        declared = -1  # no Content-Length
        chunked = False
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > max_bytes:
                    await _send_too_large(send, max_bytes)
                    return
            elif name == b"transfer-encoding":
                chunked = True
        if declared <= 0 and not chunked and scope["method"] in ("GET", "HEAD"):
            # HTTP/1.1 framing: no length and no chunking means no body at all, and a GET
            # route reads none: nothing to count, so no buffering pass on the hottest reads.
            app_started.append(time.perf_counter())
            await self.app(scope, receive, send)
            return
        # Read the whole body first (it is small by definition), so the limit holds even for
        # chunked uploads without a Content-Length, whatever the framework does with errors.
        chunks: list[bytes] = []
        received = 0
        more_body = True
        while more_body:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            received += len(chunk)
            more_body = message.get("more_body", False)
            if received > max_bytes:
                drain_limit = max(16 * self.max_bytes, 2 * max_bytes) - received
                await _drain(receive, more_body, limit=drain_limit)
                await _send_too_large(send, max_bytes)
                return
            chunks.append(chunk)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        app_started.append(time.perf_counter())
        await self.app(scope, replay, send)


def _incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            candidate: str = value.decode("latin-1")
            if 0 < len(candidate) <= 64 and candidate.replace("-", "").isalnum():
                return candidate
    return None
