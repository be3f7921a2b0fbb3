"""An httpx transport that times every provider call and counts its failures.

The provider clients accept a `transport`; wrapping the real one here measures each HTTP
exchange (every retry and login included) without touching the clients' own logic.
"""

from __future__ import annotations

import time

import httpx

from sessionbook.core.metrics import PROVIDER_REQUEST_DURATION, PROVIDER_REQUEST_ERRORS

# Path words of the Airwallex and Cal.com APIs we call; any other segment is an identifier
# and becomes `{id}`, which keeps the `operation` label to a handful of values.
_API_WORDS = frozenset(
    {
        "api",
        "v1",
        "v2",
        "pa",
        "authentication",
        "login",
        "payment_links",
        "payment_intents",
        "refunds",
        "create",
        "deactivate",
        "slots",
        "bookings",
        "cancel",
        "reschedule",
        "event-types",
    }
)
# Where the provider's API starts in a path; anything before is a mount prefix (sandbox).
_API_ROOTS = ("api", "v2")


def operation_name(method: str, path: str) -> str:
    """`GET /api/v1/pa/payment_links/{id}` for `GET /sandbox/airwallex/api/v1/.../plk_123`."""
    segments = [segment for segment in path.split("/") if segment]
    for index, segment in enumerate(segments):
        if segment in _API_ROOTS:
            segments = segments[index:]
            break
    shaped = [segment if segment in _API_WORDS else "{id}" for segment in segments]
    return f"{method.upper()} /{'/'.join(shaped)}"


def _failure_kind(status_code: int) -> str | None:
    if status_code == 429:
        return "http_429"
    if status_code >= 500:
        return "http_5xx"
    if status_code >= 400:
        return "http_4xx"
    return None


class InstrumentedTransport(httpx.AsyncBaseTransport):
    """Delegates to a real transport; records latency and failures per provider operation."""

    def __init__(self, provider: str, inner: httpx.AsyncBaseTransport | None = None) -> None:
        self.provider = provider
        self._inner = inner or httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        operation = operation_name(request.method, request.url.path)
        started = time.perf_counter()
        kind: str | None = None
        try:
            response = await self._inner.handle_async_request(request)
        except httpx.TimeoutException:
            kind = "timeout"
            raise
        except httpx.TransportError:
            kind = "network"
            raise
        else:
            kind = _failure_kind(response.status_code)
            return response
        finally:
            PROVIDER_REQUEST_DURATION.labels(provider=self.provider, operation=operation).observe(
                time.perf_counter() - started
            )
            if kind is not None:
                PROVIDER_REQUEST_ERRORS.labels(
                    provider=self.provider, operation=operation, kind=kind
                ).inc()

    async def aclose(self) -> None:
        await self._inner.aclose()
