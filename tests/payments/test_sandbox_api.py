"""The stand-in speaks Airwallex's documented HTTP contract to any client, not just ours."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.payments.conftest import API_KEY, CLIENT_ID, Sandbox

LOGIN = "/api/v1/authentication/login"
CREATE = "/api/v1/pa/payment_links/create"


async def bearer(sandbox: Sandbox) -> dict[str, str]:
    answer = await sandbox.http.post(
        sandbox.base_url + LOGIN, headers={"x-client-id": CLIENT_ID, "x-api-key": API_KEY}
    )
    return {"Authorization": f"Bearer {answer.json()['token']}"}


def link_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": "Monthly package",
        "reusable": False,
        "amount": 249.5,
        "currency": "EUR",
        "reference": "bk_api",
        "metadata": {"booking_id": "bk_api"},
        "expires_at": (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    body.update(changes)
    return {key: value for key, value in body.items() if value is not None}


async def test_login_answers_a_token_valid_for_about_thirty_minutes(sandbox: Sandbox) -> None:
    answer = await sandbox.http.post(
        sandbox.base_url + LOGIN, headers={"x-client-id": CLIENT_ID, "x-api-key": API_KEY}
    )
    assert answer.status_code == 201
    data = answer.json()
    assert set(data) == {"token", "expires_at"}
    lifetime = datetime.fromisoformat(data["expires_at"]) - datetime.now(UTC)
    assert timedelta(minutes=29) < lifetime <= timedelta(minutes=30)


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        ({"x-client-id": CLIENT_ID, "x-api-key": "wrong"}, 401, "credentials_invalid"),
        ({"x-client-id": "someone-else", "x-api-key": API_KEY}, 401, "credentials_invalid"),
        ({"x-client-id": CLIENT_ID}, 400, "validation_error"),
    ],
)
async def test_bad_logins_are_refused(
    sandbox: Sandbox, headers: dict[str, str], status: int, code: str
) -> None:
    answer = await sandbox.http.post(sandbox.base_url + LOGIN, headers=headers)
    assert (answer.status_code, answer.json()["code"]) == (status, code)
    assert (await sandbox.stats())["logins"] == 0


@pytest.mark.parametrize("authorization", [None, "Bearer not-a-token", "Basic abc"])
async def test_api_calls_need_a_valid_bearer_token(
    sandbox: Sandbox, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    answer = await sandbox.http.post(sandbox.base_url + CREATE, json=link_body(), headers=headers)
    assert answer.status_code == 401
    assert answer.json() == {
        "code": "unauthorized",
        "message": "Access denied, authentication failed",
    }
    assert (await sandbox.stats())["links"] == 0


async def test_unknown_paths_and_methods_answer_in_airwallex_shape(sandbox: Sandbox) -> None:
    missing = await sandbox.http.get(sandbox.base_url + "/api/v1/pa/nothing")
    assert (missing.status_code, missing.json()["code"]) == (404, "not_found")
    wrong = await sandbox.http.delete(sandbox.base_url + CREATE)
    assert wrong.status_code == 405
    assert wrong.json()["code"] == "method_not_allowed"


async def test_created_link_has_the_documented_fields(sandbox: Sandbox) -> None:
    answer = await sandbox.http.post(
        sandbox.base_url + CREATE, json=link_body(), headers=await bearer(sandbox)
    )
    assert answer.status_code == 200
    link = answer.json()
    assert link["amount"] == 249.5
    assert (link["currency"], link["status"], link["active"], link["reusable"]) == (
        "EUR",
        "UNPAID",
        True,
        False,
    )
    assert link["reference"] == "bk_api"
    assert link["metadata"] == {"booking_id": "bk_api"}
    assert link["url"] == f"{sandbox.base_url}/pay/{link['id']}"
    assert link["latest_successful_payment_intent_id"] is None
    assert link["expires_at"].endswith("+0000")


@pytest.mark.parametrize(
    ("changes", "source"),
    [
        ({"title": None}, "title"),
        ({"title": 7}, "title"),
        ({"reusable": None}, "reusable"),
        ({"amount": None}, "amount"),
        ({"amount": -5}, "amount"),
        ({"amount": 10.005}, "amount"),
        ({"currency": "eur"}, "currency"),
        ({"currency": "EURO"}, "currency"),
        ({"description": "d" * 501}, "description"),
        ({"metadata": {"n": 1}}, "metadata"),
        ({"expires_at": "tomorrow"}, "expires_at"),
        ({"expires_at": "2020-01-01T00:00:00Z"}, "expires_at"),
        ({"supported_currencies": ["EUR", "USD"]}, "supported_currencies"),
    ],
)
async def test_invalid_links_are_refused_naming_the_field(
    sandbox: Sandbox, changes: dict[str, Any], source: str
) -> None:
    answer = await sandbox.http.post(
        sandbox.base_url + CREATE, json=link_body(**changes), headers=await bearer(sandbox)
    )
    assert answer.status_code == 400
    assert answer.json()["code"] == "validation_error"
    assert answer.json()["source"] == source
    assert (await sandbox.stats())["links"] == 0


async def test_malformed_json_is_a_validation_error(sandbox: Sandbox) -> None:
    answer = await sandbox.http.post(
        sandbox.base_url + CREATE,
        content=b"{not json",
        headers={**await bearer(sandbox), "Content-Type": "application/json"},
    )
    assert (answer.status_code, answer.json()["code"]) == (400, "validation_error")


async def test_lists_page_and_filter_as_documented(sandbox: Sandbox) -> None:
    auth = await bearer(sandbox)
    ids = []
    for number in range(3):
        made = await sandbox.http.post(
            sandbox.base_url + CREATE, json=link_body(reference=f"bk_{number}"), headers=auth
        )
        ids.append(made.json()["id"])
    await sandbox.pay(ids[0])

    links = sandbox.base_url + "/api/v1/pa/payment_links"
    first = (await sandbox.http.get(links, params={"page_size": 2}, headers=auth)).json()
    second = (
        await sandbox.http.get(links, params={"page_size": 2, "page_num": 1}, headers=auth)
    ).json()
    assert (len(first["items"]), first["has_more"]) == (2, True)
    assert (len(second["items"]), second["has_more"]) == (1, False)
    assert {item["id"] for item in first["items"] + second["items"]} == set(ids)

    paid = (await sandbox.http.get(links, params={"status": "PAID"}, headers=auth)).json()
    assert [item["id"] for item in paid["items"]] == [ids[0]]
    intents = sandbox.base_url + "/api/v1/pa/payment_intents"
    by_order = (
        await sandbox.http.get(intents, params={"merchant_order_id": "bk_0"}, headers=auth)
    ).json()
    assert [item["payment_link_id"] for item in by_order["items"]] == [ids[0]]
    bad = await sandbox.http.get(links, params={"page_size": "many"}, headers=auth)
    assert (bad.status_code, bad.json()["code"]) == (400, "validation_error")


async def test_refund_request_ids_cannot_be_reused(sandbox: Sandbox) -> None:
    auth = await bearer(sandbox)
    made = await sandbox.http.post(sandbox.base_url + CREATE, json=link_body(), headers=auth)
    intent_id = (await sandbox.pay(made.json()["id"])).json()["payment_intent"]["id"]
    body = {"request_id": "rq-1", "payment_intent_id": intent_id, "amount": 10, "reason": "x"}
    refunds = sandbox.base_url + "/api/v1/pa/refunds/create"

    first = await sandbox.http.post(refunds, json=body, headers=auth)
    assert first.status_code == 201
    assert (first.json()["status"], first.json()["amount"]) == ("RECEIVED", 10)
    again = await sandbox.http.post(refunds, json=body, headers=auth)
    assert (again.status_code, again.json()["code"]) == (400, "duplicate_request")
    assert (await sandbox.stats())["refunds"] == 1


async def test_faults_can_be_listed_and_cleared(sandbox: Sandbox) -> None:
    await sandbox.fault("/api/v1/pa/", status=503, count=2)
    listed = (await sandbox.hook("GET", "/_sandbox/faults")).json()["items"]
    assert [(f["path_prefix"], f["count"]) for f in listed] == [("/api/v1/pa/", 2)]
    await sandbox.hook("DELETE", "/_sandbox/faults")
    assert (await sandbox.hook("GET", "/_sandbox/faults")).json()["items"] == []
    refused = await sandbox.hook("POST", "/_sandbox/faults", {"status": 503})
    assert (refused.status_code, refused.json()["source"]) == (400, "path_prefix")
