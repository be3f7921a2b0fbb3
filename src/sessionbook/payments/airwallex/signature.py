"""Airwallex webhook signatures: HMAC-SHA256 over the timestamp header followed by the raw body.

Documented at https://www.airwallex.com/docs/developer-tools/webhooks/listen-for-webhook-events:
`x-timestamp` is Unix time in milliseconds, `x-signature` the hex HMAC-SHA256 digest keyed with
the webhook's secret, of `x-timestamp` + raw request body (no separator). Airwallex mandates no
freshness window, nor says whether a retry is signed afresh; we reject timestamps more than
`tolerance_seconds` away from now, both ways, so a captured request cannot be replayed later,
and tell that case apart (`signature_matches`) so a stale but authentic delivery is not lost.
"""

from __future__ import annotations

import hashlib
import hmac

# Milliseconds since 1970 fit in 13 digits until the year 2286; anything longer is junk.
_MAX_TIMESTAMP_DIGITS = 16


def sign(secret: str, timestamp_ms: str, raw_body: bytes) -> str:
    """The hex signature Airwallex sends in `x-signature` for this timestamp and body."""
    message = timestamp_ms.encode("ascii") + raw_body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def signature_matches(
    secret: str, timestamp_header: str | None, signature_header: str | None, raw_body: bytes
) -> bool:
    """True when the signature is right for this timestamp and body, however old it is."""
    if not secret or not timestamp_header or not signature_header:
        return False
    timestamp = timestamp_header.strip()
    if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > _MAX_TIMESTAMP_DIGITS:
        return False
    expected = sign(secret, timestamp, raw_body).encode("ascii")
    presented = signature_header.strip().lower().encode("utf-8")
    # Constant time, so response timing does not reveal how much of a forged digest was right.
    return hmac.compare_digest(expected, presented)


def is_recent(timestamp_header: str, *, now_ms: int, tolerance_seconds: int) -> bool:
    """True when a well-formed `x-timestamp` is within tolerance of `now_ms`, both ways."""
    return abs(now_ms - int(timestamp_header.strip())) <= tolerance_seconds * 1000


def verify(
    secret: str,
    timestamp_header: str | None,
    signature_header: str | None,
    raw_body: bytes,
    *,
    now_ms: int,
    tolerance_seconds: int = 300,
) -> bool:
    """True when the signature matches and the timestamp is within tolerance of `now_ms`."""
    if not signature_matches(secret, timestamp_header, signature_header, raw_body):
        return False
    assert timestamp_header is not None
    return is_recent(timestamp_header, now_ms=now_ms, tolerance_seconds=tolerance_seconds)
