"""The base of every contract error, and the errors no single domain owns (HTTP, providers).

Each domain keeps its own in its `errors.py`; every one carries its stable contract code and
HTTP status.
"""

from __future__ import annotations


class ServiceError(Exception):
    """Base of every error the API turns into `{"error": {code, message, fields}}`."""

    status_code = 500
    code = "internal_error"
    default_message = "Something went wrong on our side. Nothing was changed; please retry."

    def __init__(
        self,
        message: str | None = None,
        *,
        fields: dict[str, str] | None = None,
        retry_after: int | None = None,
    ) -> None:
        self.message = message or self.default_message
        self.fields = fields
        self.retry_after = retry_after
        super().__init__(self.message)


class ValidationFailed(ServiceError):
    status_code = 400
    code = "validation_error"
    default_message = "The request is not valid."


class PayloadTooLarge(ServiceError):
    status_code = 413
    code = "payload_too_large"
    default_message = "The request body is larger than 64 KB."


class TokenNotRecognised(ServiceError):
    """A presented token opens nothing; the bad-token guard counts these against the caller."""

    status_code = 404


class InvalidSignature(ServiceError):
    status_code = 401
    code = "invalid_signature"
    default_message = "The webhook signature is missing, wrong or too old."


class RateLimited(ServiceError):
    status_code = 429
    code = "rate_limited"
    default_message = "Too many requests. Please wait a moment and try again."


class ProviderUnavailable(ServiceError):
    status_code = 502
    code = "provider_unavailable"
    default_message = (
        "A payment or calendar provider is not answering. Nothing was lost; please retry."
    )


class ServiceUnavailable(ServiceError):
    """The database cannot be reached; nothing was committed, so the same request may be retried."""

    status_code = 503
    code = "service_unavailable"
    default_message = (
        "We can't reach our records right now. Nothing was changed; please try again in a minute."
    )
    default_retry_after = 30

    def __init__(self, message: str | None = None, *, retry_after: int | None = None) -> None:
        super().__init__(message, retry_after=retry_after or self.default_retry_after)


class NotFound(ServiceError):
    status_code = 404
    code = "not_found"
    default_message = "There is nothing at this address."


class MethodNotAllowed(ServiceError):
    status_code = 405
    code = "method_not_allowed"
    default_message = "This address does not accept that method."
