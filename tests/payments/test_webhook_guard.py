"""The webhook's door: signatures, timestamps and bodies; events that must change nothing."""

from __future__ import annotations

import json
import time
import uuid

import httpx
import pytest

from sessionbook.payments.airwallex.signature import sign
from tests.payments.shop import Shop, signed_event
from tests.support.queries import booking_row, event_types


def assert_error(answer: httpx.Response, status: int, code: str) -> None:
    assert answer.status_code == status, answer.text
    assert answer.json()["error"]["code"] == code


@pytest.mark.parametrize(
    "tamper",
    ["forged", "stale", "future", "missing_signature", "missing_timestamp", "no_headers"],
)
async def test_unsigned_or_stale_deliveries_are_refused_and_not_stored(
    shop: Shop, tamper: str
) -> None:
    booking = await shop.book()
    paid = await shop.pay_quietly(booking["linkId"])
    event = signed_event("payment_intent.succeeded", paid["payment_intent"])
    body = json.dumps(event).encode()
    now_ms = int(time.time() * 1000)
    if tamper == "forged":
        answer = await shop.deliver(body, signature=sign("not-our-secret", str(now_ms), body))
    elif tamper == "stale":
        answer = await shop.deliver(body, timestamp_ms=now_ms - 301_000)
    elif tamper == "future":
        answer = await shop.deliver(body, timestamp_ms=now_ms + 301_000)
    elif tamper == "missing_signature":
        answer = await shop.deliver(body, headers={"x-timestamp": str(now_ms)})
    elif tamper == "missing_timestamp":
        answer = await shop.deliver(body, headers={"x-signature": "a" * 64})
    else:
        answer = await shop.deliver(body, headers={"content-type": "application/json"})

    assert_error(answer, 401, "invalid_signature")
    assert await shop.webhook_rows(event["id"]) == []
    stored = await booking_row(shop.db, booking["bookingId"])
    assert (stored.status, stored.payment_status) == ("pending", "pending")
    assert "payment_confirmed" not in await event_types(shop.db, booking["bookingId"])


async def test_a_signature_made_for_other_bytes_is_refused(shop: Shop) -> None:
    event = signed_event("payment_intent.succeeded", {"id": "int_x"})
    other = json.dumps(signed_event("payment_intent.succeeded", {"id": "int_y"})).encode()
    stamp = int(time.time() * 1000)

    answer = await shop.deliver(
        event, timestamp_ms=stamp, signature=sign(shop.secret, str(stamp), other)
    )

    assert_error(answer, 401, "invalid_signature")
    assert await shop.webhook_rows(event["id"]) == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"{not json", "body"),
        (b"[1, 2, 3]", "body"),
        (b'{"id": "evt_nan", "name": "payment_intent.succeeded", "x": NaN}', "body"),
        (b'{"name": "payment_intent.succeeded", "data": {}}', "id"),
        (b'{"id": "evt_no_name", "data": {}}', "name"),
        (b'{"id": "evt_latin1", "name": "caf\xe9"}', "body"),
        (b"[" * 10_000 + b"]" * 10_000, "body"),
    ],
)
async def test_malformed_but_signed_bodies_are_validation_errors(
    shop: Shop, body: bytes, field: str
) -> None:
    before = await shop.webhook_row_count()

    answer = await shop.deliver(body)

    assert_error(answer, 400, "validation_error")
    assert field in answer.json()["error"]["fields"]
    assert await shop.webhook_row_count() == before


async def test_a_huge_body_is_refused(shop: Shop) -> None:
    event = signed_event("payment_intent.succeeded", {"id": "int_big", "padding": "x" * 70_000})

    answer = await shop.deliver(event)

    assert_error(answer, 413, "payload_too_large")
    assert await shop.webhook_rows(event["id"]) == []


async def test_an_unhandled_event_type_is_acknowledged_and_recorded(shop: Shop) -> None:
    event = signed_event("payout.transfer.created", {"id": "tfr_123"})

    answer = await shop.deliver(event)

    assert answer.status_code == 200
    assert answer.json() == {"received": True, "state": "ignored"}
    row = await shop.webhook_row(event["id"])
    assert (row.state, row.event_type, row.last_error) == (
        "ignored",
        "payout.transfer.created",
        "unhandled event type",
    )
    assert row.payload["data"]["object"]["id"] == "tfr_123"


async def test_a_payment_for_no_booking_of_ours_is_acknowledged_and_recorded(shop: Shop) -> None:
    stranger = await shop.extra_link(str(uuid.uuid4()), 15000, "USD")

    paid = await shop.pay(stranger)

    [event] = await shop.sent_events("payment_intent.succeeded", paid["payment_intent"]["id"])
    row = await shop.wait_webhook_state(event["id"], "ignored")
    assert (row.last_error, row.booking_id) == ("unknown payment", None)
    assert [d["status_code"] for d in await shop.wait_deliveries(event["id"], 1)] == [200]


async def test_a_booking_token_in_an_event_finds_nothing(shop: Shop) -> None:
    booking = await shop.book()
    event = signed_event(
        "payment.succeeded",
        {"id": "int_forged", "metadata": {"booking_token": booking["bookingToken"]}},
    )

    answer = await shop.deliver(event)

    assert answer.status_code == 200
    assert (await shop.webhook_row(event["id"])).last_error == "unknown payment"
    assert (await shop.status(booking))["paymentStatus"] == "pending"
