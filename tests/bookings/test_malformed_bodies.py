"""A JSON body that is not UTF-8 or nests too deep is a 400 validation_error on every JSON route."""

from __future__ import annotations

import httpx
import pytest

JSON_ROUTES = [
    "/functions/v1/booking-create",
    "/functions/v1/booking-schedule",
    "/functions/v1/booking-reschedule",
    "/functions/v1/booking-cancel",
]

NOT_UTF8 = b'{"packageId": "discovery", "customerName": "Ren\xe9 Caf\xe9"}'
OPEN_TEN_THOUSAND_DEEP = b"[" * 10_000
CLOSED_TEN_THOUSAND_DEEP = b"[" * 10_000 + b"]" * 10_000
DEEP_OBJECT = b'{"a":' * 10_000 + b"1" + b"}" * 10_000


@pytest.mark.parametrize("path", JSON_ROUTES)
@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (NOT_UTF8, "is not UTF-8"),
        (OPEN_TEN_THOUSAND_DEEP, "is nested too deeply"),
        (CLOSED_TEN_THOUSAND_DEEP, "is nested too deeply"),
        (DEEP_OBJECT, "is nested too deeply"),
    ],
    ids=["not-utf8", "open-brackets", "closed-brackets", "nested-objects"],
)
async def test_unparseable_body_is_a_validation_error(
    api: httpx.AsyncClient, path: str, body: bytes, reason: str
) -> None:
    response = await api.post(path, content=body, headers={"Content-Type": "application/json"})

    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert error["fields"] == {"body": reason}
    assert reason in error["message"]


async def test_webhook_checks_the_signature_before_the_body(api: httpx.AsyncClient) -> None:
    """An unsigned delivery is refused as unsigned, whatever its bytes: nothing is decoded."""
    for body in (NOT_UTF8, CLOSED_TEN_THOUSAND_DEEP):
        response = await api.post(
            "/functions/v1/payment-webhook",
            content=body,
            headers={"Content-Type": "application/json", "x-timestamp": "1", "x-signature": "0"},
        )

        assert response.status_code == 401, response.text
        assert response.json()["error"]["code"] == "invalid_signature"
