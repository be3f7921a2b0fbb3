"""Paying, declining and refunding on the stand-in, observed through the client and webhooks."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

from sessionbook.payments.airwallex.client import AirwallexClient
from sessionbook.payments.airwallex.gateway import PaymentLink
from sessionbook.payments.airwallex.signature import verify
from tests.payments.conftest import (
    RETURN_URL,
    WEBHOOK_SECRET,
    ClientFactory,
    ReceivedWebhook,
    Receiver,
    Sandbox,
    SandboxFactory,
    new_link,
)
from tests.payments.shop import eventually


def signed_by_airwallex(hook: ReceivedWebhook) -> bool:
    return verify(
        WEBHOOK_SECRET,
        hook.headers.get("x-timestamp"),
        hook.headers.get("x-signature"),
        hook.body,
        now_ms=int(time.time() * 1000),
    )


async def test_paying_on_the_hosted_page(
    sandbox: Sandbox, client: AirwallexClient, link: PaymentLink, receiver: Receiver
) -> None:
    assert link.url == f"{sandbox.base_url}/pay/{link.id}"
    page = await sandbox.http.get(link.url)
    assert page.status_code == 200
    assert "SANDBOX — no real money" in page.text
    assert "Single session" in page.text
    assert "19.99 USD" in page.text
    assert "<script" not in page.text
    csp = page.headers["content-security-policy"]
    assert "unsafe-inline" not in csp
    assert "form-action 'self' http://shop.example" in csp
    assert page.headers["referrer-policy"] == "no-referrer"

    paid = await sandbox.http.post(link.url, data={"action": "pay"})
    assert paid.status_code == 303
    assert paid.headers["location"] == RETURN_URL

    after = await client.get_payment_link(link.id)
    assert after.paid
    assert after.latest_successful_payment_intent_id is not None
    intent = await client.get_payment_intent(after.latest_successful_payment_intent_id)
    assert intent.succeeded
    assert (intent.amount_cents, intent.currency) == (1999, "USD")
    assert intent.payment_link_id == link.id
    assert intent.metadata["booking_id"] == "bk_0001"

    [hook] = await receiver.wait_for("payment_intent.succeeded")
    assert signed_by_airwallex(hook)
    event = hook.payload
    assert event["id"].startswith("evt_")
    assert set(event) >= {"id", "name", "account_id", "data", "created_at", "version"}
    assert event["data"]["object"]["id"] == intent.id
    assert event["data"]["object"]["payment_link_id"] == link.id
    assert event["data"]["object"]["amount"] == 19.99


async def test_paying_through_the_json_hook_in_currencies_without_cents(
    sandbox: Sandbox, client: AirwallexClient, receiver: Receiver
) -> None:
    yen = await new_link(client, booking_id="bk_jpy", amount_cents=5000, currency="JPY")
    dinar = await new_link(client, booking_id="bk_kwd", amount_cents=1234, currency="KWD")
    assert "1.234 KWD" in (await sandbox.http.get(dinar.url)).text

    answer = await sandbox.pay(yen.id)
    assert answer.status_code == 200
    intent = await client.get_payment_intent(answer.json()["payment_intent"]["id"])
    assert (intent.amount_cents, intent.currency, intent.succeeded) == (5000, "JPY", True)
    [hook] = await receiver.wait_for("payment_intent.succeeded")
    assert hook.payload["data"]["object"]["amount"] == 5000
    assert [i.id for i in await client.find_payment_intents(merchant_order_id="bk_jpy")] == [
        intent.id
    ]


async def test_webhooks_are_delivered_again_until_acknowledged(
    sandbox: Sandbox, link: PaymentLink, receiver: Receiver
) -> None:
    receiver.failures["payment_intent.succeeded"] = 2
    await sandbox.pay(link.id)

    hooks = await receiver.wait_for("payment_intent.succeeded", count=3)
    assert all(signed_by_airwallex(hook) for hook in hooks)
    assert len({hook.payload["id"] for hook in hooks}) == 1  # the same event each time
    assert len({hook.body for hook in hooks}) == 1
    # A delivery is logged once its answer is back, a moment after the receiver saw it.
    deliveries = await eventually(
        sandbox.deliveries,
        lambda seen: sum(d["event_name"] == "payment_intent.succeeded" for d in seen) >= 3,
    )
    attempts = [d for d in deliveries if d["event_name"] == "payment_intent.succeeded"]
    assert [(d["attempt"], d["status_code"]) for d in attempts] == [(1, 500), (2, 500), (3, 200)]


async def test_an_event_can_be_replayed(
    sandbox: Sandbox, link: PaymentLink, receiver: Receiver
) -> None:
    await sandbox.pay(link.id)
    [first] = await receiver.wait_for("payment_intent.succeeded")
    replay = await sandbox.hook("POST", f"/_sandbox/webhook-events/{first.payload['id']}/resend")
    assert replay.status_code == 202

    hooks = await receiver.wait_for("payment_intent.succeeded", count=2)
    assert hooks[1].body == first.body
    assert signed_by_airwallex(hooks[1])


async def test_a_declined_card_leaves_the_link_payable(
    sandbox: Sandbox, client: AirwallexClient, link: PaymentLink, receiver: Receiver
) -> None:
    declined = await sandbox.http.post(link.url, data={"action": "decline"})
    assert declined.status_code == 303
    page = await sandbox.http.get(declined.headers["location"])
    assert "declined" in page.text
    assert 'value="pay"' in page.text

    [hook] = await receiver.wait_for("payment_attempt.authorization_failed")
    assert signed_by_airwallex(hook)
    intent_id = hook.payload["data"]["object"]["payment_intent_id"]
    intent = await client.get_payment_intent(intent_id)
    assert intent.status == "REQUIRES_PAYMENT_METHOD"
    assert (await client.get_payment_link(link.id)).status == "UNPAID"

    paid = await sandbox.pay(link.id)
    assert paid.json()["payment_intent"]["id"] == intent_id
    assert (await client.get_payment_intent(intent_id)).succeeded


async def test_refunds_settle_and_say_so(
    sandbox: Sandbox, client: AirwallexClient, link: PaymentLink, receiver: Receiver
) -> None:
    intent_id = (await sandbox.pay(link.id)).json()["payment_intent"]["id"]
    refund = await client.create_refund(
        payment_intent_id=intent_id,
        amount_cents=1999,
        currency="USD",
        request_id="refund-bk_0001",
        reason="cancelled by coach",
    )
    assert (refund.status, refund.amount_cents, refund.payment_intent_id) == (
        "RECEIVED",
        1999,
        intent_id,
    )
    for name in ("refund.received", "refund.accepted", "refund.settled"):
        [hook] = await receiver.wait_for(name)
        assert hook.payload["data"]["object"]["id"] == refund.id
        assert signed_by_airwallex(hook)
    assert (await client.get_refund(refund.id)).status == "SETTLED"


async def test_a_refund_can_be_made_to_fail(
    sandbox: Sandbox, client: AirwallexClient, link: PaymentLink, receiver: Receiver
) -> None:
    intent_id = (await sandbox.pay(link.id)).json()["payment_intent"]["id"]
    await sandbox.hook("POST", "/_sandbox/refund-failures", {"count": 1})
    refund = await client.create_refund(
        payment_intent_id=intent_id,
        amount_cents=1000,
        currency="USD",
        request_id="refund-fails",
        reason="test",
    )
    await receiver.wait_for("refund.failed")
    assert (await client.get_refund(refund.id)).status == "FAILED"


async def test_a_deactivated_link_cannot_be_paid(
    sandbox: Sandbox, client: AirwallexClient, link: PaymentLink
) -> None:
    await client.deactivate_payment_link(link.id)

    page = await sandbox.http.get(link.url)
    assert "deactivated" in page.text
    assert 'value="pay"' not in page.text
    refused = await sandbox.http.post(link.url, data={"action": "pay"})
    assert refused.status_code == 409
    hook = await sandbox.pay(link.id)
    assert hook.status_code == 400
    assert hook.json()["code"] == "invalid_status_for_operation"
    after = await client.get_payment_link(link.id)
    assert (after.active, after.status) == (False, "UNPAID")
    assert (await sandbox.stats())["payment_intents"] == 0


async def test_an_expired_link_cannot_be_paid(sandbox: Sandbox, client: AirwallexClient) -> None:
    link = await new_link(client, expires_in=timedelta(seconds=2))
    await asyncio.sleep(2.1)
    assert "expired" in (await sandbox.http.get(link.url)).text
    refused = await sandbox.pay(link.id)
    assert refused.status_code == 400
    assert "expired" in refused.json()["message"]


async def test_a_paid_link_cannot_be_paid_twice(
    sandbox: Sandbox, client: AirwallexClient, link: PaymentLink
) -> None:
    assert (await sandbox.pay(link.id)).status_code == 200
    second = await sandbox.http.post(link.url, data={"action": "pay"})
    assert second.status_code == 409
    assert "already been paid" in second.text
    assert (await sandbox.stats())["payment_intents"] == 1


async def test_unknown_link_page_is_a_404(sandbox: Sandbox) -> None:
    page = await sandbox.http.get(f"{sandbox.base_url}/pay/no-such-link")
    assert page.status_code == 404
    assert "not found" in page.text


async def test_without_a_webhook_url_events_are_recorded_not_sent(
    make_sandbox: SandboxFactory, make_client: ClientFactory, receiver: Receiver
) -> None:
    quiet = await make_sandbox(webhook_url=None)
    link = await new_link(make_client(quiet.base_url))
    await quiet.pay(link.id)
    events = (await quiet.hook("GET", "/_sandbox/webhook-events")).json()["items"]
    assert [event["name"] for event in events] == [
        "payment_intent.created",
        "payment_intent.succeeded",
    ]
    assert receiver.received == []
