"""The packages on sale over HTTP: the public list, booking-create's package rule, RLS."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import DBAPIError

from sessionbook.catalog.models import Package, PackageChange
from sessionbook.core.db import Actor, Database, Role
from tests.conftest import DatabaseUnderTest

CUSTOMER_WITHOUT_TOKEN = Actor(Role.CUSTOMER)


async def test_the_four_default_packages_are_listed_in_order_without_a_token(
    api: httpx.AsyncClient,
) -> None:
    answer = await api.get("/functions/v1/packages")

    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "public, max-age=60"
    packages = answer.json()["packages"]
    assert [package["id"] for package in packages] == [
        "discovery",
        "single",
        "monthly",
        "quarterly",
    ]
    monthly = packages[2]
    assert monthly == {
        "id": "monthly",
        "title": "Monthly package",
        "description": "4 sessions of 60 minutes, to book within 31 days.",
        "durationMinutes": 60,
        "sessions": 4,
        "validDays": 31,
        "amountCents": 50000,
        "currency": "USD",
        "requiresPayment": True,
    }
    assert packages[0]["requiresPayment"] is False
    assert packages[0]["validDays"] is None
    assert packages[3]["sessions"] == 12
    assert packages[3]["validDays"] == 92


async def test_other_api_answers_stay_uncached(api: httpx.AsyncClient) -> None:
    answer = await api.get("/functions/v1/booking-status", params={"token": "x" * 43})

    assert answer.headers["cache-control"] == "no-store"


@pytest.mark.parametrize("package_id", ["platinum", "", "x" * 41])
async def test_an_unknown_package_is_a_validation_error_naming_package_id(
    api: httpx.AsyncClient, package_id: str
) -> None:
    body = {"packageId": package_id, "customerName": "Ada", "customerEmail": "ada@example.com"}

    answer = await api.post("/functions/v1/booking-create", json=body)

    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["code"] == "validation_error"
    assert "packageId" in error["fields"]


async def test_customers_read_active_packages_and_write_none(test_db: DatabaseUnderTest) -> None:
    if not test_db.is_postgres:
        pytest.skip("row-level security is a PostgreSQL feature")
    database = Database(test_db.app_url)
    try:
        async with database.transaction(CUSTOMER_WITHOUT_TOKEN) as session:
            ids = (await session.scalars(select(Package.id))).all()
        assert set(ids) >= {"discovery", "single", "monthly", "quarterly"}
        with pytest.raises(DBAPIError, match="permission denied"):
            async with database.transaction(CUSTOMER_WITHOUT_TOKEN) as session:
                await session.execute(
                    update(Package).where(Package.id == "single").values(price_cents=1)
                )
        with pytest.raises(DBAPIError, match="permission denied"):
            async with database.transaction(CUSTOMER_WITHOUT_TOKEN) as session:
                await session.execute(select(PackageChange.id))
    finally:
        await database.dispose()
