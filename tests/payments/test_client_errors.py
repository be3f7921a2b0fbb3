"""Airwallex's error answers reach the caller as typed errors carrying Airwallex's own code."""

from __future__ import annotations

import pytest

from sessionbook.payments.airwallex.client import AirwallexClient
from sessionbook.payments.airwallex.errors import (
    PaymentNotFound,
    PaymentProviderError,
    PaymentRejected,
)
from sessionbook.payments.airwallex.gateway import PaymentLink
from tests.payments.conftest import Sandbox, new_link


async def test_unknown_objects_are_not_found(client: AirwallexClient) -> None:
    with pytest.raises(PaymentNotFound) as link_failure:
        await client.get_payment_link("6f1f3f0e-0000-4000-8000-000000000000")
    assert (link_failure.value.code, link_failure.value.status_code) == ("resource_not_found", 404)
    with pytest.raises(PaymentNotFound):
        await client.get_payment_intent("int_doesnotexist")
    with pytest.raises(PaymentNotFound):
        await client.get_refund("rfd_doesnotexist")
    with pytest.raises(PaymentNotFound):
        await client.deactivate_payment_link("6f1f3f0e-0000-4000-8000-000000000000")


async def test_ids_cannot_escape_their_path_segment(client: AirwallexClient) -> None:
    link = await new_link(client)
    # Encoded as one segment, the id cannot reach the real link by climbing the path.
    with pytest.raises(PaymentProviderError):
        await client.get_payment_link(f"../payment_links/{link.id}")
    with pytest.raises(PaymentNotFound):
        await client.get_payment_link(f"{link.id}?x=1")


async def test_validation_errors_are_rejections_with_the_field(
    sandbox: Sandbox, client: AirwallexClient
) -> None:
    with pytest.raises(PaymentRejected) as failure:
        await new_link(client, title="x" * 201)
    assert failure.value.code == "validation_error"
    assert failure.value.source == "title"
    assert failure.value.status_code == 400
    assert (await sandbox.stats())["links"] == 0


async def test_refunding_an_unknown_intent_is_not_found(client: AirwallexClient) -> None:
    with pytest.raises(PaymentNotFound) as failure:
        await client.create_refund(
            payment_intent_id="int_missing",
            amount_cents=100,
            currency="USD",
            request_id="refund-missing",
            reason="test",
        )
    assert failure.value.status_code == 400  # documented: 400 with code resource_not_found


async def test_refunding_an_unpaid_intent_is_rejected(
    sandbox: Sandbox, client: AirwallexClient, link: PaymentLink
) -> None:
    declined = await sandbox.pay(link.id, outcome="failed")
    intent_id = declined.json()["payment_intent"]["id"]
    with pytest.raises(PaymentRejected) as failure:
        await client.create_refund(
            payment_intent_id=intent_id,
            amount_cents=1999,
            currency="USD",
            request_id="refund-unpaid",
            reason="test",
        )
    assert failure.value.code == "invalid_status_for_operation"


async def test_refunding_more_than_was_paid_is_rejected(
    sandbox: Sandbox, client: AirwallexClient, link: PaymentLink
) -> None:
    intent_id = (await sandbox.pay(link.id)).json()["payment_intent"]["id"]
    await client.create_refund(
        payment_intent_id=intent_id,
        amount_cents=1500,
        currency="USD",
        request_id="refund-part-1",
        reason="partial",
    )
    with pytest.raises(PaymentRejected) as failure:
        await client.create_refund(
            payment_intent_id=intent_id,
            amount_cents=500,
            currency="USD",
            request_id="refund-part-2",
            reason="too much",
        )
    assert failure.value.code == "amount_above_limit"


async def test_nonsense_amounts_never_leave_the_process(
    sandbox: Sandbox, client: AirwallexClient
) -> None:
    with pytest.raises(ValueError, match="positive"):
        await new_link(client, amount_cents=0)
    with pytest.raises(ValueError, match="ISO 4217"):
        await new_link(client, currency="dollars")
    assert (await sandbox.stats())["requests"] == []
