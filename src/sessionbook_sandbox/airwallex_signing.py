"""How the Airwallex stand-in signs the webhooks it sends, following Airwallex's webhook docs.

Documented recipe: take the `x-timestamp` header value (Unix time in milliseconds, as decimal
digits), append the raw request body with no separator, and HMAC it with SHA-256 keyed by the
webhook's secret; `x-signature` is the lower-case hex digest. The signature header is sent only
when the webhook has a secret. Kept apart from our client's verifier on purpose: a mistake
there must show up as a refused webhook, not be repeated here.
"""

from __future__ import annotations

import hashlib
import hmac
import time

from sessionbook_sandbox.airwallex_contract import (
    WEBHOOK_SIGNATURE_HEADER,
    WEBHOOK_TIMESTAMP_HEADER,
)


def webhook_signature(secret: str, timestamp_ms: int, body: bytes) -> str:
    """Hex HMAC-SHA256 of the timestamp's digits followed by the body, keyed with `secret`."""
    signed_message = b"%d" % timestamp_ms + body
    mac = hmac.new(key=secret.encode("utf-8"), msg=signed_message, digestmod=hashlib.sha256)
    return mac.hexdigest()


def now_ms() -> int:
    """Unix time in whole milliseconds, the unit of `x-timestamp`."""
    return time.time_ns() // 1_000_000


def delivery_headers(secret: str, body: bytes, *, timestamp_ms: int) -> dict[str, str]:
    """Headers of one webhook delivery; signed afresh for each attempt, as Airwallex does."""
    headers = {
        "content-type": "application/json",
        WEBHOOK_TIMESTAMP_HEADER: str(timestamp_ms),
    }
    if secret:
        headers[WEBHOOK_SIGNATURE_HEADER] = webhook_signature(secret, timestamp_ms, body)
    return headers
