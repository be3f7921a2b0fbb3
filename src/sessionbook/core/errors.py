"""Errors a caller can cause or meet, each with its stable contract code and HTTP status."""

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


class BookingNotFound(ServiceError):
    status_code = 404
    code = "booking_not_found"
    default_message = "No booking matches this link. Check that the link is complete."


class BookingExpired(ServiceError):
    status_code = 410
    code = "booking_expired"
    default_message = "This booking has expired. Please start a new booking."


class PaymentRequired(ServiceError):
    status_code = 402
    code = "payment_required"
    default_message = "This booking is not paid yet. Complete the payment first."


class BookingNotSchedulable(ServiceError):
    status_code = 409
    code = "booking_not_schedulable"
    default_message = "This booking is already scheduled or cancelled."


class SlotUnavailable(ServiceError):
    status_code = 409
    code = "slot_unavailable"
    default_message = (
        "That time is no longer available. Please pick another time; your booking is kept."
    )


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


class RefundNotAllowed(ServiceError):
    """An operator's or a cancellation's refund that cannot be made as asked."""

    status_code = 409
    code = "refund_not_allowed"
    default_message = "This booking has nothing left to refund."


class NotFound(ServiceError):
    status_code = 404
    code = "not_found"
    default_message = "There is nothing at this address."


class MethodNotAllowed(ServiceError):
    status_code = 405
    code = "method_not_allowed"
    default_message = "This address does not accept that method."
