"""Exports of bookings, sessions, payments and refunds: admin downloads and `sessionbook export`.

Every booking here is dated in March 2021 (or just outside it), a month no other test uses,
and the coach's zone is Europe/London, whose clocks went forward on 28 March 2021: the last
second of March in London is 22:59:59 UTC.
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import insert
from typer.testing import CliRunner, Result

from sessionbook.admin.export_repository import ExportReader
from sessionbook.admin.exports import (
    ExportFormat,
    ExportKind,
    ExportRangeError,
    ExportRequest,
    csv_text,
    defuse,
    headers,
    parse_range,
    render,
)
from sessionbook.bookings.models import Booking
from sessionbook.cli.main import app
from sessionbook.core.db import SERVICE, Database
from sessionbook.payments.models import PaymentRefund
from tests.conftest import DatabaseUnderTest, RunningServer, run_server
from tests.operations.support import ADMIN_SETTINGS, PAID, add_session, create, pay, sign_in
from tests.support.queries import booking_row, set_booking

ZONE_NAME = "Europe/London"
LONDON = ZoneInfo(ZONE_NAME)
MARCH = ("2021-03-01", "2021-03-31")
FORMULA_NAME = '=HYPERLINK("http://evil.example","click")'
AWKWARD_NOTES = 'Zoë says "hi", then\nanother line; 日本語'


@dataclass
class Seeded:
    """The bookings of March 2021 as the API made them: ids, tokens, what lies where."""

    first: dict[str, Any]  # paid, at the first second of March (London)
    last: dict[str, Any]  # the last second of March (London)
    before: dict[str, Any]  # the second before March
    after: dict[str, Any]  # the first second of April (London)
    session_id: uuid.UUID
    refund_id: uuid.UUID
    token_hashes: list[str]

    @property
    def every(self) -> list[dict[str, Any]]:
        return [self.first, self.last, self.before, self.after]


@pytest.fixture(scope="module")
def export_server(test_db: DatabaseUnderTest) -> Iterator[RunningServer]:
    with run_server(test_db, coach_timezone=ZONE_NAME, **ADMIN_SETTINGS) as running:
        yield running


@pytest.fixture(scope="module")
async def seeded(export_server: RunningServer, owner_db: Database) -> Seeded:
    async with export_server.client() as api:
        first, last, before, after = [
            await create(api, {**PAID, "customerEmail": f"export-{n}@example.com"})
            for n in ("first", "last", "before", "after")
        ]
        await pay(api, export_server.url + "/sandbox/airwallex", first)
    march_first = datetime(2021, 3, 1, tzinfo=UTC)
    await set_booking(
        owner_db,
        first["bookingId"],
        created_at=march_first,
        paid_at=march_first + timedelta(days=1, hours=10),
        customer_name=FORMULA_NAME,
        notes=AWKWARD_NOTES,
    )
    await set_booking(
        owner_db, last["bookingId"], created_at=datetime(2021, 3, 31, 22, 59, 59, tzinfo=UTC)
    )
    await set_booking(owner_db, before["bookingId"], created_at=march_first - timedelta(seconds=1))
    await set_booking(
        owner_db, after["bookingId"], created_at=datetime(2021, 3, 31, 23, tzinfo=UTC)
    )
    session_id = await add_session(
        owner_db, first["bookingId"], datetime(2021, 3, 5, 10, tzinfo=UTC), minutes=60
    )
    stored = await booking_row(owner_db, first["bookingId"])
    refund_id = uuid.uuid4()
    async with owner_db.transaction(SERVICE) as session:
        session.add(
            PaymentRefund(
                id=refund_id,
                booking_id=stored.id,
                request_id=f"refund-{refund_id}",
                payment_intent_id=stored.payment_intent_id or "int_test",
                amount_cents=4050,
                currency=stored.currency,
                reason="+goodwill",
                status="settled",
                created_at=march_first + timedelta(days=6),
                updated_at=march_first + timedelta(days=7),
            )
        )
    hashes = [
        (await booking_row(owner_db, b["bookingId"])).token_hash
        for b in (first, last, before, after)
    ]
    return Seeded(first, last, before, after, session_id, refund_id, hashes)


@pytest.fixture
async def admin(export_server: RunningServer) -> AsyncIterator[httpx.AsyncClient]:
    async with export_server.client() as client:
        answer = await sign_in(client)
        assert answer.status_code == 303, answer.text
        yield client


async def sessionbook(test_db: DatabaseUnderTest, *args: str) -> Result:
    """`sessionbook ...` against the test database, as an operator's shell would run it."""
    env = {"DATABASE_URL": test_db.app_url, "COACH_TIMEZONE": ZONE_NAME, "LOG_LEVEL": "error"}
    return await asyncio.to_thread(CliRunner().invoke, app, list(args), env=env)


async def exported(test_db: DatabaseUnderTest, kind: str, *extra: str) -> Result:
    return await sessionbook(test_db, "export", kind, "--from", MARCH[0], "--to", MARCH[1], *extra)


def read_csv(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"), newline="")))


# Pure shaping: no database.


def test_a_range_is_whole_days_in_the_coachs_zone() -> None:
    days = parse_range("2021-03-01", "2021-03-31", LONDON)
    assert days.start == datetime(2021, 3, 1, tzinfo=UTC)
    assert days.end == datetime(2021, 3, 31, 23, tzinfo=UTC)  # April 1st, 00:00 BST
    one_day = parse_range("2021-06-01", "2021-06-01", LONDON)
    assert one_day.end - one_day.start == timedelta(days=1)


@pytest.mark.parametrize(
    ("start", "end", "field"),
    [
        ("2021-02-30", "2021-03-01", "from"),
        ("yesterday", "2021-03-01", "from"),
        ("2021-03-01", "", "to"),
        ("2021-03-02", "2021-03-01", "to"),
    ],
)
def test_a_bad_date_or_an_empty_range_is_refused_naming_the_field(
    start: str, end: str, field: str
) -> None:
    with pytest.raises(ExportRangeError) as refused:
        parse_range(start, end, LONDON)
    assert refused.value.field == field
    assert refused.value.message.startswith(f"{field}: ")


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_cells_a_spreadsheet_would_run_are_prefixed_with_a_quote(start: str) -> None:
    assert defuse(start + "1+1") == "'" + start + "1+1"
    assert defuse("a" + start) == "a" + start


def test_excel_csv_has_crlf_and_defused_text_but_numbers_untouched() -> None:
    text = csv_text([["=cmd", -5, None, "plain"]], excel=True)
    assert text == "'=cmd,-5,,plain\r\n"
    assert csv_text([["=cmd", 1]], excel=False) == "=cmd,1\n"


async def _no_rows() -> AsyncIterator[list[dict[str, Any]]]:
    nothing: list[list[dict[str, Any]]] = []
    for batch in nothing:
        yield batch


async def test_an_empty_export_is_a_header_or_an_empty_array() -> None:
    days = parse_range(*MARCH, LONDON)
    csv_request = ExportRequest(ExportKind.REFUNDS, days, ExportFormat.CSV, excel=True)
    json_request = ExportRequest(ExportKind.REFUNDS, days, ExportFormat.JSON)
    csv_bytes = b"".join([chunk async for chunk in render(csv_request, _no_rows(), LONDON)])
    json_bytes = b"".join([chunk async for chunk in render(json_request, _no_rows(), LONDON)])
    assert csv_bytes == ("\ufeff" + ",".join(headers(ExportKind.REFUNDS)) + "\r\n").encode()
    assert json.loads(json_bytes) == []


# Against the database, through the CLI and the admin.


async def test_csv_round_trip_gives_back_exactly_the_rows_of_the_range(
    test_db: DatabaseUnderTest, seeded: Seeded, owner_db: Database
) -> None:
    result = await exported(test_db, "bookings", "--format", "csv")
    assert result.exit_code == 0, result.stderr

    rows = read_csv(result.stdout_bytes)
    assert [row["booking_id"] for row in rows] == [
        seeded.first["bookingId"],
        seeded.last["bookingId"],
    ]
    assert list(rows[0]) == headers(ExportKind.BOOKINGS)
    first = rows[0]
    stored = await booking_row(owner_db, seeded.first["bookingId"])
    assert first["customer_name"] == FORMULA_NAME  # plain CSV keeps it as it is
    assert first["notes"] == AWKWARD_NOTES
    assert first["created_at"] == "2021-03-01T00:00:00Z"
    assert first["created_at_local"] == "2021-03-01T00:00:00+00:00"
    assert first["paid_at"] == "2021-03-02T10:00:00Z"
    assert first["amount_cents"] == str(stored.amount_cents) == "15000"
    assert first["amount"] == "150.00"
    assert first["payment_status"] == "paid"
    assert first["expired_at"] == ""
    assert rows[1]["created_at_local"] == "2021-03-31T23:59:59+01:00"


async def test_json_round_trip_matches_the_csv_value_for_value(
    test_db: DatabaseUnderTest, seeded: Seeded
) -> None:
    as_csv = await exported(test_db, "bookings")
    as_json = await exported(test_db, "bookings", "--format", "json")
    assert as_json.exit_code == 0, as_json.stderr

    records = json.loads(as_json.stdout_bytes)
    assert [record["booking_id"] for record in records] == [
        seeded.first["bookingId"],
        seeded.last["bookingId"],
    ]
    assert records[0]["amount_cents"] == 15000
    assert records[0]["amount"] == "150.00"
    assert records[0]["notes"] == AWKWARD_NOTES
    assert records[0]["expired_at"] is None
    as_text = [{k: "" if v is None else str(v) for k, v in r.items()} for r in records]
    assert as_text == read_csv(as_csv.stdout_bytes)


async def test_sessions_payments_and_refunds_of_the_range(
    test_db: DatabaseUnderTest, seeded: Seeded
) -> None:
    sessions = json.loads((await exported(test_db, "sessions", "--format", "json")).stdout_bytes)
    payments = json.loads((await exported(test_db, "payments", "--format", "json")).stdout_bytes)
    refunds = read_csv((await exported(test_db, "refunds")).stdout_bytes)

    assert [(s["session_id"], s["booking_id"]) for s in sessions] == [
        (str(seeded.session_id), seeded.first["bookingId"])
    ]
    assert sessions[0]["start_time"] == "2021-03-05T10:00:00Z"
    assert sessions[0]["end_time"] == "2021-03-05T11:00:00Z"
    assert sessions[0]["customer_email"] == "export-first@example.com"
    assert [p["booking_id"] for p in payments] == [seeded.first["bookingId"]]
    assert payments[0]["paid_at"] == "2021-03-02T10:00:00Z"
    assert payments[0]["payment_intent_id"]
    assert [r["refund_id"] for r in refunds] == [str(seeded.refund_id)]
    assert (refunds[0]["amount_cents"], refunds[0]["amount"]) == ("4050", "40.50")
    assert (refunds[0]["status"], refunds[0]["reason"]) == ("settled", "+goodwill")


async def test_no_export_ever_contains_a_booking_token_or_its_hash(
    test_db: DatabaseUnderTest, seeded: Seeded, admin: httpx.AsyncClient
) -> None:
    secrets = [b["bookingToken"] for b in seeded.every] + seeded.token_hashes
    secrets += [hashlib.sha256(b["bookingToken"].encode()).hexdigest() for b in seeded.every]
    outputs: list[str] = []
    wide = ("--from", "2000-01-01", "--to", "2099-12-31")
    for kind in ExportKind:
        for extra in ((), ("--format", "json"), ("--excel",)):
            result = await sessionbook(test_db, "export", kind.value, *wide, *extra)
            assert result.exit_code == 0, result.stderr
            outputs.append(result.stdout)
        answer = await admin.get(f"/admin/exports/{kind.value}.json?from=2000-01-01&to=2099-12-31")
        outputs.append(answer.text)
    everything = "\n".join(outputs)
    assert seeded.before["bookingId"] in everything  # the wide range does reach every booking
    for secret in secrets:
        assert secret not in everything
        assert secret.upper() not in everything.upper()


async def test_excel_option_gives_bom_crlf_and_defused_cells(
    test_db: DatabaseUnderTest, seeded: Seeded
) -> None:
    result = await exported(test_db, "bookings", "--excel")
    refunds = await exported(test_db, "refunds", "--excel")

    data = result.stdout_bytes
    assert data.startswith(b"\xef\xbb\xbf")
    assert data.count(b"\r\n") == 3  # the header and two rows
    # The one bare line feed left is the line break inside the notes cell, as Excel keeps it.
    assert data.replace(b"\r\n", b"").count(b"\n") == AWKWARD_NOTES.count("\n") == 1
    rows = read_csv(data.removeprefix(b"\xef\xbb\xbf"))
    assert rows[0]["customer_name"] == "'" + FORMULA_NAME
    assert rows[0]["amount_cents"] == "15000"
    assert read_csv(refunds.stdout_bytes.removeprefix(b"\xef\xbb\xbf"))[0]["reason"] == "'+goodwill"


async def test_admin_download_streams_an_attachment_that_is_not_cached(
    test_db: DatabaseUnderTest, seeded: Seeded, admin: httpx.AsyncClient
) -> None:
    query = f"from={MARCH[0]}&to={MARCH[1]}"
    answer = await admin.get(f"/admin/exports/bookings.csv?{query}&excel=1")
    as_json = await admin.get(f"/admin/exports/payments.json?{query}")
    cli = await exported(test_db, "bookings", "--excel")

    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert answer.headers["content-disposition"] == (
        'attachment; filename="sessionbook-bookings-2021-03-01-to-2021-03-31.csv"'
    )
    assert answer.headers["cache-control"] == "no-store"
    assert answer.content == cli.stdout_bytes  # one code path for both
    assert as_json.headers["content-type"] == "application/json"
    assert [p["booking_id"] for p in as_json.json()] == [seeded.first["bookingId"]]


async def test_admin_form_sends_on_to_the_file_and_refuses_bad_dates_naming_the_field(
    seeded: Seeded, admin: httpx.AsyncClient, export_server: RunningServer
) -> None:
    page = await admin.get("/admin/exports")
    dashboard = await admin.get("/admin")
    submitted = await admin.get(
        "/admin/exports/download",
        params={
            "kind": "sessions",
            "format": "csv",
            "from": MARCH[0],
            "to": MARCH[1],
            "excel": "1",
        },
    )
    bad_day = await admin.get("/admin/exports/bookings.csv?from=2021-02-30&to=2021-03-31")
    backwards = await admin.get(
        "/admin/exports/download",
        params={"kind": "bookings", "format": "json", "from": "2021-04-01", "to": "2021-03-01"},
    )
    unknown = await admin.get(f"/admin/exports/tokens.csv?from={MARCH[0]}&to={MARCH[1]}")

    assert page.status_code == 200
    assert 'action="/admin/exports/download"' in page.text
    assert 'href="/admin/exports"' in dashboard.text
    assert submitted.status_code == 303
    assert submitted.headers["location"] == (
        f"/admin/exports/sessions.csv?from={MARCH[0]}&to={MARCH[1]}&excel=1"
    )
    assert bad_day.status_code == 400
    assert 'id="from-error"' in bad_day.text
    assert "2021-02-30" in bad_day.text
    assert "text/html" in bad_day.headers["content-type"]
    assert backwards.status_code == 400
    assert 'id="to-error"' in backwards.text
    assert unknown.status_code == 404
    async with export_server.client() as stranger:
        refused = await stranger.get(f"/admin/exports/bookings.csv?from={MARCH[0]}&to={MARCH[1]}")
    assert refused.status_code == 303
    assert refused.headers["location"] == "/admin/login"


async def test_cli_refuses_bad_dates_and_empty_ranges_with_exit_2(
    test_db: DatabaseUnderTest, seeded: Seeded, tmp_path: Path
) -> None:
    bad = await sessionbook(test_db, "export", "bookings", "--from", "2021-3-1x", "--to", MARCH[1])
    empty = await sessionbook(test_db, "export", "bookings", "--from", MARCH[1], "--to", MARCH[0])
    unknown = await sessionbook(test_db, "export", "tokens", "--from", MARCH[0], "--to", MARCH[1])
    target = tmp_path / "bookings.json"
    written = await exported(test_db, "bookings", "--format", "json", "--output", str(target))

    assert bad.exit_code == 2
    assert bad.stdout == ""
    assert bad.stderr == "--from: '2021-3-1x' is not a date (YYYY-MM-DD)\n"
    assert empty.exit_code == 2
    assert empty.stderr == (
        "--to: 2021-03-01 is before the first day 2021-03-31: the range holds no day\n"
    )
    assert unknown.exit_code == 2
    assert written.exit_code == 0
    assert written.stdout == ""
    assert len(json.loads(target.read_bytes())) == 2


async def test_a_large_export_is_read_in_batches_without_losing_or_repeating_a_row(
    test_db: DatabaseUnderTest, seeded: Seeded, owner_db: Database
) -> None:
    # 5,000 bookings over a few seconds of 2019: many share a created_at, also across batches.
    base = datetime(2019, 6, 1, 12, tzinfo=UTC)
    rows = [
        {
            "id": uuid.uuid4(),
            "token_hash": hashlib.sha256(f"bulk-{n}".encode()).hexdigest(),
            "package_id": "single",
            "package_title": "Single session",
            "duration_minutes": 60,
            "sessions_total": 1,
            "amount_cents": 15000,
            "currency": "USD",
            "customer_name": f"Bulk {n}",
            "customer_email": f"bulk-{n}@example.com",
            "status": "pending",
            "payment_status": "pending",
            "cal_event_type_id": 1,
            "booking_metadata": {},
            "expires_at": base + timedelta(hours=1),
            "created_at": base + timedelta(seconds=n % 7),
            "updated_at": base,
        }
        for n in range(5000)
    ]
    async with owner_db.transaction(SERVICE) as session:
        await session.execute(insert(Booking), rows)

    reader = ExportReader(Database(test_db.app_url), batch_size=1000)
    try:
        days = parse_range("2019-06-01", "2019-06-01", LONDON)
        sizes: list[int] = []
        seen: list[str] = []
        async for batch in reader.batches(ExportKind.BOOKINGS, days.start, days.end):
            sizes.append(len(batch))
            seen += [str(row["id"]) for row in batch]
    finally:
        await reader.database.dispose()
    cli = await sessionbook(
        test_db, "export", "bookings", "--from", "2019-06-01", "--to", "2019-06-01"
    )

    assert sizes == [1000] * 5
    assert sorted(seen) == sorted(str(row["id"]) for row in rows)
    assert cli.exit_code == 0, cli.stderr
    assert len(read_csv(cli.stdout_bytes)) == 5000
