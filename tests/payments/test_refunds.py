"""Refunds through PaymentService and the CLI: asked once, followed until settled."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from typer.testing import CliRunner

from sessionbook.bookings.errors import BookingNotFound
from sessionbook.cli.main import app as cli
from sessionbook.core.errors import ProviderUnavailable
from sessionbook.monitoring.sweep import run_sweep
from sessionbook.payments.errors import RefundNotAllowed
from tests.payments.shop import Shop
from tests.support.queries import audit_trail, booking_row, event_types, set_booking

REFUND_CREATE = "/api/v1/pa/refunds/create"


async def paid_booking(shop: Shop) -> dict[str, Any]:
    booking = await shop.book()
    await shop.pay(booking["linkId"])
    await shop.wait_status(booking, status="paid")
    return booking


async def test_a_full_refund_cancels_the_booking_and_repeating_it_refunds_nothing_more(
    shop: Shop,
) -> None:
    booking = await paid_booking(shop)
    refunds_before = await shop.refund_count()

    async with shop.server.local_services() as services:
        first = await services.payments.refund(
            booking["bookingId"], amount_cents=None, reason="customer cancelled", source="test"
        )
        again = await services.payments.refund(
            booking["bookingId"], amount_cents=None, reason="customer cancelled", source="test"
        )

    assert first.created
    assert (first.amount_cents, first.currency, first.status) == (15000, "USD", "received")
    assert first.request_id == f"refund-{booking['bookingId']}-1"
    assert first.provider_refund_id is not None
    assert not again.created
    assert (again.request_id, again.provider_refund_id) == (
        first.request_id,
        first.provider_refund_id,
    )
    status = await shop.wait_status(booking, status="cancelled", paymentStatus="refunded")
    assert status["paymentUrl"] is None
    assert await shop.refund_count() == refunds_before + 1
    stored = await booking_row(shop.db, booking["bookingId"])
    assert stored.refunded_cents == 15000
    assert stored.cancelled_at is not None
    [refund] = await shop.refunds_of(booking["bookingId"])
    assert (refund.status, refund.provider_refund_id) == ("settled", first.provider_refund_id)
    trail = await audit_trail(shop.db, booking["bookingId"])
    [requested] = [row for row in trail if row.event_type == "refund_requested"]
    assert (requested.source, requested.data["reason"]) == ("test", "customer cancelled")
    [settled] = [row for row in trail if row.event_type == "refund_settled"]
    assert (settled.from_status, settled.to_status) == ("paid", "cancelled")
    assert settled.data["full"] is True
    assert settled.data["toPaymentStatus"] == "refunded"

    async with shop.server.local_services() as services:
        later = await services.payments.refund(
            booking["bookingId"], amount_cents=None, reason="again", source="test"
        )
        with pytest.raises(RefundNotAllowed):
            await services.payments.refund(
                booking["bookingId"], amount_cents=100, reason="more", source="test"
            )
    assert (later.created, later.status) == (False, "settled")
    assert await shop.refund_count() == refunds_before + 1


async def test_a_partial_refund_keeps_the_booking_and_the_rest_can_follow(shop: Shop) -> None:
    booking = await paid_booking(shop)

    async with shop.server.local_services() as services:
        payments = services.payments
        part = await payments.refund(
            booking["bookingId"], amount_cents=5000, reason="goodwill", source="admin"
        )
        await shop.wait_refund(booking["bookingId"], part.request_id, "settled")
        with pytest.raises(RefundNotAllowed, match="At most 10000 cents"):
            await payments.refund(
                booking["bookingId"], amount_cents=10001, reason="too much", source="admin"
            )
        status = await shop.status(booking)
        assert (status["status"], status["paymentStatus"]) == ("paid", "paid")
        assert (await booking_row(shop.db, booking["bookingId"])).refunded_cents == 5000

        rest = await payments.refund(
            booking["bookingId"], amount_cents=None, reason="cancelled", source="admin"
        )

    assert (rest.amount_cents, rest.request_id) == (10000, f"refund-{booking['bookingId']}-2")
    await shop.wait_status(booking, status="cancelled", paymentStatus="refunded")
    settled = [
        row
        for row in await audit_trail(shop.db, booking["bookingId"])
        if row.event_type == "refund_settled"
    ]
    assert [(row.data["full"], row.to_status) for row in settled] == [
        (False, "paid"),
        (True, "cancelled"),
    ]
    assert [row.data["refundedCents"] for row in settled] == [5000, 15000]


async def test_refunds_that_cannot_be_made_are_refused_clearly(shop: Shop) -> None:
    unpaid = await shop.book()
    async with shop.server.local_services() as services:
        payments = services.payments
        with pytest.raises(RefundNotAllowed, match="no payment to refund"):
            await payments.refund(unpaid["bookingId"], amount_cents=None, reason="x", source="t")
        with pytest.raises(BookingNotFound):
            await payments.refund("not-a-booking-id", amount_cents=None, reason="x", source="t")
    assert await shop.refunds_of(unpaid["bookingId"]) == []
    assert "refund_requested" not in await event_types(shop.db, unpaid["bookingId"])


async def test_a_refund_asked_while_airwallex_is_down_is_sent_by_the_sweep(shop: Shop) -> None:
    booking = await paid_booking(shop)
    refunds_before = await shop.refund_count()
    await shop.fault(REFUND_CREATE, method="POST", status=503, count=3)

    async with shop.server.local_services() as services:
        with pytest.raises(ProviderUnavailable):
            await services.payments.refund(
                booking["bookingId"], amount_cents=None, reason="cancelled", source="test"
            )
        [waiting] = await shop.refunds_of(booking["bookingId"])
        assert (waiting.status, waiting.provider_refund_id) == ("requested", None)
        assert await shop.refund_count() == refunds_before
        # The sweep sends what waits, after a grace minute (aged here by hand).
        await shop.age_refunds(booking["bookingId"])
        report = await run_sweep(services.sweep_duties)

    assert report.counts["refunds_followed"] >= 1
    await shop.wait_status(booking, status="cancelled", paymentStatus="refunded")
    assert await shop.refund_count() == refunds_before + 1
    [refund] = await shop.refunds_of(booking["bookingId"])
    assert (refund.status, refund.request_id) == ("settled", waiting.request_id)
    types = await event_types(shop.db, booking["bookingId"])
    assert (types.count("refund_requested"), types.count("refund_settled")) == (1, 1)


async def test_a_refund_whose_answers_were_lost_is_recognised_not_repeated(shop: Shop) -> None:
    booking = await paid_booking(shop)
    refunds_before = await shop.refund_count()
    # Airwallex makes the refund but every answer is lost: the worst case for a retry.
    await shop.fault(REFUND_CREATE, method="POST", status=503, count=3, when="after")

    async with shop.server.local_services() as services:
        payments = services.payments
        with pytest.raises(ProviderUnavailable):
            await payments.refund(
                booking["bookingId"], amount_cents=None, reason="cancelled", source="test"
            )
        retried = await payments.refund(
            booking["bookingId"], amount_cents=None, reason="cancelled", source="test"
        )

    assert not retried.created
    assert retried.provider_refund_id is not None
    await shop.wait_status(booking, status="cancelled", paymentStatus="refunded")
    assert await shop.refund_count() == refunds_before + 1
    [refund] = await shop.refunds_of(booking["bookingId"])
    assert (refund.status, refund.request_id) == ("settled", retried.request_id)
    types = await event_types(shop.db, booking["bookingId"])
    assert (types.count("refund_requested"), types.count("refund_settled")) == (1, 1)


async def test_the_refund_command_prints_the_result_and_is_idempotent(
    shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The command sets up process-wide logging; other tests rely on the suite's own set-up.
    monkeypatch.setattr("sessionbook.core.logs.configure_logging", lambda **_: None)
    booking = await paid_booking(shop)
    env = {
        "DATABASE_URL": shop.server.settings.database_url,
        "SITE_URL": shop.server.settings.site_url,
        "LOG_LEVEL": "warning",
    }
    runner = CliRunner()

    def run(*args: str) -> Any:
        return runner.invoke(cli, ["refund", booking["bookingId"], *args], env=env)

    first = await asyncio.to_thread(run, "--amount", "15000", "--reason", "cancelled by phone")
    second = await asyncio.to_thread(run, "--json")

    assert first.exit_code == 0, first.output
    assert f"refund requested: $150.00 of booking {booking['bookingId']}" in first.output
    assert f"request id: refund-{booking['bookingId']}-1" in first.output
    assert second.exit_code == 0, second.output
    printed = json.loads(second.output)
    assert (printed["created"], printed["requestId"]) == (
        False,
        f"refund-{booking['bookingId']}-1",
    )
    await shop.wait_status(booking, status="cancelled", paymentStatus="refunded")
    [requested] = [
        row
        for row in await audit_trail(shop.db, booking["bookingId"])
        if row.event_type == "refund_requested"
    ]
    assert (requested.source, requested.data["reason"]) == ("cli", "cancelled by phone")

    unknown = await asyncio.to_thread(
        runner.invoke, cli, ["refund", "00000000-0000-0000-0000-000000000000"], env=env
    )
    assert unknown.exit_code == 1
    assert "booking_not_found" in unknown.output


async def test_a_payment_for_a_cancelled_booking_is_refunded_automatically(shop: Shop) -> None:
    booking = await shop.book()
    paid = await shop.pay_quietly(booking["linkId"])
    # Cancelled meanwhile (say, by the coach); then the payment's webhook arrives.
    await set_booking(shop.db, booking["bookingId"], status="cancelled")
    [event] = await shop.sent_events("payment_intent.succeeded", paid["payment_intent"]["id"])

    await shop.resend(event["id"])

    await shop.wait_status(booking, status="cancelled", paymentStatus="refunded")
    trail = await audit_trail(shop.db, booking["bookingId"])
    types = [row.event_type for row in trail]
    assert types[-3:] == ["payment_on_cancelled_booking", "refund_requested", "refund_settled"]
    assert trail[-2].source == "system"
    assert (await booking_row(shop.db, booking["bookingId"])).refunded_cents == 15000
