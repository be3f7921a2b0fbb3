"""The Cal.com stand-in's HTTP edges: error shape, auth, API versions, rate limit and faults.

Cal.com's NestJS filters answer every error as
`{"status": "error", "timestamp", "path", "error": {"code": "<ExceptionName>", "message"}}`,
where `path` is Express's `request.url` (path and query). Its throttler allows 120 requests per
60 s per API key, then blocks the key for 60 s, and sets X-RateLimit-Limit-Default,
X-RateLimit-Remaining-Default and X-RateLimit-Reset-Default (seconds until the window or block
ends) on every answer; a blocked request gets 429 ThrottlerException "Too many requests. Please
try again later." and no Retry-After header.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import math
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from fastapi import FastAPI, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse

from sessionbook_sandbox.cal_availability import format_utc
from sessionbook_sandbox.cal_store import CalSandboxStore, Fault

NO_AUTH_MESSAGE = (
    "No authentication method provided. Either pass an API key as 'Bearer' header or OAuth "
    "client credentials as 'x-cal-secret-key' and 'x-cal-client-id' headers"
)
INVALID_KEY_MESSAGE = "Your api key is not valid"
THROTTLED_MESSAGE = "Too many requests. Please try again later."

_EXCEPTION_NAMES = {
    400: "BadRequestException",
    401: "UnauthorizedException",
    403: "ForbiddenException",
    404: "NotFoundException",
    405: "MethodNotAllowedException",
    409: "ConflictException",
    422: "UnprocessableEntityException",
    429: "ThrottlerException",
    500: "InternalServerErrorException",
    502: "BadGatewayException",
    503: "ServiceUnavailableException",
    504: "GatewayTimeoutException",
}
_DEFAULT_MESSAGES = {
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}
_BEARER = re.compile(r"^\s*Bearer\s+(.+?)\s*$", re.IGNORECASE)


class CalHttpError(Exception):
    """Raised by handlers; rendered in Cal.com's error shape."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code or _EXCEPTION_NAMES.get(status, "HttpException")
        self.headers = headers or {}


def relative_path(request: Request) -> str:
    """The path below the mount point, as Cal.com would see it ("/v2/...")."""
    path = request.url.path
    root = str(request.scope.get("root_path") or "")
    return path[len(root) :] if root and path.startswith(root) else path


def express_url(request: Request) -> str:
    query = request.url.query
    return relative_path(request) + (f"?{query}" if query else "")


def cal_error_response(request: Request, error: CalHttpError) -> JSONResponse:
    body = {
        "status": "error",
        "timestamp": format_utc(datetime.now(UTC)),
        "path": express_url(request),
        "error": {"code": error.code, "message": error.message},
    }
    return JSONResponse(body, status_code=error.status, headers=error.headers)


def authenticate(request: Request, api_key: str, *, required: bool) -> bool:
    """True when the request carries the sandbox's key.

    Like Cal.com's ApiAuthGuard: a wrong key is 401 even where auth is optional (the
    OptionalApiAuthGuard only forgives a missing one); a missing key is 401 where required.
    """
    header = request.headers.get("authorization", "")
    match = _BEARER.match(header)
    if match is None:
        if required:
            raise CalHttpError(401, NO_AUTH_MESSAGE)
        return False
    if not hmac.compare_digest(match.group(1).encode(), api_key.encode()):
        raise CalHttpError(401, INVALID_KEY_MESSAGE)
    return True


def require_version(request: Request, expected: str) -> None:
    """Serve only the API version our client speaks.

    Cal.com falls back to 2024-04-15 when the header is missing or unknown. GET /v2/slots has
    no 2024-04-15 route, so Cal.com answers 404 "Cannot GET ..." and so does this. For bookings
    and event types the old version exists with other bodies; the stand-in does not imitate
    it and answers 400 instead, naming the version it needs.
    """
    version = request.headers.get("cal-api-version")
    if version == expected:
        return
    if relative_path(request).startswith("/v2/slots"):
        raise CalHttpError(404, f"Cannot {request.method} {express_url(request)}")
    raise CalHttpError(
        400,
        f"The Cal.com sandbox serves this endpoint only with the header cal-api-version: "
        f"{expected} (got {version!r}); Cal.com would fall back to 2024-04-15.",
    )


@dataclass(slots=True)
class RateLimiter:
    """Cal.com's default throttle: `limit` hits per window per tracker, then a block."""

    limit: int
    window_seconds: float = 60.0
    block_seconds: float = 60.0
    _windows: dict[str, tuple[float, int]] = field(default_factory=dict)
    _blocked_until: dict[str, float] = field(default_factory=dict)

    def hit(self, tracker: str) -> tuple[bool, dict[str, str]]:
        now = time.monotonic()
        blocked_until = self._blocked_until.get(tracker, 0.0)
        window_start, hits = self._windows.get(tracker, (now, 0))
        if now - window_start >= self.window_seconds:
            window_start, hits = now, 0
        hits += 1
        self._windows[tracker] = (window_start, hits)
        if blocked_until <= now and hits > self.limit:
            blocked_until = now + self.block_seconds
            self._blocked_until[tracker] = blocked_until
        blocked = blocked_until > now
        until = blocked_until if blocked else window_start + self.window_seconds
        headers = {
            "X-RateLimit-Limit-Default": str(self.limit),
            "X-RateLimit-Remaining-Default": "0" if blocked else str(max(0, self.limit - hits)),
            "X-RateLimit-Reset-Default": str(max(1, math.ceil(until - now))),
        }
        return not blocked, headers

    def reset(self) -> None:
        self._windows.clear()
        self._blocked_until.clear()


def _tracker(request: Request) -> str:
    match = _BEARER.match(request.headers.get("authorization", ""))
    if match is not None:
        return "api_key_" + hashlib.sha256(match.group(1).encode()).hexdigest()
    return "ip_" + (request.client.host if request.client else "unknown")


def _fault_response(request: Request, fault: Fault, status: int) -> Response:
    headers: dict[str, str] = {}
    if status == 429:
        wait = fault.retry_after_seconds
        headers = {
            "X-RateLimit-Limit-Default": "120",
            "X-RateLimit-Remaining-Default": "0",
            "X-RateLimit-Reset-Default": str(math.ceil(wait if wait is not None else 60)),
        }
        if wait is not None:
            # Cal.com's throttler sends no Retry-After; a proxy in front of it may. Opt-in.
            headers["Retry-After"] = str(math.ceil(wait))
        return cal_error_response(request, CalHttpError(429, THROTTLED_MESSAGE, headers=headers))
    if fault.html_body:
        # What an edge proxy in front of Cal.com answers when the origin is down.
        page = (
            f"<html><body><h1>{status} {_DEFAULT_MESSAGES.get(status, 'Error')}</h1></body></html>"
        )
        return HTMLResponse(page, status_code=status)
    message = _DEFAULT_MESSAGES.get(status, "Injected sandbox fault")
    return cal_error_response(request, CalHttpError(status, message))


async def _drain(response: Response) -> None:
    body = getattr(response, "body_iterator", None)
    if body is not None:
        async for _chunk in body:
            pass


def install_edges(app: FastAPI, store: CalSandboxStore, limiter: RateLimiter | None) -> None:
    """Error rendering plus the middleware that logs, throttles and injects faults."""

    @app.exception_handler(CalHttpError)
    async def render_cal_error(request: Request, exc: CalHttpError) -> JSONResponse:
        return cal_error_response(request, exc)

    @app.middleware("http")
    async def cal_edges(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        path = relative_path(request)
        if not path.startswith("/v2/"):
            # The test hooks and the meeting page are not part of Cal.com's API.
            return await call_next(request)
        store.requests_seen.append(
            {"method": request.method, "path": path, "query": request.url.query}
        )
        limit_headers: dict[str, str] = {}
        if limiter is not None:
            allowed, limit_headers = limiter.hit(_tracker(request))
            if not allowed:
                error = CalHttpError(429, THROTTLED_MESSAGE, headers=limit_headers)
                return cal_error_response(request, error)
        fault = store.take_fault(request.method, path)
        response: Response
        if fault is None:
            response = await call_next(request)
        elif fault.after_success:
            # Cal.com did the work, but its answer never reaches the caller intact.
            response = await call_next(request)
            await _drain(response)
            await asyncio.sleep(fault.delay_seconds)
            response = _fault_response(request, fault, fault.status or 500)
        else:
            # Read the body while the caller is still there; it is replayed to the handler.
            await request.body()
            await asyncio.sleep(fault.delay_seconds)
            if fault.status is not None:
                response = _fault_response(request, fault, fault.status)
            elif await request.is_disconnected():
                # A plain delay stalls before Cal.com starts work: a caller that gave up
                # changed nothing. ("Done, but the answer was lost" is `after_success`.)
                return Response(status_code=499)
            else:
                response = await call_next(request)
        for name, value in limit_headers.items():
            response.headers.setdefault(name, value)
        return response
