"""The payment port: what the booking service needs from a payment provider, in our own terms.

Money crosses this port as integer minor units ("cents") plus an ISO currency code; the
adapter converts to the provider's decimal amounts. The booking id is the only key we give the
provider (as `reference` and `metadata.booking_id`); the booking token never leaves us.

How a payment made through a link is traced back (Airwallex, API reference
https://www.airwallex.com/docs/api/payments/payment_links and payment_intents): the link
reports `status` UNPAID/PAID and `latest_successful_payment_intent_id`. Whether the Payment
Intent made by the hosted page names its link (`payment_link_id`) or copies our reference or
metadata is not documented, so nothing depends on it: "was this booking paid?" is answered by
`get_payment_link(link_id)` and then `get_payment_intent(...)` for status, amount and currency.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

LINK_STATUS_UNPAID = "UNPAID"
LINK_STATUS_PAID = "PAID"

INTENT_STATUS_SUCCEEDED = "SUCCEEDED"
INTENT_STATUS_REQUIRES_PAYMENT_METHOD = "REQUIRES_PAYMENT_METHOD"
INTENT_STATUS_CANCELLED = "CANCELLED"

REFUND_STATUS_RECEIVED = "RECEIVED"
REFUND_STATUS_ACCEPTED = "ACCEPTED"
REFUND_STATUS_SETTLED = "SETTLED"
REFUND_STATUS_FAILED = "FAILED"


@dataclass(frozen=True)
class PaymentLink:
    """A hosted payment page for one booking.

    `status` is Airwallex's UNPAID or PAID; `active` is false once the link was deactivated.
    """

    id: str
    url: str
    status: str
    amount_cents: int
    currency: str
    reference: str | None
    metadata: dict[str, str]
    expires_at: datetime | None
    active: bool = True
    latest_successful_payment_intent_id: str | None = None

    @property
    def paid(self) -> bool:
        return self.status == LINK_STATUS_PAID


@dataclass(frozen=True)
class PaymentIntent:
    """One payment; `payment_link_id`, when Airwallex fills it, names the link that made it."""

    id: str
    status: str
    amount_cents: int
    currency: str
    merchant_order_id: str | None
    metadata: dict[str, str]
    payment_link_id: str | None
    created_at: datetime | None = field(default=None, compare=False)

    @property
    def succeeded(self) -> bool:
        return self.status == INTENT_STATUS_SUCCEEDED


@dataclass(frozen=True)
class Refund:
    """A refund of (part of) a succeeded payment; ends SETTLED or FAILED."""

    id: str
    status: str
    payment_intent_id: str
    amount_cents: int
    currency: str
    request_id: str | None = None


class PaymentGateway(Protocol):
    """The payment provider as the booking service sees it.

    Every method raises `sessionbook.payments.airwallex.errors.PaymentProviderError` subclasses:
    `PaymentProviderUnavailable` (retry later), `PaymentNotFound`, `PaymentRejected`.
    """

    async def create_payment_link(
        self,
        *,
        booking_id: str,
        amount_cents: int,
        currency: str,
        title: str,
        description: str | None,
        expires_at: datetime,
        request_id: str,
    ) -> PaymentLink:
        """One single-use link for this booking; retrying with the same request_id is safe."""
        ...

    async def get_payment_link(self, link_id: str) -> PaymentLink: ...

    async def log_in(self) -> None:
        """Log in afresh with the configured credentials (`sessionbook doctor` asks this).

        Raises PaymentAuthenticationFailed when Airwallex refuses them.
        """
        ...

    async def deactivate_payment_link(self, link_id: str) -> None:
        """Stop the link from taking payments; a link already inactive is fine."""
        ...

    async def get_payment_intent(self, intent_id: str) -> PaymentIntent: ...

    async def find_payment_intents(self, *, merchant_order_id: str) -> list[PaymentIntent]:
        """Intents whose merchant_order_id matches (Airwallex's list filter)."""
        ...

    async def create_refund(
        self,
        *,
        payment_intent_id: str,
        amount_cents: int,
        currency: str,
        request_id: str,
        reason: str,
    ) -> Refund:
        """Refund a succeeded payment; retrying with the same request_id never refunds twice."""
        ...

    async def get_refund(self, refund_id: str) -> Refund: ...
