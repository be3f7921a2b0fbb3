"""booking-status served outside FastAPI's router: the hottest read of the contract.

`GET /functions/v1/booking-status` is answered here, as a pure ASGI layer inside the app's own
middleware (request id, security headers, access log, metrics, body limit and CORS all still
wrap it), without FastAPI's route matching, dependency solving and exception middlewares
(most of that request's CPU, bench/RESULTS.md). It does what the route in `bookings.routes`
does, with the same pieces: the `status` rate limit, then the token, then the bad-token guard
(`http.deps.token_read`), the service's `status_of` (one statement on PostgreSQL, the same read
on SQLite), the same response model serialised by pydantic-core, and errors answered by the
same functions as the app's exception handlers. Any other method or path goes on to FastAPI.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from sessionbook.bookings.routes import status_response
from sessionbook.bookings.service import BookingService
from sessionbook.core.api_models import json_response
from sessionbook.core.db import DATABASE_ERROR_TYPES
from sessionbook.core.errors import ServiceError
from sessionbook.http.deps import token_read
from sessionbook.http.handlers import service_error_response, unexpected_response

STATUS_PATH = "/functions/v1/booking-status"


class BookingStatusEndpoint:
    """Answers GET booking-status itself; passes everything else to `app`.

    `route` is the FastAPI route of the same path: it is put in the scope as the router would,
    so the metrics label this request by that route's template as before.
    """

    def __init__(self, app: ASGIApp, *, bookings: BookingService, route: BaseRoute) -> None:
        self.app = app
        self.bookings = bookings
        self.route = route
        self.read = token_read("status")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != STATUS_PATH or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        scope["route"] = self.route
        request = Request(scope, receive)
        response: Response
        try:
            read = await self.read(request)
            view = await read.guard.run(lambda: self.bookings.status_of(read.token))
            response = json_response(status_response(view, self.bookings.clock()))
        except ServiceError as error:
            response = service_error_response(request, error)
        except DATABASE_ERROR_TYPES as error:
            response = unexpected_response(request, error)
        # Anything else goes up to the app's last-resort handler, as from a route.
        await response(scope, receive, send)


def status_route(routes: list[BaseRoute]) -> BaseRoute:
    """The app's own booking-status route (for the metrics label)."""
    for route in routes:
        if getattr(route, "path", None) == STATUS_PATH:
            return route
    raise LookupError(f"no route for {STATUS_PATH}")


__all__ = ["STATUS_PATH", "BookingStatusEndpoint", "status_route"]
