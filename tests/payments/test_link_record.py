"""The link's own record pays a booking; a delivery refused as stale is caught by the next sweep.

Airwallex does not document that the intent its payment page makes names the link (or carries
our reference or metadata), nor whether a retried webhook is signed with a fresh `x-timestamp`.
The stand-in is switched to the unfriendly side of both here.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from sessionbook.monitoring.sweep import run_sweep
from sessionbook.payments.airwallex.signature import sign
from tests.payments.conftest import API_KEY, CLIENT_ID, WEBHOOK_SECRET, Receiver, Sandbox
from tests.payments.shop import Shop, signed_event
from tests.support.queries import audit_trail, booking_row, event_types, set_booking

LINK_FIELDS = ("payment_link_id", "merchant_order_id", "metadata")
STALE_SECONDS = 600


@pytest.fixture
async def shop_switched(shop: Shop) -> AsyncIterator[Shop]:
    """The shop, its stand-in's undocumented behaviours put back after the test."""
    yield shop
    await shop.hook(
        "POST",
        "/behaviour",
        {"intents_name_their_link": True, "webhook_signed_seconds_ago": 0},
    )


async def switch(shop: Shop, **behaviour: Any) -> None:
    answer = await shop.hook("POST", "/behaviour", behaviour)
    assert answer.status_code == 200, answer.text


async def confirmations(shop: Shop, booking: dict[str, Any]) -> list[str]:
    trail = await audit_trail(shop.db, booking["bookingId"])
    return [row.source for row in trail if row.event_type == "payment_confirmed"]


# -- intents that name no link -------------------------------------------------------------


async def test_the_webhook_pays_a_booking_whose_intent_names_no_link(shop_switched: Shop) -> None:
    shop = shop_switched
    await switch(shop, intents_name_their_link=False)
    booking = await shop.book()

    paid = await shop.pay(booking["linkId"])

    intent = paid["payment_intent"]
    assert not set(LINK_FIELDS) & set(intent)
    await shop.wait_status(booking, status="paid", paymentStatus="paid")
    assert await confirmations(shop, booking) == ["webhook"]
    stored = await booking_row(shop.db, booking["bookingId"])
    assert stored.payment_intent_id == intent["id"]
    [event] = await shop.sent_events("payment_intent.succeeded", intent["id"])
    assert not set(LINK_FIELDS) & set(event["payload"]["data"]["object"])
    row = await shop.wait_webhook_state(event["id"], "processed")
    assert row.booking_id == stored.id


async def test_the_sweep_pays_a_booking_whose_intent_names_no_link(shop_switched: Shop) -> None:
    shop = shop_switched
    await switch(shop, intents_name_their_link=False)
    booking = await shop.book()
    await shop.pay_quietly(booking["linkId"])
    assert (await shop.status(booking))["status"] == "pending"

    async with shop.server.local_services() as services:
        await run_sweep(services.sweep_duties)
        await set_booking(shop.db, booking["bookingId"], payment_checked_at=None)
        await run_sweep(services.sweep_duties)

    assert (await shop.status(booking))["paymentStatus"] == "paid"
    assert await confirmations(shop, booking) == ["sweep"]


@pytest.mark.parametrize("path", ["webhook", "sweep"])
async def test_a_link_paid_at_another_price_than_the_booking_is_refused(
    shop_switched: Shop, path: str
) -> None:
    shop = shop_switched
    await switch(shop, intents_name_their_link=False)
    booking = await shop.book()
    # The booking now expects 149.99 USD; its link still asks 150.00.
    await set_booking(shop.db, booking["bookingId"], amount_cents=14999)

    if path == "webhook":
        paid = await shop.pay(booking["linkId"])
        [event] = await shop.sent_events("payment_intent.succeeded", paid["payment_intent"]["id"])
        await shop.wait_webhook_state(event["id"], "processed")
    else:
        await shop.pay_quietly(booking["linkId"])
        async with shop.server.local_services() as services:
            await run_sweep(services.sweep_duties)

    stored = await booking_row(shop.db, booking["bookingId"])
    assert (stored.status, stored.payment_status) == ("pending", "pending")
    types = await event_types(shop.db, booking["bookingId"])
    assert "payment_mismatch" in types
    assert "payment_confirmed" not in types


async def test_an_intent_the_link_does_not_name_is_not_taken_for_the_booking(
    shop_switched: Shop,
) -> None:
    shop = shop_switched
    await switch(shop, intents_name_their_link=False)
    booking = await shop.book()
    # Paid through another link at the same price: its intent names nothing of ours, and
    # the booking's own link stays unpaid.
    other_link = await shop.extra_link(booking["bookingId"], 15000, "USD")
    paid = await shop.pay_quietly(other_link)
    event = signed_event("payment_intent.succeeded", paid["payment_intent"])

    answer = await shop.deliver(event)

    assert answer.json() == {"received": True, "state": "ignored"}
    stored = await booking_row(shop.db, booking["bookingId"])
    assert (stored.status, stored.payment_status) == ("pending", "pending")


# -- deliveries refused as stale -----------------------------------------------------------


@pytest.mark.parametrize("intents_name_their_link", [True, False])
async def test_a_delivery_refused_as_stale_is_paid_by_the_next_sweep_pass(
    shop_switched: Shop, intents_name_their_link: bool
) -> None:
    shop = shop_switched
    await switch(
        shop,
        intents_name_their_link=intents_name_their_link,
        webhook_signed_seconds_ago=STALE_SECONDS,
    )
    booking = await shop.book()
    # Just checked: the sweep would not look again for a minute by itself.
    await set_booking(shop.db, booking["bookingId"], payment_checked_at=datetime.now(UTC))

    paid = await shop.pay(booking["linkId"])

    [event] = await shop.sent_events("payment_intent.succeeded", paid["payment_intent"]["id"])
    attempts = len(shop.airwallex.webhooks.retry_delays)
    deliveries = await shop.wait_deliveries(event["id"], attempts)
    assert [d["status_code"] for d in deliveries] == [401] * attempts
    assert await shop.webhook_rows(event["id"]) == []
    assert (await booking_row(shop.db, booking["bookingId"])).status == "pending"

    async with shop.server.local_services() as services:
        report = await run_sweep(services.sweep_duties)
        again = await run_sweep(services.sweep_duties)

    assert report.counts["payments_reconciled"] >= 1
    assert again.counts["payments_reconciled"] == 0
    assert (await shop.status(booking))["paymentStatus"] == "paid"
    assert await confirmations(shop, booking) == ["sweep"]


async def test_a_forged_stale_delivery_makes_nothing_due(shop_switched: Shop) -> None:
    shop = shop_switched
    booking = await shop.book()
    checked_at = datetime.now(UTC)
    await set_booking(shop.db, booking["bookingId"], payment_checked_at=checked_at)
    event = signed_event(
        "payment_intent.succeeded",
        {
            "id": "int_forged",
            "payment_link_id": booking["linkId"],
            "amount": 150,
            "currency": "USD",
        },
    )
    stale = int(time.time() * 1000) - STALE_SECONDS * 1000
    body = json.dumps(event).encode()

    answer = await shop.deliver(body, timestamp_ms=stale, signature=sign("other", str(stale), body))

    assert answer.status_code == 401
    assert (await booking_row(shop.db, booking["bookingId"])).payment_checked_at == checked_at


# -- the stand-in's switches ---------------------------------------------------------------


async def test_the_stand_in_signs_deliveries_as_old_as_asked(
    sandbox: Sandbox, receiver: Receiver
) -> None:
    answer = await sandbox.hook(
        "POST", "/_sandbox/behaviour", {"webhook_signed_seconds_ago": STALE_SECONDS}
    )
    assert answer.json()["webhook_signed_seconds_ago"] == STALE_SECONDS
    sent_at_ms = int(time.time() * 1000)
    link = await _link(sandbox)
    await sandbox.pay(link)

    [hook] = await receiver.wait_for("payment_intent.succeeded")
    stamp = hook.headers["x-timestamp"]
    assert abs(sent_at_ms - STALE_SECONDS * 1000 - int(stamp)) < 5_000
    assert hook.headers["x-signature"] == sign(WEBHOOK_SECRET, stamp, hook.body)


async def test_the_stand_in_makes_intents_without_link_fields_until_reset(
    sandbox: Sandbox,
) -> None:
    switched = await sandbox.hook("POST", "/_sandbox/behaviour", {"intents_name_their_link": False})
    assert switched.json()["intents_name_their_link"] is False
    bare = (await sandbox.pay(await _link(sandbox))).json()["payment_intent"]
    assert not set(LINK_FIELDS) & set(bare)

    await sandbox.hook("POST", "/_sandbox/reset")
    named = (await sandbox.pay(await _link(sandbox))).json()["payment_intent"]
    assert set(LINK_FIELDS) <= set(named)


@pytest.mark.parametrize(
    "body",
    [
        {"intents_name_their_link": "no"},
        {"webhook_signed_seconds_ago": -1},
        {"webhook_signed_seconds_ago": True},
    ],
)
async def test_the_stand_in_refuses_bad_switches(sandbox: Sandbox, body: dict[str, Any]) -> None:
    answer = await sandbox.hook("POST", "/_sandbox/behaviour", body)
    assert answer.status_code == 400
    assert answer.json()["code"] == "validation_error"


async def _link(sandbox: Sandbox) -> str:
    login = await sandbox.http.post(
        f"{sandbox.base_url}/api/v1/authentication/login",
        headers={"x-client-id": CLIENT_ID, "x-api-key": API_KEY},
    )
    created = await sandbox.http.post(
        f"{sandbox.base_url}/api/v1/pa/payment_links/create",
        headers={"Authorization": f"Bearer {login.json()['token']}"},
        json={"title": "Single", "reusable": False, "amount": 150, "currency": "USD"},
    )
    assert created.status_code == 200, created.text
    link_id: str = created.json()["id"]
    return link_id
