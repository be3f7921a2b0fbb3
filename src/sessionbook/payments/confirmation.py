"""Asking Airwallex whether a booking is paid: the truth a webhook only hints at.

The booking's own payment link is asked first: when it is PAID and names its
`latest_successful_payment_intent_id`, that intent is the link's payment, whatever the intent
itself says about where it came from (Airwallex does not document that a link's intent names
its link). It must still be SUCCEEDED with exactly the booking's amount and currency. An intent
named by the event is looked at too, for the moment when the link has not caught up yet; it
counts only if it says it was made for this booking (its link, `merchant_order_id` or
`metadata.booking_id`, all fields we set). No database access here.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import structlog

from sessionbook.bookings.models import Booking
from sessionbook.payments.airwallex.errors import PaymentNotFound
from sessionbook.payments.airwallex.gateway import PaymentGateway, PaymentIntent, PaymentLink

log = structlog.get_logger(__name__)


class CheckOutcome(enum.Enum):
    PAID = "paid"
    UNPAID = "unpaid"
    MISMATCH = "mismatch"


@dataclass(frozen=True)
class ExpectedPayment:
    """What the booking says it should be paid: our snapshot, read before asking Airwallex."""

    booking_id: str
    link_id: str | None
    amount_cents: int
    currency: str


@dataclass(frozen=True)
class PaymentCheck:
    outcome: CheckOutcome
    intent: PaymentIntent | None = None
    reason: str | None = None

    @property
    def paid(self) -> bool:
        return self.outcome is CheckOutcome.PAID


def expected_payment(booking: Booking) -> ExpectedPayment:
    """What a booking should be paid, as the confirmation compares it."""
    return ExpectedPayment(
        booking_id=str(booking.id),
        link_id=booking.payment_link_id,
        amount_cents=booking.amount_cents,
        currency=booking.currency,
    )


async def check_payment(
    gateway: PaymentGateway, expected: ExpectedPayment, *, hinted_intent_id: str | None = None
) -> PaymentCheck:
    """PAID only for a succeeded intent of this booking with exactly its amount and currency.

    Raises PaymentProviderUnavailable when Airwallex cannot answer; a missing link or intent
    is an answer ("not paid"), not a failure.
    """
    candidates: list[str] = []
    named_by_link: str | None = None
    if expected.link_id is not None:
        try:
            link = await gateway.get_payment_link(expected.link_id)
        except PaymentNotFound:
            log.warning(
                "payment_link_unknown_to_provider",
                booking_id=expected.booking_id,
                link_id=expected.link_id,
            )
        else:
            named_by_link = paid_intent_of(link)
            if named_by_link is not None:
                candidates.append(named_by_link)
    if hinted_intent_id and hinted_intent_id not in candidates:
        candidates.append(hinted_intent_id)
    for intent_id in candidates:
        try:
            intent = await gateway.get_payment_intent(intent_id)
        except PaymentNotFound:
            continue
        # The link's own record vouches for its intent; any other must say it is ours.
        made_for_booking = intent_id == named_by_link or _made_for(intent, expected)
        if not intent.succeeded or not made_for_booking:
            continue
        if (intent.amount_cents, intent.currency) != (expected.amount_cents, expected.currency):
            return PaymentCheck(
                CheckOutcome.MISMATCH,
                intent,
                reason=(
                    f"paid {intent.amount_cents} {intent.currency}, "
                    f"expected {expected.amount_cents} {expected.currency}"
                ),
            )
        return PaymentCheck(CheckOutcome.PAID, intent)
    return PaymentCheck(CheckOutcome.UNPAID)


def paid_intent_of(link: PaymentLink) -> str | None:
    """The intent that paid a link, by the link's own record; None while it is unpaid."""
    if link.paid and link.latest_successful_payment_intent_id:
        return link.latest_successful_payment_intent_id
    return None


def _made_for(intent: PaymentIntent, expected: ExpectedPayment) -> bool:
    if expected.link_id is not None and intent.payment_link_id == expected.link_id:
        return True
    return expected.booking_id in (intent.merchant_order_id, intent.metadata.get("booking_id"))
