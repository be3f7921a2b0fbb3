"""Turn every failure into the contract's JSON error body; never a stack trace."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from sessionbook.core.db import DATABASE_ERROR_TYPES, database_unreachable
from sessionbook.core.errors import (
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    ServiceError,
    ServiceUnavailable,
    ValidationFailed,
)

log = structlog.get_logger(__name__)

API_PREFIX = "/functions/v1/"

# Renders the "try again in a minute" page for a browser; the pages install it on app.state.
UnavailablePage = Callable[[Request, ServiceUnavailable], Response]
UNAVAILABLE_PAGE_STATE = "unavailable_page"
# Renders the "page not found" page for a browser; the pages install it on app.state.
NotFoundPage = Callable[[Request], Response]
NOT_FOUND_PAGE_STATE = "not_found_page"


def error_response(error: ServiceError) -> JSONResponse:
    body: dict[str, Any] = {"code": error.code, "message": error.message}
    if error.fields:
        body["fields"] = error.fields
    headers = {"Cache-Control": "no-store"}
    if error.retry_after is not None:
        headers["Retry-After"] = str(error.retry_after)
    return JSONResponse({"error": body}, status_code=error.status_code, headers=headers)


def validation_fields(errors: list[dict[str, Any]] | Any) -> dict[str, str]:
    """Map pydantic's error list to `{field: message}`, naming top-level camelCase fields."""
    fields: dict[str, str] = {}
    for error in errors:
        location = [
            part for part in error.get("loc", ()) if part not in ("body", "query", "header")
        ]
        kind = error.get("type", "")
        if kind == "json_invalid":
            fields.setdefault("body", "is not valid JSON")
            continue
        if not location:
            fields.setdefault("body", _body_message(kind))
            continue
        name = str(location[0])
        if kind == "extra_forbidden":
            fields.setdefault(name, "is not a known field")
        elif kind == "missing":
            fields.setdefault(name, "is required")
        else:
            fields.setdefault(name, _clean_message(str(error.get("msg", "is invalid"))))
    return fields or {"body": "is invalid"}


def unparseable_body(cause: BaseException | None) -> ValidationFailed:
    """The 400 for a body FastAPI could not even decode as JSON, saying why.

    FastAPI turns anything but a JSONDecodeError met while parsing a body into a bare 400
    HTTPException raised from the original error (Starlette does so for a broken form too);
    its cause tells bytes that are not UTF-8 from JSON nested deeper than the parser's
    recursion limit.
    """
    if isinstance(cause, UnicodeDecodeError):
        reason = "is not UTF-8"
    elif isinstance(cause, RecursionError):
        reason = "is nested too deeply"
    else:
        reason = "could not be read"
    return ValidationFailed(f"Invalid request: body {reason}", fields={"body": reason})


def _body_message(kind: str) -> str:
    if kind == "missing":
        return "a JSON object is required"
    return "must be a JSON object"


def _clean_message(message: str) -> str:
    return message.removeprefix("Value error, ").removeprefix(
        "value is not a valid email address: "
    )


def _accepted_quality(accept: str, media_type: str) -> float:
    """How much an Accept header wants `media_type`: its most specific match's q, else 0."""
    kind = media_type.split("/")[0]
    best_specificity, quality = -1, 0.0
    for entry in accept.split(","):
        name, *params = (part.strip() for part in entry.split(";"))
        specificity = {media_type: 2, f"{kind}/*": 1, "*/*": 0}.get(name.lower(), -1)
        if specificity <= best_specificity:
            continue
        best_specificity, quality = specificity, 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
    return quality


def wants_page(request: Request) -> bool:
    """A browser navigating to one of our pages: it prefers HTML to JSON, outside the API.

    An API client that names no preference, or accepts anything, keeps the JSON it always got.
    """
    if request.url.path.startswith(API_PREFIX):
        return False
    accept = request.headers.get("accept", "")
    return _accepted_quality(accept, "text/html") > _accepted_quality(accept, "application/json")


def unavailable_response(request: Request, error: ServiceUnavailable) -> Response:
    """A page for a browser navigating to one of ours, the JSON error body for everyone else."""
    page: UnavailablePage | None = getattr(request.app.state, UNAVAILABLE_PAGE_STATE, None)
    if page is not None and wants_page(request):
        response = page(request, error)
        response.headers["Retry-After"] = str(error.retry_after)
        response.headers["Cache-Control"] = "no-store"
        return response
    return error_response(error)


def unexpected_response(request: Request, exc: Exception) -> Response:
    """The answer to an error no service raised on purpose: 503 for a database outage, else 500."""
    if database_unreachable(exc):
        # An outage, not a bug: one line, no stack trace, and the caller is told to retry.
        log.warning("database_unreachable", error_type=type(exc).__name__, error=str(exc))
        return unavailable_response(request, ServiceUnavailable())
    log.exception("unhandled_error", error_type=type(exc).__name__)
    return error_response(ServiceError())


def service_error_response(request: Request, exc: ServiceError) -> Response:
    """The answer to a ServiceError, as the exception handler gives it."""
    if isinstance(exc, ServiceUnavailable):
        return unavailable_response(request, exc)
    return error_response(exc)


def install_error_handlers(app: FastAPI) -> None:
    async def on_service_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ServiceError)
        return service_error_response(request, exc)

    async def on_validation_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        fields = validation_fields(exc.errors())
        message = "Invalid request: " + "; ".join(f"{k} {v}" for k, v in fields.items())
        return error_response(ValidationFailed(message, fields=fields))

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 404:
            page: NotFoundPage | None = getattr(request.app.state, NOT_FOUND_PAGE_STATE, None)
            if page is not None and wants_page(request):
                return page(request)
            return error_response(NotFound())
        if exc.status_code == 405:
            response = error_response(MethodNotAllowed())
            if exc.headers and "Allow" in exc.headers:
                response.headers["Allow"] = exc.headers["Allow"]
            return response
        if exc.status_code == 413:
            return error_response(PayloadTooLarge())
        if exc.status_code == 400:
            return error_response(unparseable_body(exc.__cause__))
        error = ServiceError(str(exc.detail))
        error.status_code = exc.status_code
        error.code = "http_error"
        return error_response(error)

    async def on_unexpected(request: Request, exc: Exception) -> Response:
        return unexpected_response(request, exc)

    # Database errors get a handler of their own, so a route's outage is answered by the
    # exception middleware like any ServiceError; one left to the catch-all `Exception`
    # handler is answered too, but the server then logs it again and closes the connection.

    app.add_exception_handler(ServiceError, on_service_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    for error_type in DATABASE_ERROR_TYPES:
        app.add_exception_handler(error_type, on_unexpected)
    app.add_exception_handler(Exception, on_unexpected)
