"""Errors of the payment domain, beyond the generic ones in `core.errors`."""

from __future__ import annotations

from sessionbook.core.errors import ServiceError


class RefundNotAllowed(ServiceError):
    """An operator's or a cancellation's refund that cannot be made as asked."""

    status_code = 409
    code = "refund_not_allowed"
    default_message = "This booking has nothing left to refund."
