"""Every field rule of booking-create answers 400 naming the field, and stores nothing."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from sessionbook.bookings.models import Booking
from sessionbook.core.db import SERVICE, Database

VALID: dict[str, Any] = {
    "packageId": "discovery",
    "customerName": "Test User",
    "customerEmail": "test@example.com",
}

CASES: list[tuple[dict[str, Any], str]] = [
    ({"packageId": "platinum"}, "packageId"),
    ({"packageId": None}, "packageId"),
    ({"packageId": 1}, "packageId"),
    ({"customerName": "A"}, "customerName"),
    ({"customerName": "  A  "}, "customerName"),
    ({"customerName": "x" * 101}, "customerName"),
    ({"customerName": "Bad\u0000Name"}, "customerName"),
    ({"customerName": 42}, "customerName"),
    ({"customerEmail": "not-an-email"}, "customerEmail"),
    ({"customerEmail": "a@" + "b" * 250 + ".com"}, "customerEmail"),
    ({"customerPhone": "1" * 41}, "customerPhone"),
    ({"notes": "n" * 1001}, "notes"),
    ({"metadata": {"nested": {"a": 1}}}, "metadata"),
    ({"metadata": {"list": [1, 2]}}, "metadata"),
    ({"metadata": {f"k{i}": i for i in range(21)}}, "metadata"),
    ({"metadata": {"big": "x" * 2100}}, "metadata"),
    ({"metadata": "flat?"}, "metadata"),
    ({"price": 1}, "price"),
    ({"amountCents": 0}, "amountCents"),
    ({"customer_name": "Snake Case"}, "customer_name"),
]


async def _count(owner_db: Database) -> int:
    async with owner_db.transaction(SERVICE) as session:
        return int((await session.execute(select(func.count()).select_from(Booking))).scalar_one())


@pytest.mark.parametrize(("change", "field"), CASES)
async def test_invalid_field_is_named(
    api: httpx.AsyncClient, owner_db: Database, change: dict[str, Any], field: str
) -> None:
    before = await _count(owner_db)

    response = await api.post("/functions/v1/booking-create", json={**VALID, **change})

    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert field in error["fields"], error
    assert await _count(owner_db) == before


@pytest.mark.parametrize("field", ["packageId", "customerName", "customerEmail"])
async def test_required_fields(api: httpx.AsyncClient, field: str) -> None:
    body = {k: v for k, v in VALID.items() if k != field}

    response = await api.post("/functions/v1/booking-create", json=body)

    assert response.status_code == 400
    assert response.json()["error"]["fields"][field] == "is required"


@pytest.mark.parametrize(
    "raw", [b"{not json", b"", b"[]", b'"text"', b"null", b"\xff\xfe", b'{"a":'], ids=repr
)
async def test_malformed_bodies(api: httpx.AsyncClient, raw: bytes) -> None:
    response = await api.post(
        "/functions/v1/booking-create",
        content=raw,
        headers={"Content-Type": "application/json"},
    )

    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert "body" in error["fields"]


async def test_body_over_64_kb_is_refused(api: httpx.AsyncClient) -> None:
    body = {**VALID, "notes": "x" * (65 * 1024)}

    response = await api.post("/functions/v1/booking-create", json=body)

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


async def test_streamed_body_over_64_kb_without_length_is_refused(api: httpx.AsyncClient) -> None:
    async def chunks() -> Any:
        for _ in range(70):
            yield b"x" * 1024

    response = await api.post(
        "/functions/v1/booking-create",
        content=chunks(),
        headers={"Content-Type": "application/json"},
    )

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
create_bodies = st.fixed_dictionaries(
    {},
    optional={
        "packageId": st.sampled_from(["discovery", "single", "x", ""]) | json_values,
        "customerName": st.text(max_size=120) | json_values,
        "customerEmail": st.emails() | st.text(max_size=40) | json_values,
        "customerPhone": st.text(max_size=50) | json_values,
        "notes": st.text(max_size=50) | json_values,
        "metadata": st.dictionaries(st.text(max_size=10), json_values, max_size=5) | json_values,
        "extra": json_values,
    },
)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(body=create_bodies | json_values)
async def test_no_generated_create_body_gets_a_server_error(
    api: httpx.AsyncClient, body: Any
) -> None:
    response = await api.post(
        "/functions/v1/booking-create",
        content=json.dumps(body),
        headers={"Content-Type": "application/json"},
    )

    assert response.status_code in (201, 400), response.text
    assert "error" in response.json() or response.status_code == 201


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(token=st.text(max_size=80))
async def test_no_generated_token_gets_a_server_error(api: httpx.AsyncClient, token: str) -> None:
    response = await api.get("/functions/v1/booking-status", params={"token": token})

    assert response.status_code in (400, 404), response.text
    assert response.json()["error"]["code"] in ("validation_error", "booking_not_found")


async def test_streamed_body_over_64_kb_on_a_get_is_refused(api: httpx.AsyncClient) -> None:
    # GET requests without a body skip the counting; one that streams a body is still counted.
    async def chunks() -> Any:
        for _ in range(70):
            yield b"x" * 1024

    response = await api.request(
        "GET", "/functions/v1/booking-status", content=chunks(), headers={"X-Booking-Token": "x"}
    )

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
