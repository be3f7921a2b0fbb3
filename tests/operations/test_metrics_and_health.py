"""/healthz, /readyz and /metrics over HTTP: what a load balancer and Prometheus would see."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from sessionbook.core.http_transport import operation_name
from sessionbook.payments.airwallex.signature import sign
from tests.conftest import DatabaseUnderTest, RunningServer, make_settings
from tests.operations.support import ADMIN_SETTINGS, PAID, create, pay, sign_in
from tests.support.live_server import free_port, live_server


def samples(text: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    """Every sample of one metric: sorted label pairs -> value."""
    found: dict[tuple[tuple[str, str], ...], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name:
                found[tuple(sorted(sample.labels.items()))] = sample.value
    return found


def value(text: str, name: str, **labels: str) -> float:
    wanted = set(labels.items())
    matching = [v for key, v in samples(text, name).items() if wanted <= set(key)]
    return sum(matching)


async def test_healthz_and_readyz(api: httpx.AsyncClient) -> None:
    health = await api.get("/healthz")
    ready = await api.get("/readyz")

    assert health.status_code == 200
    assert health.json() == {"status": "ok"}
    assert ready.status_code == 200
    body = ready.json()
    assert body["status"] == "ok"
    assert body["migration"]["current"] == body["migration"]["expected"] is not None


async def test_readyz_is_503_for_an_unmigrated_or_unreachable_database(
    tmp_path: Path, test_db: DatabaseUnderTest
) -> None:
    from sessionbook.app import create_app

    answers = {}
    for case, url in {
        "not_migrated": f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}",
        "unreachable": f"sqlite+aiosqlite:///{tmp_path / 'no' / 'such' / 'dir.db'}",
    }.items():
        port = free_port()
        app = create_app(make_settings(test_db, port, database_url=url))
        with live_server(app, port=port) as base:
            async with httpx.AsyncClient(base_url=base) as client:
                answers[case] = (await client.get("/readyz"), await client.get("/healthz"))

    for case, (ready, health) in answers.items():
        assert ready.status_code == 503, case
        assert ready.json()["database"] == case
        assert ready.headers["cache-control"] == "no-store"
        assert health.status_code == 200  # the process itself is fine


async def test_metrics_count_requests_by_route_template_not_url(
    api: httpx.AsyncClient, server: RunningServer
) -> None:
    created = await create(api, PAID)
    await api.get("/functions/v1/booking-status", params={"token": created["bookingToken"]})
    await api.get(f"/no/such/page/{uuid.uuid4()}")

    text = (await api.get("/metrics")).text

    name = "sessionbook_http_request_duration_seconds_count"
    routes = {dict(key)["route"] for key in samples(text, name)}
    assert "/functions/v1/booking-create" in routes
    assert "/functions/v1/booking-status" in routes
    assert "unmatched" in routes
    assert "/sandbox/airwallex/api/v1/pa/payment_links/create" in routes
    assert not any(created["bookingId"] in route or "token" in route for route in routes)
    assert created["bookingToken"] not in text
    assert value(text, name, route="/functions/v1/booking-create", status="201") >= 1


async def test_admin_routes_are_labelled_by_template(test_db: DatabaseUnderTest) -> None:
    from tests.conftest import run_server

    with run_server(test_db, **ADMIN_SETTINGS) as admin_server:
        async with admin_server.client() as client:
            await sign_in(client)
            await client.get(f"/admin/bookings/{uuid.uuid4()}")
            text = (await client.get("/metrics")).text
    routes = {
        dict(k)["route"] for k in samples(text, "sessionbook_http_request_duration_seconds_count")
    }
    assert "/admin/bookings/{booking_id}" in routes
    assert not [route for route in routes if re.search(r"[0-9a-f]{8}-", route)]


async def test_bookings_by_status_and_webhook_outcomes(
    api: httpx.AsyncClient, server: RunningServer
) -> None:
    before = (await api.get("/metrics")).text
    await pay(api, server.url + "/sandbox/airwallex", await create(api, PAID))

    # The booking may read as paid (its status read asks Airwallex) a moment before the webhook
    # is processed; wait for the webhook, bounded.
    deadline = time.monotonic() + 10
    while True:
        # The database gauges are cached for a few seconds; a fresh app state forces a new read.
        server.app.state.metrics_snapshot = None
        after = (await api.get("/metrics")).text
        stored = value(after, "sessionbook_webhook_events_stored", state="processed")
        if stored >= 1 or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.1)

    assert value(after, "sessionbook_database_up") == 1
    assert value(after, "sessionbook_bookings", status="paid") == (
        value(before, "sessionbook_bookings", status="paid") + 1
    )
    assert value(after, "sessionbook_webhook_events_stored", state="processed") >= 1
    assert value(after, "sessionbook_webhook_last_received_timestamp_seconds") > 0
    outcome = {"event_type": "payment_intent.succeeded", "outcome": "processed"}
    assert value(after, "sessionbook_webhook_events_total", **outcome) == (
        value(before, "sessionbook_webhook_events_total", **outcome) + 1
    )
    provider = "sessionbook_provider_request_duration_seconds_count"
    assert (
        value(after, provider, provider="airwallex", operation="GET /api/v1/pa/payment_links/{id}")
        >= 1
    )


async def test_metrics_token_is_required_when_configured(test_db: DatabaseUnderTest) -> None:
    from tests.conftest import run_server

    with run_server(test_db, metrics_token="t" * 32) as guarded:
        async with guarded.client() as client:
            anonymous = await client.get("/metrics")
            wrong = await client.get("/metrics", headers={"Authorization": "Bearer nope"})
            right = await client.get("/metrics", headers={"Authorization": "Bearer " + "t" * 32})
    assert anonymous.status_code == wrong.status_code == 401
    assert right.status_code == 200
    assert "sessionbook_bookings" in right.text


def test_provider_operations_keep_ids_out_of_labels() -> None:
    assert operation_name("get", "/sandbox/airwallex/api/v1/pa/payment_intents/int_123") == (
        "GET /api/v1/pa/payment_intents/{id}"
    )
    assert operation_name("POST", "/api/v1/pa/payment_links/create") == (
        "POST /api/v1/pa/payment_links/create"
    )
    assert operation_name("POST", "/v2/bookings/abc-uid/cancel") == "POST /v2/bookings/{id}/cancel"
    assert operation_name("GET", "/sandbox/cal/v2/event-types/1002") == "GET /v2/event-types/{id}"


async def test_unsigned_and_repeated_webhooks_are_counted(
    api: httpx.AsyncClient, server: RunningServer
) -> None:
    before = (await api.get("/metrics")).text
    body = b'{"id": "evt_metrics_1", "name": "payment_intent.succeeded", "data": {"object": {}}}'
    unsigned = await api.post("/functions/v1/payment-webhook", content=body)
    timestamp = str(int(time.time() * 1000))
    signature = sign(server.settings.webhook_secret, timestamp, body)
    headers = {"x-timestamp": timestamp, "x-signature": signature}
    first = await api.post("/functions/v1/payment-webhook", content=body, headers=headers)
    again = await api.post("/functions/v1/payment-webhook", content=body, headers=headers)

    after = (await api.get("/metrics")).text

    assert (unsigned.status_code, first.status_code, again.status_code) == (401, 200, 200)
    name = "sessionbook_webhook_events_total"
    event = "payment_intent.succeeded"
    for outcome in ("invalid_signature", "ignored", "duplicate"):
        grew = value(after, name, event_type=event, outcome=outcome) - value(
            before, name, event_type=event, outcome=outcome
        )
        assert grew == 1, outcome


def test_several_workers_add_up_in_multiprocess_mode(tmp_path: Path) -> None:
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    (metrics_dir / "counter_999999.db").write_bytes(b"stale worker from an earlier run")
    port = free_port()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'multi.db'}",
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        "SWEEP_INTERVAL_SECONDS": "0",
        "LOG_LEVEL": "warning",
    }
    command = [str(Path(sys.executable).with_name("sessionbook")), "serve", "--port", str(port)]
    process = subprocess.Popen([*command, "--workers", "2"], env=env, stderr=subprocess.PIPE)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.1)
        for _ in range(20):  # new connections: the kernel spreads them over both workers
            httpx.get(f"{base}/healthz", headers={"Connection": "close"})
        scraped = [httpx.get(f"{base}/metrics").text for _ in range(4)]
    finally:
        process.terminate()
        process.wait(timeout=15)

    assert not (metrics_dir / "counter_999999.db").exists()
    counts = {
        value(text, "sessionbook_http_request_duration_seconds_count", route="/healthz")
        for text in scraped
    }
    assert counts == {21.0}  # every scrape sums both workers, whichever one answers
    assert all(value(text, "sessionbook_database_up") == 1 for text in scraped)
