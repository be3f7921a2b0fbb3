"""Retries where they are safe, no duplicates where they are not, clear failure when down."""

from __future__ import annotations

import pytest

from sessionbook.payments.airwallex.client import AirwallexClient
from sessionbook.payments.airwallex.errors import PaymentProviderUnavailable
from sessionbook.payments.airwallex.gateway import PaymentLink
from tests.payments.conftest import ClientFactory, Sandbox, new_link
from tests.support.live_server import free_port

LINKS = "/api/v1/pa/payment_links"


async def test_transient_5xx_on_reads_is_retried(
    sandbox: Sandbox, client: AirwallexClient, link: PaymentLink
) -> None:
    await sandbox.fault(f"{LINKS}/", status=503, count=2, method="GET")
    assert (await client.get_payment_link(link.id)).id == link.id
    assert await sandbox.requests_to("GET", f"{LINKS}/") == 3


async def test_persistent_5xx_becomes_unavailable_after_bounded_retries(
    sandbox: Sandbox, client: AirwallexClient, link: PaymentLink
) -> None:
    await sandbox.fault(f"{LINKS}/", status=502, count=10, method="GET")
    with pytest.raises(PaymentProviderUnavailable) as failure:
        await client.get_payment_link(link.id)
    assert failure.value.status_code == 502
    assert await sandbox.requests_to("GET", f"{LINKS}/") == 3  # 1 + max_retries


async def test_rate_limit_is_retried(
    sandbox: Sandbox, client: AirwallexClient, link: PaymentLink
) -> None:
    await sandbox.fault(f"{LINKS}/", status=429, count=1, method="GET")
    assert (await client.get_payment_link(link.id)).id == link.id


async def test_timeouts_become_unavailable(sandbox: Sandbox, make_client: ClientFactory) -> None:
    link = await new_link(make_client())
    impatient = make_client(timeout=0.2)
    await sandbox.fault(f"{LINKS}/", status=None, delay_seconds=0.6, count=3, method="GET")
    with pytest.raises(PaymentProviderUnavailable) as failure:
        await impatient.get_payment_link(link.id)
    assert failure.value.code == "timeout"


async def test_nobody_listening_becomes_unavailable(make_client: ClientFactory) -> None:
    nowhere = make_client(f"http://127.0.0.1:{free_port()}")
    with pytest.raises(PaymentProviderUnavailable) as failure:
        await nowhere.get_payment_link("anything")
    assert failure.value.code == "network"
    assert failure.value.status_code == 0


async def test_wrong_base_url_is_not_mistaken_for_a_missing_link(
    sandbox: Sandbox, make_client: ClientFactory
) -> None:
    misconfigured = make_client(sandbox.base_url + "/nope")
    with pytest.raises(PaymentProviderUnavailable):
        await misconfigured.get_payment_link("anything")


async def test_failed_link_creation_is_retried_without_duplicates(
    sandbox: Sandbox, client: AirwallexClient
) -> None:
    await sandbox.fault(f"{LINKS}/create", status=500, count=1)
    link = await new_link(client)
    assert link.status == "UNPAID"
    assert (await sandbox.stats())["links"] == 1
    assert await sandbox.requests_to("POST", f"{LINKS}/create") == 2


async def test_lost_answer_to_link_creation_finds_the_link_made(
    sandbox: Sandbox, client: AirwallexClient
) -> None:
    await sandbox.fault(f"{LINKS}/create", status=502, count=1, when="after")
    link = await new_link(client, booking_id="bk_lost")

    assert link.reference == "bk_lost"
    assert (await sandbox.stats())["links"] == 1  # the retry found it instead of making another
    assert await sandbox.requests_to("POST", f"{LINKS}/create") == 1


async def test_lost_answer_to_refund_returns_the_refund_made(
    sandbox: Sandbox, client: AirwallexClient, link: PaymentLink
) -> None:
    intent_id = (await sandbox.pay(link.id)).json()["payment_intent"]["id"]
    await sandbox.fault("/api/v1/pa/refunds/create", status=502, count=1, when="after")

    refund = await client.create_refund(
        payment_intent_id=intent_id,
        amount_cents=1999,
        currency="USD",
        request_id="refund-bk_0001",
        reason="customer asked",
    )
    assert refund.request_id == "refund-bk_0001"
    assert refund.amount_cents == 1999
    assert (await sandbox.stats())["refunds"] == 1
    # And a later replay with the same request_id gives the same refund, not a second one.
    again = await client.create_refund(
        payment_intent_id=intent_id,
        amount_cents=1999,
        currency="USD",
        request_id="refund-bk_0001",
        reason="customer asked",
    )
    assert again.id == refund.id
    assert (await sandbox.stats())["refunds"] == 1


async def test_deactivating_twice_is_harmless(
    sandbox: Sandbox, client: AirwallexClient, link: PaymentLink
) -> None:
    await client.deactivate_payment_link(link.id)
    await client.deactivate_payment_link(link.id)
    assert (await client.get_payment_link(link.id)).active is False


async def test_link_creation_gives_up_cleanly_when_airwallex_stays_down(
    sandbox: Sandbox, client: AirwallexClient
) -> None:
    await sandbox.fault(f"{LINKS}/create", status=503, count=10)
    with pytest.raises(PaymentProviderUnavailable):
        await new_link(client)
    assert (await sandbox.stats())["links"] == 0
    assert await sandbox.requests_to("POST", f"{LINKS}/create") == 3
