"""Typed failures of the payment provider, so callers branch on meaning rather than HTTP codes."""

from __future__ import annotations


class PaymentProviderError(Exception):
    """Any failure talking to Airwallex.

    `code` is Airwallex's error code when it sent one (`validation_error`, `resource_not_found`,
    `duplicate_request`, ...), else a short local code such as "network" or "http_502".
    `status_code` is the HTTP status, or 0 when no response arrived. `source` names the
    request field Airwallex blamed, when it did.
    """

    def __init__(
        self,
        message: str,
        *,
        code: str = "provider_error",
        status_code: int = 0,
        source: str | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status_code = status_code
        self.source = source

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(code={self.code!r}, status_code={self.status_code}, "
            f"message={self.message!r})"
        )


class PaymentProviderUnavailable(PaymentProviderError):
    """Network error, timeout, 5xx or 429 after retries: the outcome is unknown; retry later."""


class PaymentAuthenticationFailed(PaymentProviderUnavailable):
    """Airwallex refused our credentials even after a fresh login.

    A subclass of "unavailable" on purpose: for callers it means the same thing (answer 502,
    keep the booking, retry later), while operators can tell a misconfiguration apart.
    """


class PaymentNotFound(PaymentProviderError):
    """The link, intent or refund does not exist (HTTP 404 or code `resource_not_found`)."""


class PaymentRejected(PaymentProviderError):
    """Airwallex refused the request as invalid (4xx, e.g. `validation_error`); do not retry."""
