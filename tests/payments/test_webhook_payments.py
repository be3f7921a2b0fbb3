"""Paying on the stand-in moves bookings through the webhook, and only as Airwallex confirms."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import pytest

from tests.payments.shop import Shop, signed_event
from tests.support.queries import audit_trail, booking_row, event_types, set_booking


async def test_paying_on_the_stand_in_makes_the_booking_paid_within_seconds(shop: Shop) -> None:
    booking = await shop.book()
    assert (await shop.status(booking))["paymentUrl"] == booking["paymentUrl"]

    page = await shop.http.post(booking["paymentUrl"], data={"action": "pay"})
    assert page.status_code == 303

    status = await shop.wait_status(booking, status="paid", paymentStatus="paid")
    assert status["paymentUrl"] is None
    stored = await booking_row(shop.db, booking["bookingId"])
    assert stored.payment_intent_id is not None
    assert stored.paid_at is not None
    # A paid booking's expiresAt is the end of its scheduling window (90 days by default).
    assert stored.expires_at > datetime.now(UTC) + timedelta(days=89)
    trail = await audit_trail(shop.db, booking["bookingId"])
    confirmed = [row for row in trail if row.event_type == "payment_confirmed"]
    assert len(confirmed) == 1
    assert (confirmed[0].from_status, confirmed[0].to_status) == ("pending", "paid")
    assert confirmed[0].source == "webhook"
    assert confirmed[0].data["paymentIntentId"] == stored.payment_intent_id
    assert (confirmed[0].data["amountCents"], confirmed[0].data["currency"]) == (15000, "USD")
    [event] = await shop.sent_events("payment_intent.succeeded", stored.payment_intent_id)
    row = await shop.wait_webhook_state(event["id"], "processed")
    assert row.booking_id == stored.id


async def test_a_replayed_event_changes_nothing(shop: Shop) -> None:
    booking = await shop.book()
    paid = await shop.pay(booking["linkId"])
    await shop.wait_status(booking, status="paid")
    [event] = await shop.sent_events("payment_intent.succeeded", paid["payment_intent"]["id"])
    trail_before = await event_types(shop.db, booking["bookingId"])

    await shop.resend(event["id"])
    replayed = await shop.deliver(json.dumps(event["payload"]).encode())

    assert replayed.json() == {"received": True, "state": "repeat"}
    deliveries = await shop.wait_deliveries(event["id"], 2)
    assert [d["status_code"] for d in deliveries] == [200, 200]
    assert await event_types(shop.db, booking["bookingId"]) == trail_before
    assert (await shop.webhook_row(event["id"])).attempts == 1


async def test_the_same_event_delivered_at_once_is_processed_once(shop: Shop) -> None:
    booking = await shop.book()
    paid = await shop.pay_quietly(booking["linkId"])
    [event] = await shop.sent_events("payment_intent.succeeded", paid["payment_intent"]["id"])
    body = json.dumps(event["payload"]).encode()

    answers = await asyncio.gather(*(shop.deliver(body) for _ in range(4)))

    assert [answer.status_code for answer in answers] == [200] * 4
    states = sorted(answer.json()["state"] for answer in answers)
    assert states == ["processed", "repeat", "repeat", "repeat"]
    assert (await event_types(shop.db, booking["bookingId"])).count("payment_confirmed") == 1
    row = await shop.webhook_row(event["id"])
    assert (row.state, row.attempts) == ("processed", 1)
    assert (await shop.status(booking))["status"] == "paid"


async def test_a_decline_marks_the_payment_failed_and_the_customer_may_pay_again(
    shop: Shop,
) -> None:
    booking = await shop.book()

    declined = await shop.pay(booking["linkId"], outcome="failed")

    status = await shop.wait_status(booking, paymentStatus="failed")
    assert status["status"] == "pending"
    assert status["paymentUrl"] == booking["paymentUrl"]  # the same link takes another try
    attempt = declined["payment_intent"]["latest_payment_attempt"]["id"]
    [event] = await shop.sent_events("payment_attempt.authorization_failed", attempt)
    # The status may have learnt of the decline from Airwallex before the webhook landed.
    assert (await shop.wait_webhook_state(event["id"], "processed")).state == "processed"

    await shop.pay(booking["linkId"])

    await shop.wait_status(booking, status="paid", paymentStatus="paid")
    trail = await audit_trail(shop.db, booking["bookingId"])
    failed = [row for row in trail if row.event_type == "payment_failed"]
    assert len(failed) == 1
    assert failed[0].data["event"] == "payment_attempt.authorization_failed"
    assert failed[0].data["toPaymentStatus"] == "failed"
    assert [row.event_type for row in trail][-2:] == ["payment_failed", "payment_confirmed"]


@pytest.mark.parametrize(
    "failure", ["payment_attempt.authorization_failed", "payment_attempt.failed", "payment.failed"]
)
async def test_a_failure_arriving_after_the_payment_keeps_it_paid(shop: Shop, failure: str) -> None:
    booking = await shop.book()
    paid = await shop.pay(booking["linkId"])
    await shop.wait_status(booking, status="paid")
    intent = paid["payment_intent"]
    late = signed_event(failure, {"id": "att_late", "payment_intent_id": intent["id"]})

    answer = await shop.deliver(late)

    assert answer.status_code == 200
    assert (await shop.webhook_row(late["id"])).state == "processed"
    stored = await booking_row(shop.db, booking["bookingId"])
    assert (stored.status, stored.payment_status) == ("paid", "paid")
    assert "payment_failed" not in await event_types(shop.db, booking["bookingId"])


async def test_a_failure_after_a_lost_success_confirms_the_payment_instead(shop: Shop) -> None:
    booking = await shop.book()
    paid = await shop.pay_quietly(booking["linkId"])
    late = signed_event(
        "payment_intent.cancelled",
        {**paid["payment_intent"], "status": "CANCELLED"},  # what the event claims, not the truth
    )

    answer = await shop.deliver(late)

    assert answer.status_code == 200
    await shop.wait_status(booking, status="paid", paymentStatus="paid")
    types = await event_types(shop.db, booking["bookingId"])
    assert "payment_failed" not in types
    assert types.count("payment_confirmed") == 1


async def test_the_original_event_names_are_understood(shop: Shop) -> None:
    booking = await shop.book()
    paid = await shop.pay_quietly(booking["linkId"])
    intent = paid["payment_intent"]
    event = signed_event(
        "payment.succeeded", {"id": intent["id"], "metadata": {"booking_id": booking["bookingId"]}}
    )

    answer = await shop.deliver(event)

    assert answer.json() == {"received": True, "state": "processed"}
    await shop.wait_status(booking, status="paid")


async def test_a_payment_after_expiry_is_honoured(shop: Shop) -> None:
    booking = await shop.book()
    past = datetime.now(UTC) - timedelta(minutes=1)
    await set_booking(shop.db, booking["bookingId"], expires_at=past)
    assert (await shop.status(booking))["status"] == "expired"

    await shop.pay(booking["linkId"])

    await shop.wait_status(booking, status="paid", paymentStatus="paid")
    trail = await audit_trail(shop.db, booking["bookingId"])
    assert [row.event_type for row in trail][-2:] == ["booking_expired", "payment_confirmed"]
    assert (trail[-1].from_status, trail[-1].to_status) == ("expired", "paid")
    assert trail[-1].data["afterExpiry"] is True


@pytest.mark.parametrize(
    ("amount_cents", "currency"), [(100, "USD"), (15000, "EUR")], ids=["amount", "currency"]
)
async def test_a_payment_of_the_wrong_amount_or_currency_is_never_accepted(
    shop: Shop, amount_cents: int, currency: str
) -> None:
    booking = await shop.book()
    # A second link naming this booking, at another price: its payment is real but wrong.
    other_link = await shop.extra_link(booking["bookingId"], amount_cents, currency)

    paid = await shop.pay(other_link)

    intent_id = paid["payment_intent"]["id"]
    [event] = await shop.sent_events("payment_intent.succeeded", intent_id)
    row = await shop.wait_webhook_state(event["id"], "processed")
    assert row.booking_id is not None
    assert str(row.booking_id) == booking["bookingId"]
    stored = await booking_row(shop.db, booking["bookingId"])
    assert (stored.status, stored.payment_status) == ("pending", "pending")
    assert stored.payment_intent_id is None
    trail = await audit_trail(shop.db, booking["bookingId"])
    [mismatch] = [row for row in trail if row.event_type == "payment_mismatch"]
    assert mismatch.data == {
        "paymentIntentId": intent_id,
        "paidCents": amount_cents,
        "paidCurrency": currency,
        "expectedCents": 15000,
        "expectedCurrency": "USD",
    }
    assert "payment_confirmed" not in [row.event_type for row in trail]
    # Checking again (a redelivery, the sweep) does not repeat the alert.
    await shop.deliver(signed_event("payment_intent.succeeded", paid["payment_intent"]))
    assert (await event_types(shop.db, booking["bookingId"])).count("payment_mismatch") == 1
