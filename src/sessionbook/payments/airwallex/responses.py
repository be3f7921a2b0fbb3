"""Reading Airwallex HTTP answers: JSON bodies without floats, and errors mapped to our types.

Error bodies are {code, message, source?} (https://www.airwallex.com/docs/api/errors). HTTP 404
with `resource_not_found` means no such object; `not_found` means no such endpoint (a wrong
base URL), which we treat as the provider being unusable rather than the object missing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

import httpx

from sessionbook.payments.airwallex.errors import (
    PaymentAuthenticationFailed,
    PaymentNotFound,
    PaymentProviderError,
    PaymentProviderUnavailable,
    PaymentRejected,
)


def json_body(response: httpx.Response) -> Any:
    if not response.content:
        return None
    try:
        return json.loads(response.content, parse_float=Decimal)  # no float ever touches money
    except ValueError as exc:
        raise PaymentProviderUnavailable(
            "Airwallex answered with something that is not JSON",
            code="bad_response",
            status_code=response.status_code,
        ) from exc


def _error_fields(response: httpx.Response) -> tuple[str, str, str | None]:
    try:
        body = json.loads(response.content) if response.content else None
    except ValueError:
        body = None
    if isinstance(body, Mapping) and isinstance(body.get("code"), str):
        message = body.get("message")
        source = body.get("source")
        return (
            body["code"],
            message if isinstance(message, str) else body["code"],
            source if isinstance(source, str) else None,
        )
    return f"http_{response.status_code}", f"HTTP {response.status_code} from Airwallex", None


def error_from(response: httpx.Response) -> PaymentProviderError:
    code, message, source = _error_fields(response)
    status = response.status_code
    kind: Callable[..., PaymentProviderError]
    if status == 429 or status >= 500:
        kind = PaymentProviderUnavailable
    elif status in (401, 403):
        kind = PaymentAuthenticationFailed
    elif code == "resource_not_found" or (status == 404 and code != "not_found"):
        kind = PaymentNotFound
    elif status == 404:
        # `not_found` means the endpoint does not exist: a wrong base URL, not a missing object.
        kind = PaymentProviderUnavailable
    else:
        kind = PaymentRejected
    return kind(message, code=code, status_code=status, source=source)


def network_failure(exc: Exception, code: str) -> PaymentProviderUnavailable:
    return PaymentProviderUnavailable(f"Airwallex did not answer ({type(exc).__name__})", code=code)


def retry_after_seconds(response: httpx.Response) -> float:
    value: str = response.headers.get("Retry-After", "")
    return float(value) if value.isdigit() else 0.0
