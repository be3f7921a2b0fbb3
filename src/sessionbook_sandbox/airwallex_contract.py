"""Airwallex's documented headers and the one API version the stand-in models.

Versioning (https://www.airwallex.com/docs/api/versioning): an account is pinned to a dated
version, applied to every call without an `x-api-version` header; the header overrides it per
call. The stand-in's "account" is pinned to SERVED_API_VERSION, the version whose contract its
bodies follow. Webhook headers (https://www.airwallex.com/docs/developer-tools/webhooks/
listen-for-webhook-events): `x-timestamp` is Unix time in milliseconds, `x-signature` the hex
HMAC-SHA256 digest keyed with the webhook secret.
"""

from __future__ import annotations

SERVED_API_VERSION = "2025-06-30"

API_VERSION_HEADER = "x-api-version"
CLIENT_ID_HEADER = "x-client-id"
API_KEY_HEADER = "x-api-key"
WEBHOOK_TIMESTAMP_HEADER = "x-timestamp"
WEBHOOK_SIGNATURE_HEADER = "x-signature"
