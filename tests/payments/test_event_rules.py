"""Pure rules, no I/O: which events mean what, where a booking id may come from, what is paid."""

from __future__ import annotations

import uuid
from datetime import datetime

import pytest

from sessionbook.payments.airwallex.errors import PaymentNotFound
from sessionbook.payments.airwallex.gateway import PaymentIntent, PaymentLink, Refund
from sessionbook.payments.confirmation import CheckOutcome, ExpectedPayment, check_payment
from sessionbook.payments.webhook import EventKind, kind_of, references

BOOKING = str(uuid.uuid4())


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("payment_intent.succeeded", EventKind.PAYMENT_SUCCEEDED),
        ("payment.succeeded", EventKind.PAYMENT_SUCCEEDED),
        ("payment_intent.cancelled", EventKind.PAYMENT_FAILED),
        ("payment_attempt.failed", EventKind.PAYMENT_FAILED),
        ("payment_attempt.authorization_failed", EventKind.PAYMENT_FAILED),
        ("payment_attempt.failed_to_process", EventKind.PAYMENT_FAILED),
        ("payment_attempt.risk_declined", EventKind.PAYMENT_FAILED),
        ("payment_attempt.authentication_failed", EventKind.PAYMENT_FAILED),
        ("payment_attempt.capture_failed", EventKind.PAYMENT_FAILED),
        ("payment_attempt.expired", EventKind.PAYMENT_FAILED),
        ("payment_attempt.cancelled", EventKind.PAYMENT_FAILED),
        ("payment.failed", EventKind.PAYMENT_FAILED),
        ("refund.received", EventKind.REFUND),
        ("refund.accepted", EventKind.REFUND),
        ("refund.settled", EventKind.REFUND),
        ("refund.failed", EventKind.REFUND),
        ("payment_intent.created", None),
        ("payment_attempt.authorized", None),
    ],
)
def test_event_names_map_to_what_they_mean(name: str, kind: EventKind | None) -> None:
    assert kind_of(name) is kind


def test_booking_ids_come_only_from_fields_we_set() -> None:
    other = str(uuid.uuid4())
    found = references(
        "payment_intent.succeeded",
        {
            "id": "int_1",
            "payment_link_id": "lnk_1",
            "merchant_order_id": BOOKING,
            "metadata": {"booking_id": other, "booking_token": str(uuid.uuid4())},
            "reference": "not-a-uuid",
        },
    )
    assert found.link_id == "lnk_1"
    assert found.intent_id == "int_1"
    assert [str(booking_id) for booking_id in found.booking_ids] == [other, BOOKING]


def test_an_attempt_points_at_its_intent_and_a_refund_at_nothing_by_itself() -> None:
    attempt = references("payment_attempt.authorization_failed", {"id": "att_1"})
    assert attempt.intent_id is None
    attempt = references(
        "payment_attempt.authorization_failed", {"id": "att_1", "payment_intent_id": "int_9"}
    )
    assert (attempt.intent_id, attempt.link_id, attempt.booking_ids) == ("int_9", None, ())


class FakeGateway:
    """Links and intents in memory; only what `check_payment` reads."""

    def __init__(self) -> None:
        self.links: dict[str, PaymentLink] = {}
        self.intents: dict[str, PaymentIntent] = {}

    def intent(
        self, intent_id: str, *, cents: int = 15000, currency: str = "USD", **kw: str
    ) -> None:
        self.intents[intent_id] = PaymentIntent(
            id=intent_id,
            status=kw.get("status", "SUCCEEDED"),
            amount_cents=cents,
            currency=currency,
            merchant_order_id=kw.get("order"),
            metadata={},
            payment_link_id=kw.get("link"),
        )

    def link(self, link_id: str, paid_by: str | None = None) -> None:
        self.links[link_id] = PaymentLink(
            id=link_id,
            url=f"https://pay.example/{link_id}",
            status="PAID" if paid_by else "UNPAID",
            amount_cents=15000,
            currency="USD",
            reference=BOOKING,
            metadata={"booking_id": BOOKING},
            expires_at=None,
            latest_successful_payment_intent_id=paid_by,
        )

    async def get_payment_link(self, link_id: str) -> PaymentLink:
        if link_id not in self.links:
            raise PaymentNotFound("no link", code="resource_not_found")
        return self.links[link_id]

    async def get_payment_intent(self, intent_id: str) -> PaymentIntent:
        if intent_id not in self.intents:
            raise PaymentNotFound("no intent", code="resource_not_found")
        return self.intents[intent_id]

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
        raise NotImplementedError

    async def deactivate_payment_link(self, link_id: str) -> None:
        raise NotImplementedError

    async def log_in(self) -> None:
        raise NotImplementedError

    async def find_payment_intents(self, *, merchant_order_id: str) -> list[PaymentIntent]:
        raise NotImplementedError

    async def create_refund(
        self,
        *,
        payment_intent_id: str,
        amount_cents: int,
        currency: str,
        request_id: str,
        reason: str,
    ) -> Refund:
        raise NotImplementedError

    async def get_refund(self, refund_id: str) -> Refund:
        raise NotImplementedError


EXPECTED = ExpectedPayment(booking_id=BOOKING, link_id="lnk_1", amount_cents=15000, currency="USD")


async def test_a_paid_link_with_its_succeeded_intent_is_paid() -> None:
    gateway = FakeGateway()
    gateway.link("lnk_1", paid_by="int_1")
    gateway.intent("int_1", link="lnk_1")

    check = await check_payment(gateway, EXPECTED)

    assert check.outcome is CheckOutcome.PAID
    assert check.intent is not None
    assert check.intent.id == "int_1"


@pytest.mark.parametrize(
    ("setup", "outcome"),
    [
        ("link_unpaid_no_hint", CheckOutcome.UNPAID),
        ("hint_not_succeeded", CheckOutcome.UNPAID),
        ("hint_for_another_booking", CheckOutcome.UNPAID),
        ("hint_unknown", CheckOutcome.UNPAID),
        ("hint_ours_by_order_id", CheckOutcome.PAID),
        ("hint_ours_wrong_amount", CheckOutcome.MISMATCH),
        ("link_paid_wrong_currency", CheckOutcome.MISMATCH),
        ("link_unknown", CheckOutcome.UNPAID),
    ],
)
async def test_only_this_bookings_exact_payment_counts(setup: str, outcome: CheckOutcome) -> None:
    gateway = FakeGateway()
    gateway.link("lnk_1")
    hint: str | None = "int_2"
    if setup == "link_unpaid_no_hint":
        hint = None
    elif setup == "hint_not_succeeded":
        gateway.intent("int_2", link="lnk_1", status="REQUIRES_PAYMENT_METHOD")
    elif setup == "hint_for_another_booking":
        gateway.intent("int_2", link="lnk_other", order=str(uuid.uuid4()))
    elif setup == "hint_ours_by_order_id":
        gateway.intent("int_2", link="lnk_other", order=BOOKING)
    elif setup == "hint_ours_wrong_amount":
        gateway.intent("int_2", link="lnk_1", cents=100)
    elif setup == "link_paid_wrong_currency":
        gateway.link("lnk_1", paid_by="int_3")
        gateway.intent("int_3", link="lnk_1", currency="EUR")
        hint = None
    elif setup == "link_unknown":
        gateway.links.clear()
        hint = None

    check = await check_payment(gateway, EXPECTED, hinted_intent_id=hint)

    assert check.outcome is outcome
