"""Logging in to Airwallex: one cached token, shared by concurrent callers, renewed when needed."""

from __future__ import annotations

import asyncio

import pytest
from structlog.testing import capture_logs

from sessionbook.payments.airwallex.client import API_VERSION
from sessionbook.payments.airwallex.errors import (
    PaymentAuthenticationFailed,
    PaymentProviderUnavailable,
)
from tests.payments.conftest import API_KEY, ClientFactory, Sandbox, SandboxFactory, new_link


async def test_one_login_serves_many_calls(sandbox: Sandbox, make_client: ClientFactory) -> None:
    client = make_client()
    link = await new_link(client)
    for _ in range(5):
        assert (await client.get_payment_link(link.id)).id == link.id

    stats = await sandbox.stats()
    assert stats["logins"] == 1
    calls = stats["requests"]
    assert len(calls) == 7
    assert all(call["api_version"] == API_VERSION for call in calls)
    assert [call["authenticated"] for call in calls] == [False] + [True] * 6


async def test_concurrent_first_calls_share_one_login(
    sandbox: Sandbox, make_client: ClientFactory
) -> None:
    link = await new_link(make_client())
    fresh = make_client()
    results = await asyncio.gather(*(fresh.get_payment_link(link.id) for _ in range(10)))
    assert {result.id for result in results} == {link.id}
    assert (await sandbox.stats())["logins"] == 2  # one per client, not one per call


async def test_rejected_token_is_replaced_once_and_the_call_repeated(
    sandbox: Sandbox, make_client: ClientFactory
) -> None:
    client = make_client()
    link = await new_link(client)
    expired = await sandbox.hook("POST", "/_sandbox/expire-tokens")
    assert expired.json()["expired"] == 1

    assert (await client.get_payment_link(link.id)).id == link.id
    assert (await sandbox.stats())["logins"] == 2


async def test_token_is_renewed_before_its_expiry(
    make_sandbox: SandboxFactory, make_client: ClientFactory
) -> None:
    short = await make_sandbox(token_ttl_seconds=1.0)
    client = make_client(short.base_url)
    link = await new_link(client)
    await asyncio.sleep(0.6)  # past half the lifetime: the client must not use it any more

    await client.get_payment_link(link.id)
    stats = await short.stats()
    assert stats["logins"] == 2
    assert len(stats["requests"]) == 4  # login, create, login, get: no 401 round trip


async def test_wrong_credentials_fail_clearly(sandbox: Sandbox, make_client: ClientFactory) -> None:
    client = make_client(api_key="not-the-key")
    with pytest.raises(PaymentAuthenticationFailed) as failure:
        await new_link(client)
    assert failure.value.code == "credentials_invalid"
    assert failure.value.status_code == 401
    assert isinstance(failure.value, PaymentProviderUnavailable)  # callers answer 502 and retry
    assert (await sandbox.stats())["links"] == 0


async def test_secrets_never_reach_the_logs(sandbox: Sandbox, make_client: ClientFactory) -> None:
    client = make_client()
    with capture_logs() as logs:
        link = await new_link(client)
        await sandbox.hook("POST", "/_sandbox/expire-tokens")
        await sandbox.fault("/api/v1/pa/payment_links/", status=503, count=1)
        await client.get_payment_link(link.id)
        with pytest.raises(PaymentAuthenticationFailed):
            await new_link(make_client(api_key="wrong-key-value"))

    assert any(entry["event"] == "airwallex_login" for entry in logs)
    assert any(entry["event"] == "airwallex_call_failed" for entry in logs)
    text = repr(logs) + repr(client)
    assert API_KEY not in text
    assert "wrong-key-value" not in text
    assert "Bearer" not in text
