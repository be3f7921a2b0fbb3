"""Catching up: Airwallex down while confirming, lost webhooks, stale reads, expired links."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from sessionbook.core.db import SERVICE
from sessionbook.monitoring.sweep import run_sweep
from sessionbook.payments.models import WebhookEvent
from sessionbook.payments.repository import PaymentRepository
from tests.payments.shop import Shop, eventually
from tests.support.queries import audit_trail, booking_row, event_types, set_booking

LINK_READS = "/api/v1/pa/payment_links/"
LONG_AGO = timedelta(minutes=5)


async def test_airwallex_down_answers_502_and_the_redelivery_pays(shop: Shop) -> None:
    booking = await shop.book()
    # Every try of the server's client (one call and two retries) meets the outage.
    await shop.fault(LINK_READS, method="GET", status=503, count=3)

    paid = await shop.pay(booking["linkId"])

    [event] = await shop.sent_events("payment_intent.succeeded", paid["payment_intent"]["id"])
    await shop.wait_status(booking, status="paid", paymentStatus="paid")
    deliveries = await shop.wait_deliveries(event["id"], 2)
    assert [d["status_code"] for d in deliveries] == [502, 200]
    row = await shop.webhook_row(event["id"])
    assert (row.state, row.attempts, row.next_attempt_at) == ("processed", 2, None)
    assert (await event_types(shop.db, booking["bookingId"])).count("payment_confirmed") == 1


async def test_an_event_that_failed_is_kept_and_the_sweep_processes_it(shop: Shop) -> None:
    booking = await shop.book()
    paid = await shop.pay_quietly(booking["linkId"])
    [event] = await shop.sent_events("payment_intent.succeeded", paid["payment_intent"]["id"])
    await shop.fault(LINK_READS, method="GET", status=503, count=3)

    answer = await shop.deliver(json.dumps(event["payload"]).encode())

    assert answer.status_code == 502
    assert answer.json()["error"]["code"] == "provider_unavailable"
    row = await shop.webhook_row(event["id"])
    assert row.state == "failed"
    assert row.last_error == "provider_unavailable: service_unavailable"
    assert row.next_attempt_at is not None
    assert row.next_attempt_at > datetime.now(UTC)
    assert (await booking_row(shop.db, booking["bookingId"])).status == "pending"

    async with shop.server.local_services() as services:
        assert await services.payments.retry_webhook_events() == 0  # not due yet
        async with shop.db.transaction(SERVICE) as session:
            await session.execute(
                update(WebhookEvent)
                .where(WebhookEvent.event_id == event["id"])
                .values(next_attempt_at=datetime.now(UTC) - timedelta(seconds=1))
            )
        report = await run_sweep(services.sweep_duties)

    assert report.counts["webhooks_retried"] >= 1
    row = await shop.webhook_row(event["id"])
    assert (row.state, row.attempts) == ("processed", 2)
    assert (await shop.status(booking))["status"] == "paid"
    assert (await event_types(shop.db, booking["bookingId"])).count("payment_confirmed") == 1


async def test_the_sweep_finds_a_payment_whose_webhook_was_lost(shop: Shop) -> None:
    booking = await shop.book()
    await shop.pay_quietly(booking["linkId"])
    assert (await shop.status(booking))["status"] == "pending"

    async with shop.server.local_services() as services:
        report = await run_sweep(services.sweep_duties)
        again = await run_sweep(services.sweep_duties)

    assert report.counts["payments_reconciled"] >= 1
    assert again.counts["payments_reconciled"] == 0
    assert (await shop.status(booking))["paymentStatus"] == "paid"
    trail = await audit_trail(shop.db, booking["bookingId"])
    [confirmed] = [row for row in trail if row.event_type == "payment_confirmed"]
    assert confirmed.source == "sweep"
    assert (confirmed.from_status, confirmed.to_status) == ("pending", "paid")


async def test_a_status_read_rechecks_a_stale_pending_booking(shop: Shop) -> None:
    booking = await shop.book()
    await shop.pay_quietly(booking["linkId"])
    reads_before = await shop.requests_to("GET", LINK_READS)

    assert (await shop.status(booking))["status"] == "pending"  # checked less than a minute ago
    assert await shop.requests_to("GET", LINK_READS) == reads_before

    await set_booking(shop.db, booking["bookingId"], created_at=datetime.now(UTC) - LONG_AGO)
    status = await shop.status(booking)

    assert (status["status"], status["paymentStatus"]) == ("paid", "paid")
    trail = await audit_trail(shop.db, booking["bookingId"])
    assert [(row.event_type, row.source) for row in trail][-1] == (
        "payment_confirmed",
        "status_check",
    )


async def test_a_status_read_never_waits_long_for_airwallex(shop: Shop) -> None:
    booking = await shop.book()
    await set_booking(shop.db, booking["bookingId"], created_at=datetime.now(UTC) - LONG_AGO)
    reconciler = shop.server.services.payments.reconciler
    reconciler.read_check_timeout = 0.3
    await shop.fault(LINK_READS, method="GET", status=None, delay_seconds=1.5, count=1)
    try:
        started = time.monotonic()
        status = await shop.status(booking)
        elapsed = time.monotonic() - started
    finally:
        reconciler.read_check_timeout = 2.0

    assert status["status"] == "pending"
    assert elapsed < 1.2
    stored = await booking_row(shop.db, booking["bookingId"])
    assert stored.payment_checked_at is not None  # the sweep, not every read, tries next


async def test_an_expired_bookings_link_is_deactivated_once(shop: Shop) -> None:
    booking = await shop.book()
    await set_booking(
        shop.db, booking["bookingId"], expires_at=datetime.now(UTC) - timedelta(minutes=1)
    )

    async with shop.server.local_services() as services:
        first = await run_sweep(services.sweep_duties)
        await set_booking(
            shop.db, booking["bookingId"], payment_checked_at=datetime.now(UTC) - LONG_AGO
        )
        second = await run_sweep(services.sweep_duties)
        link = await services.payment_gateway.get_payment_link(booking["linkId"])

    assert first.counts["payment_links_deactivated"] >= 1
    assert second.counts["payment_links_deactivated"] == 0
    assert not link.active
    refused = await shop.hook("POST", f"/pay/{booking['linkId']}", {"outcome": "succeeded"})
    assert refused.status_code == 400
    stored = await booking_row(shop.db, booking["bookingId"])
    assert (stored.status, stored.payment_status) == ("expired", "pending")
    trail = await audit_trail(shop.db, booking["bookingId"])
    [deactivated] = [row for row in trail if row.event_type == "payment_link_deactivated"]
    assert deactivated.data == {"paymentLinkId": booking["linkId"], "outcome": "deactivated"}
    assert [row.event_type for row in trail][-2:] == [
        "booking_expired",
        "payment_link_deactivated",
    ]


async def test_a_payment_made_just_before_the_link_was_stopped_is_honoured(shop: Shop) -> None:
    booking = await shop.book()
    await shop.pay_quietly(booking["linkId"])
    await set_booking(
        shop.db, booking["bookingId"], expires_at=datetime.now(UTC) - timedelta(minutes=1)
    )
    async with shop.server.local_services() as services:
        await services.bookings.expire_due()
        # Checked a moment ago, so only the deactivation's last look can find the payment.
        await set_booking(shop.db, booking["bookingId"], payment_checked_at=None)
        await services.payments.deactivate_expired_links(batch_size=1000)

    await eventually(lambda: shop.status(booking), lambda seen: seen["status"] == "paid")
    types = await event_types(shop.db, booking["bookingId"])
    assert types[-3:] == ["booking_expired", "payment_confirmed", "payment_link_deactivated"]


async def test_a_stopped_link_is_stamped_and_leaves_the_sweeps_work(shop: Shop) -> None:
    booking = await shop.book()
    await set_booking(
        shop.db, booking["bookingId"], expires_at=datetime.now(UTC) - timedelta(minutes=1)
    )
    async with shop.server.local_services() as services:
        await services.bookings.expire_due()
        before = datetime.now(UTC)
        stopped = await services.payments.deactivate_expired_links(batch_size=1000)
        stored = await booking_row(shop.db, booking["bookingId"])
        # Long ago checked, so the recheck stamp cannot be what keeps it out: only the column.
        await set_booking(shop.db, booking["bookingId"], payment_checked_at=before - LONG_AGO)
        now = datetime.now(UTC)
        async with shop.db.transaction(SERVICE) as session:
            claimed = await PaymentRepository(session).claim_links_to_deactivate(
                now=now, stale_before=now - timedelta(seconds=1), limit=1000
            )
        again = await services.payments.deactivate_expired_links(batch_size=1000)

    assert stopped >= 1
    assert stored.payment_link_deactivated_at is not None
    assert stored.payment_link_deactivated_at >= before
    assert uuid.UUID(booking["bookingId"]) not in claimed
    assert again == 0
    types = await event_types(shop.db, booking["bookingId"])
    assert types.count("payment_link_deactivated") == 1
