"""Logging set-up: structlog JSON lines, with tokens, secrets and customer data redacted."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any
from urllib.parse import parse_qsl, urlencode

import structlog

REDACTED = "[redacted]"
_SECRET_KEYS = {
    "token",
    "booking_token",
    "bookingtoken",
    "x-booking-token",
    "authorization",
    "api_key",
    "x-api-key",
    "client_secret",
    "password",
    "secret",
    "webhook_secret",
    "customer_email",
    "customer_name",
    "customer_phone",
    "email",
    "phone",
    "cookie",
    "set-cookie",
}
_TOKEN_IN_TEXT = re.compile(r"(?i)(token=|bookingToken\"?\s*[:=]\s*\"?|Bearer\s+)[^&\s\"',;]+")
_QUERY_SECRETS = {"token", "booking_token", "bookingtoken"}


def redact_query_string(query: str) -> str:
    """The query string with token-like parameters replaced; safe to log."""
    if not query:
        return ""
    pairs = parse_qsl(query, keep_blank_values=True)
    cleaned = [(key, REDACTED if key.lower() in _QUERY_SECRETS else value) for key, value in pairs]
    return urlencode(cleaned, safe="[]")


def redact_text(text: str) -> str:
    return _TOKEN_IN_TEXT.sub(lambda match: match.group(1) + REDACTED, text)


def _redact_value(key: str, value: Any) -> Any:
    if key.lower() in _SECRET_KEYS:
        return REDACTED
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: _redact_value(str(k), v) for k, v in value.items()}
    return value


def redact_event(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: the last line of defence before anything is written."""
    for key in list(event_dict):
        event_dict[key] = _redact_value(key, event_dict[key])
    return event_dict


class RedactingFilter(logging.Filter):
    """For stdlib loggers we do not own (uvicorn's access log): scrub tokens from the line."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args:
            record.args = tuple(
                redact_text(arg) if isinstance(arg, str) else arg for arg in record.args
            )
        if isinstance(record.msg, str):
            record.msg = redact_text(record.msg)
        return True


def configure_logging(*, level: str = "info", json_format: bool = True) -> None:
    """Route structlog and the stdlib (uvicorn included) through one redacting formatter."""
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact_event,
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer() if json_format else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        # Drop below-level events before the processors run: at LOG_LEVEL=warning the
        # per-request access line would otherwise be stamped, redacted and then thrown away.
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers = []
        logger.propagate = True
        logger.addFilter(RedactingFilter())
    # Our own middleware writes the access line, with the token redacted and a request id.
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    # httpx logs every URL at INFO; provider URLs can carry a customer's email in a filter.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
