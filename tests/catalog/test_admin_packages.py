"""The coach manages packages in the admin over HTTP; bookings already made keep theirs.

A database of its own: these tests change the catalog every other test relies on.
"""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from sessionbook.catalog.models import Package, PackageChange
from sessionbook.core.db import SERVICE, Database
from tests.conftest import DatabaseUnderTest, RunningServer, run_server, separate_database
from tests.operations.support import ADMIN_SETTINGS, create, csrf_of, sign_in, status
from tests.support.queries import booking_row

MONTHLY = {
    "packageId": "monthly",
    "customerName": "Mona Month",
    "customerEmail": "mona@example.com",
}
# A valid new package: the sandbox's generic 45-minute event type, and 45 minutes.
GOOD = {
    "id": "deep-dive",
    "title": "Deep dive",
    "description": "Two long sessions.",
    "price": "99.50",
    "duration_minutes": "45",
    "sessions": "2",
    "valid_days": "14",
    "cal_event_type_id": "2045",
    "active": "on",
}


@pytest.fixture(scope="module")
async def catalog_db(
    test_db: DatabaseUnderTest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[DatabaseUnderTest]:
    async with separate_database(test_db, tmp_path_factory.mktemp("catalog")) as database:
        yield database


@pytest.fixture(scope="module")
def coach_server(catalog_db: DatabaseUnderTest) -> Iterator[RunningServer]:
    with run_server(catalog_db, **ADMIN_SETTINGS) as running:
        yield running


@pytest.fixture(scope="module")
async def owner(catalog_db: DatabaseUnderTest) -> AsyncIterator[Database]:
    database = Database(catalog_db.owner_url)
    yield database
    await database.dispose()


@pytest.fixture
async def coach(coach_server: RunningServer) -> AsyncIterator[httpx.AsyncClient]:
    async with coach_server.client() as client:
        answer = await sign_in(client)
        assert answer.status_code == 303, answer.text
        yield client


async def post_form(client: httpx.AsyncClient, page: str, action: str, **fields: str) -> Any:
    """Post a form the way the page would: take the CSRF token from `page` first."""
    shown = await client.get(page)
    assert shown.status_code == 200, shown.text
    return await client.post(action, data={"csrf_token": csrf_of(shown.text), **fields})


async def packages_on_sale(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    answer = await client.get("/functions/v1/packages")
    assert answer.status_code == 200
    packages: list[dict[str, Any]] = answer.json()["packages"]
    return packages


async def snapshot(owner: Database) -> tuple[list[tuple[Any, ...]], int]:
    """Every package's values and the number of audit rows: what "nothing changed" means."""
    async with owner.transaction(SERVICE) as session:
        packages = (await session.scalars(select(Package).order_by(Package.id))).all()
        changes = await session.scalar(select(func.count()).select_from(PackageChange))
    rows = [
        (
            p.id,
            p.title,
            p.price_cents,
            p.duration_minutes,
            p.sessions,
            p.valid_days,
            p.cal_event_type_id,
            p.active,
            p.position,
        )
        for p in packages
    ]
    return rows, int(changes or 0)


async def changes_of(owner: Database, package_id: str) -> list[PackageChange]:
    async with owner.transaction(SERVICE) as session:
        query = (
            select(PackageChange)
            .where(PackageChange.package_id == package_id)
            .order_by(PackageChange.id)
        )
        return list((await session.scalars(query)).all())


def field_error(page: str, field: str) -> str:
    found = re.search(rf'<p class="field-error" id="{field}-error">([^<]*)</p>', page)
    assert found, f"no error shown for {field}"
    return html.unescape(found.group(1))


async def test_the_packages_page_lists_every_package_and_the_sandbox_event_types(
    coach: httpx.AsyncClient,
) -> None:
    page = await coach.get("/admin/packages")
    form = await coach.get("/admin/packages/new")

    assert page.status_code == 200
    for package_id in ("discovery", "single", "monthly", "quarterly"):
        assert f'data-package="{package_id}"' in page.text
    assert 'id="sandbox-event-types"' in form.text
    assert "<code>2045</code>: 45 minutes (45 min)" in form.text


async def test_the_admin_packages_pages_need_a_sign_in(coach_server: RunningServer) -> None:
    async with coach_server.client() as stranger:
        for path in ("/admin/packages", "/admin/packages/new", "/admin/packages/monthly"):
            answer = await stranger.get(path)
            assert answer.status_code == 303
            assert answer.headers["location"] == "/admin/login"
        refused = await stranger.post("/admin/packages/new", data=GOOD)
        assert refused.status_code == 303


async def test_a_post_without_the_csrf_token_changes_nothing(
    coach: httpx.AsyncClient, owner: Database
) -> None:
    before = await snapshot(owner)

    answer = await coach.post("/admin/packages/monthly", data={**GOOD, "price": "1.00"})

    assert answer.status_code == 403
    assert await snapshot(owner) == before


async def test_a_new_package_goes_on_sale_audited_and_bookable(
    coach: httpx.AsyncClient, owner: Database
) -> None:
    answer = await post_form(coach, "/admin/packages/new", "/admin/packages/new", **GOOD)

    assert answer.status_code == 303, answer.text
    [listed] = [p for p in await packages_on_sale(coach) if p["id"] == "deep-dive"]
    assert listed == {
        "id": "deep-dive",
        "title": "Deep dive",
        "description": "Two long sessions.",
        "durationMinutes": 45,
        "sessions": 2,
        "validDays": 14,
        "amountCents": 9950,
        "currency": "USD",
        "requiresPayment": True,
    }
    [created] = await changes_of(owner, "deep-dive")
    assert (created.action, created.changed_by, created.client_address) == (
        "created",
        "admin",
        "127.0.0.1",
    )
    assert created.after["priceCents"] == 9950
    booking = await create(coach, {**MONTHLY, "packageId": "deep-dive"})
    row = await booking_row(owner, booking["bookingId"])
    assert (row.amount_cents, row.duration_minutes, row.sessions_total, row.valid_days) == (
        9950,
        45,
        2,
        14,
    )
    assert row.cal_event_type_id == 2045
    home = await coach.get("/")
    assert "Deep dive" in home.text


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"price": "-5"}, "price", "must not be negative"),
        ({"price": "abc"}, "price", "must be an amount in USD like 150.00"),
        ({"price": "1.234"}, "price", "at most 2 decimals"),
        ({"sessions": "0"}, "sessions", "between 1 and 100"),
        ({"sessions": "many"}, "sessions", "must be a whole number"),
        ({"valid_days": "0"}, "valid_days", "at least 1 day"),
        ({"duration_minutes": "4"}, "duration_minutes", "between 5 and 480"),
        ({"id": "single"}, "id", "'single' is already used"),
        ({"id": "Bad Id!"}, "id", "lowercase letters"),
        ({"id": "x"}, "id", "lowercase letters"),
        ({"cal_event_type_id": "987654"}, "cal_event_type_id", "Cal.com has no event type 987654"),
        (
            {"cal_event_type_id": "2030"},
            "cal_event_type_id",
            "Cal.com event type 2030 lasts 30 minutes but this package lasts 45",
        ),
    ],
)
async def test_bad_input_on_create_is_refused_naming_the_field_and_kept_as_typed(
    coach: httpx.AsyncClient,
    owner: Database,
    changes: dict[str, str],
    field: str,
    message: str,
) -> None:
    before = await snapshot(owner)
    typed = {**GOOD, "id": "not-created", **changes}

    answer = await post_form(coach, "/admin/packages/new", "/admin/packages/new", **typed)

    assert answer.status_code == 400
    assert message in field_error(answer.text, field)
    for name in ("title", "price", "sessions", "valid_days", "cal_event_type_id"):
        assert f'value="{html.escape(typed[name])}"' in answer.text
    assert await snapshot(owner) == before


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"price": "-500.00"}, "price", "must not be negative"),
        ({"price": "abc"}, "price", "must be an amount"),
        ({"sessions": "0"}, "sessions", "between 1 and 100"),
        ({"valid_days": "0"}, "valid_days", "at least 1 day"),
        ({"cal_event_type_id": "987654"}, "cal_event_type_id", "no event type 987654"),
        ({"duration_minutes": "90"}, "cal_event_type_id", "lasts 60 minutes but this package"),
    ],
)
async def test_bad_input_on_edit_is_refused_and_the_package_unchanged(
    coach: httpx.AsyncClient,
    owner: Database,
    changes: dict[str, str],
    field: str,
    message: str,
) -> None:
    before = await snapshot(owner)
    typed = {
        "title": "Monthly package",
        "description": "4 sessions of 60 minutes, to book within 31 days.",
        "price": "500.00",
        "duration_minutes": "60",
        "sessions": "4",
        "valid_days": "31",
        "cal_event_type_id": "1003",
        "active": "on",
        **changes,
    }

    answer = await post_form(coach, "/admin/packages/monthly", "/admin/packages/monthly", **typed)

    assert answer.status_code == 400
    assert message in field_error(answer.text, field)
    assert f'value="{html.escape(typed["price"])}"' in answer.text
    assert await snapshot(owner) == before


async def test_a_monthly_booking_keeps_its_package_when_the_coach_changes_the_price(
    coach: httpx.AsyncClient, owner: Database, coach_server: RunningServer
) -> None:
    existing = await create(coach, MONTHLY)

    edit = {
        "title": "Monthly coaching",
        "description": "4 sessions of 90 minutes, to book within 40 days.",
        "price": "600.00",
        "duration_minutes": "90",
        "sessions": "4",
        "valid_days": "40",
        "cal_event_type_id": "2090",
        "active": "on",
    }
    answer = await post_form(coach, "/admin/packages/monthly", "/admin/packages/monthly", **edit)
    assert answer.status_code == 303, answer.text

    kept = await booking_row(owner, existing["bookingId"])
    assert (kept.amount_cents, kept.package_title, kept.duration_minutes) == (
        50000,
        "Monthly package",
        60,
    )
    assert (kept.sessions_total, kept.valid_days, kept.cal_event_type_id) == (4, 31, 1003)
    assert (await status(coach, existing["bookingToken"]))["amountCents"] == 50000
    fresh = await create(coach, MONTHLY)
    new = await booking_row(owner, fresh["bookingId"])
    assert (new.amount_cents, new.package_title, new.duration_minutes) == (
        60000,
        "Monthly coaching",
        90,
    )
    assert (new.valid_days, new.cal_event_type_id) == (40, 2090)
    [*_, edited] = await changes_of(owner, "monthly")
    assert edited.action == "edited"
    assert edited.before is not None
    assert (edited.before["priceCents"], edited.after["priceCents"]) == (50000, 60000)
    assert edited.before["title"] == "Monthly package"
    history = await coach.get("/admin/packages/monthly")
    assert "edited" in history.text
    assert "admin (127.0.0.1)" in history.text


async def test_reordering_moves_a_package_and_is_audited(
    coach: httpx.AsyncClient, owner: Database
) -> None:
    order = [p["id"] for p in await packages_on_sale(coach)]
    moved = order[-1]

    answer = await post_form(
        coach, "/admin/packages", f"/admin/packages/{moved}/move", direction="up"
    )

    assert answer.status_code == 303
    assert [p["id"] for p in await packages_on_sale(coach)] == [
        *order[:-2],
        order[-1],
        order[-2],
    ]
    assert (await changes_of(owner, moved))[-1].action == "moved"


async def test_a_deactivated_package_leaves_the_shop_and_comes_back(
    coach: httpx.AsyncClient, owner: Database
) -> None:
    off = await post_form(coach, "/admin/packages", "/admin/packages/quarterly/active")

    assert off.status_code == 303
    assert "quarterly" not in [p["id"] for p in await packages_on_sale(coach)]
    refused = await coach.post(
        "/functions/v1/booking-create", json={**MONTHLY, "packageId": "quarterly"}
    )
    assert refused.status_code == 400
    assert "packageId" in refused.json()["error"]["fields"]
    assert "Quarterly package" not in (await coach.get("/")).text
    assert "quarterly" in (await coach.get("/admin/packages")).text
    assert (await changes_of(owner, "quarterly"))[-1].action == "deactivated"
    # An id is never reused, even after deactivation.
    again = await post_form(
        coach, "/admin/packages/new", "/admin/packages/new", **{**GOOD, "id": "quarterly"}
    )
    assert again.status_code == 400
    assert "already used" in field_error(again.text, "id")

    on = await post_form(coach, "/admin/packages", "/admin/packages/quarterly/active", active="on")

    assert on.status_code == 303
    assert "quarterly" in [p["id"] for p in await packages_on_sale(coach)]
    assert (await changes_of(owner, "quarterly"))[-1].action == "reactivated"
