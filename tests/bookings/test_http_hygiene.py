"""Security promises at the HTTP edge: headers, CORS, JSON errors, limits and quiet logs."""

from __future__ import annotations

import logging
import threading

import httpx
import pytest

from tests.conftest import DatabaseUnderTest, run_server
from tests.support.queries import start_of_a_fresh_window

FREE = {"packageId": "discovery", "customerName": "Test User", "customerEmail": "t@example.com"}


async def test_unknown_path_and_wrong_method_are_json(api: httpx.AsyncClient) -> None:
    missing = await api.get("/functions/v1/nope")
    wrong_method = await api.get("/functions/v1/booking-create")

    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    assert wrong_method.status_code == 405
    assert wrong_method.json()["error"]["code"] == "method_not_allowed"


async def test_security_headers(api: httpx.AsyncClient) -> None:
    response = await api.post("/functions/v1/booking-create", json=FREE)

    assert response.headers["cache-control"] == "no-store"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["x-request-id"]


async def test_cors_allows_only_configured_origins(test_db: DatabaseUnderTest) -> None:
    with run_server(test_db, allowed_origins="https://coach.example") as server:
        async with server.client() as client:
            allowed = await client.options(
                "/functions/v1/booking-create",
                headers={
                    "Origin": "https://coach.example",
                    "Access-Control-Request-Method": "POST",
                    "Access-Control-Request-Headers": "content-type",
                },
            )
            denied = await client.post(
                "/functions/v1/booking-create",
                json=FREE,
                headers={"Origin": "https://evil.example"},
            )

    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://coach.example"
    assert "access-control-allow-origin" not in denied.headers


async def test_create_is_rate_limited_per_address(test_db: DatabaseUnderTest) -> None:
    with run_server(test_db, rate_limits="on") as server:
        async with server.client() as client:
            await start_of_a_fresh_window()
            codes = [
                (await client.post("/functions/v1/booking-create", json=FREE)).status_code
                for _ in range(11)
            ]
            limited = await client.post("/functions/v1/booking-create", json=FREE)

    assert codes[:10] == [201] * 10
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "rate_limited"
    assert int(limited.headers["retry-after"]) >= 1


async def test_status_is_rate_limited_per_address(test_db: DatabaseUnderTest) -> None:
    # booking-status takes its checks in one flat dependency: the limit must still count.
    with run_server(test_db, rate_limits="on") as server:
        async with server.client() as client:
            await start_of_a_fresh_window()
            token = (await client.post("/functions/v1/booking-create", json=FREE)).json()[
                "bookingToken"
            ]
            headers = {"X-Booking-Token": token}
            codes = {
                (await client.get("/functions/v1/booking-status", headers=headers)).status_code
                for _ in range(120)
            }
            limited = await client.get("/functions/v1/booking-status", headers=headers)

    assert codes == {200}
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "rate_limited"
    assert int(limited.headers["retry-after"]) >= 1


async def test_repeated_bad_tokens_are_slowed(test_db: DatabaseUnderTest) -> None:
    with run_server(test_db, rate_limits="on") as server:
        async with server.client() as client:
            await start_of_a_fresh_window(600)
            good = (await client.post("/functions/v1/booking-create", json=FREE)).json()
            misses = [
                (
                    await client.get("/functions/v1/booking-status", params={"token": "B" * 43})
                ).status_code
                for _ in range(20)
            ]
            after = await client.get(
                "/functions/v1/booking-status", params={"token": good["bookingToken"]}
            )

    assert misses == [404] * 20
    assert after.status_code == 429
    assert "retry-after" in after.headers


async def test_rate_limits_off_lets_everything_through(test_db: DatabaseUnderTest) -> None:
    with run_server(test_db, rate_limits="off") as server:
        async with server.client() as client:
            codes = {
                (await client.post("/functions/v1/booking-create", json=FREE)).status_code
                for _ in range(12)
            }

    assert codes == {201}


async def test_forwarded_for_is_believed_only_from_trusted_proxies(
    test_db: DatabaseUnderTest,
) -> None:
    with run_server(test_db, rate_limits="on", trusted_proxies="127.0.0.1") as server:
        async with server.client() as client:
            for index in range(12):
                response = await client.post(
                    "/functions/v1/booking-create",
                    json=FREE,
                    headers={"X-Forwarded-For": f"203.0.113.{index}"},
                )
                assert response.status_code == 201


async def test_token_never_reaches_the_logs(
    api: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    created = (await api.post("/functions/v1/booking-create", json=FREE)).json()
    token = created["bookingToken"]

    with caplog.at_level(logging.DEBUG):
        await api.get("/functions/v1/booking-status", params={"token": token})
        await api.get("/functions/v1/booking-status", headers={"X-Booking-Token": token})
        await api.get("/functions/v1/booking-status", params={"token": token + "x"})

    # The server runs in its own thread; the test's own HTTP client may log its URLs.
    server_records = [r for r in caplog.records if r.thread != threading.get_ident()]
    access_lines = [r for r in server_records if r.name == "sessionbook.access"]
    assert len(access_lines) >= 3
    leaks = [
        f"{record.name}: {record.getMessage()[:200]}"
        for record in server_records
        if token in f"{record.getMessage()} {record.__dict__}"
    ]
    assert not leaks
    assert any("[redacted]" in str(record.msg) for record in access_lines)
