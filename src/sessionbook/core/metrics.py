"""Process-level Prometheus metrics and the small functions other modules call to feed them.

Label values are always drawn from bounded sets (route templates, known event types, fixed
outcome words), so a caller can never blow up the number of time series by sending odd input.

With several worker processes set PROMETHEUS_MULTIPROC_DIR before the server starts:
prometheus-client then keeps these values in files that `/metrics` sums over every worker.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from prometheus_client import Counter, Gauge, Histogram
from starlette.routing import Mount
from starlette.types import Scope

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

HTTP_REQUEST_DURATION = Histogram(
    "sessionbook_http_request_duration_seconds",
    "Time to answer an HTTP request, by method, matched route template and status code.",
    ["method", "route", "status"],
    buckets=_LATENCY_BUCKETS,
)
WEBHOOK_EVENTS = Counter(
    "sessionbook_webhook_events_total",
    "Payment webhook deliveries, by event type and what became of them.",
    ["event_type", "outcome"],
)
PROVIDER_REQUEST_DURATION = Histogram(
    "sessionbook_provider_request_duration_seconds",
    "Time of one HTTP call to a provider (Airwallex, Cal.com), by operation.",
    ["provider", "operation"],
    buckets=_LATENCY_BUCKETS,
)
PROVIDER_REQUEST_ERRORS = Counter(
    "sessionbook_provider_request_errors_total",
    "Provider calls that failed: timeout, network, http_429, http_4xx or http_5xx.",
    ["provider", "operation", "kind"],
)
NOTIFICATIONS = Counter(
    "sessionbook_notifications_total",
    "Customer emails handled by the outbox worker, by kind and outcome.",
    ["kind", "outcome"],
)
SWEEP_DUTY_FAILURES = Counter(
    "sessionbook_sweep_duty_failures_total",
    "Sweep duties that raised; the other duties of the pass still ran.",
    ["duty"],
)
SWEEP_LAST_SUCCESS = Gauge(
    "sessionbook_sweep_last_success_timestamp_seconds",
    "Unix time when a sweep pass last finished with no failing duty.",
    multiprocess_mode="max",
)

# The contract's event names (Airwallex's and the original specification's); anything else
# is counted as "other" so that a sender cannot create series at will.
KNOWN_WEBHOOK_EVENTS = frozenset(
    {
        "payment_intent.succeeded",
        "payment_intent.cancelled",
        "payment_attempt.failed",
        "refund.received",
        "refund.accepted",
        "refund.settled",
        "refund.failed",
        "payment.succeeded",
        "payment.failed",
    }
)
WEBHOOK_OUTCOMES = frozenset(
    {
        "processed",  # the booking changed (or was confirmed unchanged) as the event says
        "duplicate",  # an event id already stored: answered 200, nothing changed
        "ignored",  # unhandled type or unknown payment: recorded, answered 200
        "rejected",  # amount/currency mismatch or an event that may not move the booking
        "invalid_signature",
        "invalid_payload",
        "provider_unavailable",  # could not confirm with Airwallex: 502, delivered again
        "failed",  # an unexpected error while processing
    }
)
NOTIFICATION_OUTCOMES = frozenset({"sent", "retry", "failed", "skipped"})
HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def multiprocess_enabled() -> bool:
    return bool(os.environ.get(MULTIPROCESS_ENV))


def prepare_multiprocess_directory() -> None:
    """Before the workers start: an empty PROMETHEUS_MULTIPROC_DIR, so no dead worker's
    counters from an earlier run are summed into this one's."""
    directory = os.environ.get(MULTIPROCESS_ENV)
    if not directory:
        return
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob("*.db"):
        stale.unlink(missing_ok=True)


def record_webhook_outcome(event_type: str, outcome: str) -> None:
    """Count one webhook delivery; the payments code calls this once per delivery."""
    WEBHOOK_EVENTS.labels(
        event_type=event_type if event_type in KNOWN_WEBHOOK_EVENTS else "other",
        outcome=outcome if outcome in WEBHOOK_OUTCOMES else "other",
    ).inc()


# The contract's error codes of the webhook route, as outcome words.
_WEBHOOK_ERRORS = {
    "invalid_signature": "invalid_signature",
    "validation_error": "invalid_payload",
    "payload_too_large": "invalid_payload",
    "provider_unavailable": "provider_unavailable",
}


def webhook_event_name(raw_body: bytes) -> str:
    """The delivery's event name, for a label only (unknown names become "other")."""
    try:
        payload = json.loads(raw_body)
    except (ValueError, RecursionError):
        return "other"
    name = payload.get("name", payload.get("type")) if isinstance(payload, dict) else None
    return name if isinstance(name, str) else "other"


def record_webhook_delivery(
    raw_body: bytes, *, state: str | None = None, error_code: str | None = None
) -> None:
    """Count one delivery from what the webhook route saw: the receipt's state or the error."""
    if error_code is not None:
        outcome = _WEBHOOK_ERRORS.get(error_code, "failed")
    else:
        outcome = "duplicate" if state == "repeat" else (state or "failed")
    record_webhook_outcome(webhook_event_name(raw_body), outcome)


def record_notification(kind: str, outcome: str) -> None:
    NOTIFICATIONS.labels(
        kind=kind, outcome=outcome if outcome in NOTIFICATION_OUTCOMES else "other"
    ).inc()


def record_sweep(failed_duties: list[str]) -> None:
    for duty in failed_duties:
        SWEEP_DUTY_FAILURES.labels(duty=duty).inc()
    if not failed_duties:
        SWEEP_LAST_SUCCESS.set(time.time())


def route_template(scope: Scope, outer_root_path: str) -> str:
    """The matched route's path template, e.g. `/admin/bookings/{booking_id}`, never the URL.

    A mounted app (the sandboxes, static files) adds its mount path to `root_path`; that
    prefix is kept so the stand-ins' routes are told apart from ours.
    """
    route: Any = scope.get("route")
    if route is None:
        return "unmatched"
    prefix = str(scope.get("root_path", ""))[len(outer_root_path) :]
    if isinstance(route, Mount):
        # The mounted app has no routes of its own (static files): its own path is the label.
        return f"{prefix}/*" if prefix else f"{route.path}/*"
    path = getattr(route, "path", None)
    return f"{prefix}{path}" if isinstance(path, str) else "unmatched"


def observe_request(scope: Scope, outer_root_path: str, status: int, seconds: float) -> None:
    """Observe one HTTP request's latency under its route template and status (the HTTP
    middleware calls this once the routes have answered)."""
    HTTP_REQUEST_DURATION.labels(
        method=scope["method"] if scope["method"] in HTTP_METHODS else "other",
        route=route_template(scope, outer_root_path),
        status=str(status),
    ).observe(seconds)
