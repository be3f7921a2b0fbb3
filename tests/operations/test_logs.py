"""The server's log as an operator receives it: JSON lines, a request id on each, nothing secret."""

from __future__ import annotations

import io
import json
import logging
import threading
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import structlog

from sessionbook.payments.airwallex.signature import sign
from tests.conftest import RunningServer
from tests.operations.support import create, eventually, pay, status

CUSTOMER = {
    "packageId": "single",
    "customerName": "Zelda Secretname",
    "customerEmail": "zelda.private@example.com",
    "customerPhone": "+44 7700 900123",
}


class ServerLines:
    """Every line the server's threads write, rendered by the configured JSON formatter."""

    def __init__(self) -> None:
        self.stream = io.StringIO()
        self.test_thread = threading.get_ident()

    @property
    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stream.getvalue().splitlines() if line]

    @property
    def raw(self) -> str:
        return self.stream.getvalue()


@pytest.fixture
def server_lines() -> Iterator[ServerLines]:
    root = logging.getLogger()
    configured = next(
        h for h in root.handlers if isinstance(h.formatter, structlog.stdlib.ProcessorFormatter)
    )
    captured = ServerLines()
    handler = logging.StreamHandler(captured.stream)
    handler.setFormatter(configured.formatter)
    for log_filter in configured.filters:
        handler.addFilter(log_filter)
    handler.addFilter(lambda record: record.thread != captured.test_thread)
    root.addHandler(handler)
    try:
        yield captured
    finally:
        root.removeHandler(handler)


async def _lines(captured: ServerLines) -> list[dict[str, Any]]:
    return captured.lines


async def test_every_request_line_has_a_request_id_and_no_customer_data(
    api: httpx.AsyncClient, server: RunningServer, server_lines: ServerLines
) -> None:
    created = await create(api, CUSTOMER)
    token = created["bookingToken"]
    await api.get("/functions/v1/booking-status", params={"token": token})
    await status(api, token)
    await pay(api, server.url + "/sandbox/airwallex", created)
    unsigned = await api.post("/functions/v1/payment-webhook", content=b'{"id": "x"}')
    body = json.dumps({"id": "evt_log_test", "name": "refund.settled", "data": {"object": {}}})
    timestamp = str(int(time.time() * 1000))
    signed = await api.post(
        "/functions/v1/payment-webhook",
        content=body.encode(),
        headers={
            "x-timestamp": timestamp,
            "x-signature": sign(server.settings.webhook_secret, timestamp, body.encode()),
        },
    )

    assert unsigned.status_code == 401
    assert signed.status_code == 200
    # The access line is written just after the answer leaves: wait for the last one.
    lines = await eventually(
        lambda: _lines(server_lines),
        lambda found: (
            {line.get("request_id") for line in found}
            <= {line.get("request_id") for line in found if line["event"] == "http_request"}
            | {None}
        ),
        timeout=3,
    )
    requests = [line for line in lines if line["event"] == "http_request"]
    assert {line["path"] for line in requests} >= {
        "/functions/v1/booking-create",
        "/functions/v1/booking-status",
        "/functions/v1/payment-webhook",
    }
    # Every line written while serving a request carries that request's id ...
    in_requests = [line for line in lines if not line["logger"].startswith("uvicorn")]
    missing = [line for line in in_requests if "request_id" not in line]
    assert missing == []
    # ... and every id belongs to exactly one request (its access line).
    access_lines = Counter(line["request_id"] for line in requests)
    assert set(access_lines.values()) == {1}
    orphans = [line for line in in_requests if line["request_id"] not in access_lines]
    assert orphans == []
    assert any(line["event"] == "webhook_handled" for line in in_requests)
    # Nothing that identifies the customer or opens the booking is ever written.
    raw = server_lines.raw
    for secret in (
        token,
        CUSTOMER["customerEmail"],
        CUSTOMER["customerName"].split()[1],
        "7700 900123",
        server.settings.webhook_secret,
    ):
        assert secret not in raw
    status_lines = [line for line in requests if line["path"] == "/functions/v1/booking-status"]
    queries = [line["query"] for line in status_lines]
    assert queries[0] == "token=[redacted]"
    assert set(queries[1:]) == {None}  # the header keeps the token out of the URL entirely
