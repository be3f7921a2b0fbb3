"""What an export holds and how it is written: date ranges, column lists, CSV and JSON bytes.

Pure: rows in, bytes out; the queries live in `export_repository`. The admin download and
`sessionbook export` both call `render`, so the two can never disagree. Every kind lists its
columns explicitly: a column added to a table never leaks into an export by itself, and
booking tokens or their hashes are never among them.

Formats: CSV (UTF-8, a header row; with `excel` a byte-order mark, CRLF line ends and cells
that a spreadsheet would run as a formula prefixed with a single quote) and JSON (one array of
objects, one object per line, so it is both `json.load`-able and easy to read with `head`).
Times are ISO 8601 in UTC ending in Z, with the coach's local time in a `_local` column beside
the main one; money is integer cents plus a decimal `amount` column (a string in JSON, so no
float ever rounds it).
"""

from __future__ import annotations

import csv
import enum
import io
import json
from collections.abc import AsyncIterable, AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sessionbook.payments.airwallex.money import MoneyError, cents_to_amount

Row = Mapping[Any, Any]
Cell = str | int | None

# OWASP's CSV injection advice: a cell starting with one of these is prefixed with a quote.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
UTF8_BOM = "\ufeff"


class ExportKind(enum.StrEnum):
    BOOKINGS = "bookings"
    SESSIONS = "sessions"
    PAYMENTS = "payments"
    REFUNDS = "refunds"


class ExportFormat(enum.StrEnum):
    CSV = "csv"
    JSON = "json"


MEDIA_TYPES = {
    ExportFormat.CSV: "text/csv; charset=utf-8",
    ExportFormat.JSON: "application/json",
}


class ExportRangeError(ValueError):
    """A date that is not a date, or a range that holds no day; `field` names the input."""

    def __init__(self, field: str, detail: str) -> None:
        super().__init__(f"{field}: {detail}")
        self.field = field
        self.detail = detail

    @property
    def message(self) -> str:
        return f"{self.field}: {self.detail}"


@dataclass(frozen=True, slots=True)
class DateRange:
    """Whole days in the coach's zone, both ends included, as the UTC instants [start, end)."""

    first_day: date
    last_day: date
    start: datetime
    end: datetime


def parse_day(text: str, field: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        shown = text.strip() or "(empty)"
        raise ExportRangeError(field, f"{shown!r} is not a date (YYYY-MM-DD)") from None


def parse_range(from_text: str, to_text: str, zone: ZoneInfo) -> DateRange:
    """`from` and `to` as YYYY-MM-DD days in `zone`; `to` before `from` holds no day: refused."""
    first_day = parse_day(from_text, "from")
    last_day = parse_day(to_text, "to")
    if last_day < first_day:
        raise ExportRangeError(
            "to", f"{last_day} is before the first day {first_day}: the range holds no day"
        )
    start = datetime.combine(first_day, time(), zone).astimezone(UTC)
    end = datetime.combine(last_day + timedelta(days=1), time(), zone).astimezone(UTC)
    return DateRange(first_day, last_day, start, end)


def filename(kind: ExportKind, days: DateRange, export_format: ExportFormat) -> str:
    return f"sessionbook-{kind.value}-{days.first_day}-to-{days.last_day}.{export_format.value}"


def utc_text(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds") + "Z"


def local_text(moment: datetime | None, zone: ZoneInfo) -> str | None:
    return None if moment is None else moment.astimezone(zone).isoformat(timespec="seconds")


def amount_text(cents: int | None, currency: str) -> str | None:
    if cents is None:
        return None
    try:
        amount: Decimal = cents_to_amount(cents, currency)
    except MoneyError:
        return None
    return str(amount)


@dataclass(frozen=True, slots=True)
class Column:
    """One exported column: its header and how a row's value becomes the cell."""

    name: str
    value: Callable[[Row, ZoneInfo], Cell]


def _field(name: str, source: str | None = None) -> Column:
    key = source or name

    def value(row: Row, _zone: ZoneInfo) -> Cell:
        raw = row[key]
        return None if raw is None else raw if isinstance(raw, int) else str(raw)

    return Column(name, value)


def _times(name: str, source: str | None = None) -> list[Column]:
    """The instant in UTC and, beside it, the same instant in the coach's zone."""
    key = source or name
    return [
        Column(name, lambda row, _zone: utc_text(row[key])),
        Column(f"{name}_local", lambda row, zone: local_text(row[key], zone)),
    ]


def _money(name: str, cents_source: str) -> list[Column]:
    return [
        Column(f"{name}_cents", lambda row, _zone: row[cents_source]),
        Column(name, lambda row, _zone: amount_text(row[cents_source], row["currency"])),
    ]


BOOKING_COLUMNS: tuple[Column, ...] = (
    _field("booking_id", "id"),
    *_times("created_at"),
    _field("status"),
    _field("payment_status"),
    _field("package_id"),
    _field("package_title"),
    _field("customer_name"),
    _field("customer_email"),
    _field("customer_phone"),
    _field("customer_timezone"),
    *_money("amount", "amount_cents"),
    *_money("refunded", "refunded_cents"),
    _field("currency"),
    _field("sessions_total"),
    _field("sessions_lapsed"),
    *_times("sessions_valid_until"),
    *_times("paid_at"),
    *_times("cancelled_at"),
    *_times("expired_at"),
    _field("notes"),
)

SESSION_COLUMNS: tuple[Column, ...] = (
    _field("session_id", "id"),
    _field("booking_id"),
    _field("state"),
    *_times("start_time"),
    *_times("end_time"),
    _field("customer_name"),
    _field("customer_email"),
    _field("package_title"),
    _field("cal_booking_id"),
    _field("cal_uid"),
    _field("meeting_url"),
    *_times("created_at"),
    *_times("cancelled_at"),
    _field("cancelled_by"),
)

PAYMENT_COLUMNS: tuple[Column, ...] = (
    _field("booking_id", "id"),
    *_times("paid_at"),
    _field("payment_status"),
    _field("payment_intent_id"),
    _field("payment_link_id"),
    *_money("amount", "amount_cents"),
    *_money("refunded", "refunded_cents"),
    _field("currency"),
    _field("package_id"),
    _field("customer_name"),
    _field("customer_email"),
)

REFUND_COLUMNS: tuple[Column, ...] = (
    _field("refund_id", "id"),
    _field("booking_id"),
    *_times("created_at"),
    *_times("updated_at"),
    _field("status"),
    *_money("amount", "amount_cents"),
    _field("currency"),
    _field("reason"),
    _field("provider_refund_id"),
    _field("payment_intent_id"),
    _field("customer_email"),
)

COLUMNS: dict[ExportKind, tuple[Column, ...]] = {
    ExportKind.BOOKINGS: BOOKING_COLUMNS,
    ExportKind.SESSIONS: SESSION_COLUMNS,
    ExportKind.PAYMENTS: PAYMENT_COLUMNS,
    ExportKind.REFUNDS: REFUND_COLUMNS,
}


def headers(kind: ExportKind) -> list[str]:
    return [column.name for column in COLUMNS[kind]]


def shape(kind: ExportKind, row: Row, zone: ZoneInfo) -> dict[str, Cell]:
    """One database row as the export's record: only the listed columns, in their order."""
    return {column.name: column.value(row, zone) for column in COLUMNS[kind]}


def defuse(cell: str) -> str:
    """A text cell a spreadsheet would evaluate (=, +, -, @, tab, CR first) made plain text."""
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell


def csv_text(rows: Sequence[Sequence[Cell]], *, excel: bool) -> str:
    """CSV lines of some rows; `excel` ends lines with CRLF and defuses every text cell."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n" if excel else "\n")
    for row in rows:
        cells = [defuse(cell) if excel and isinstance(cell, str) else cell for cell in row]
        writer.writerow(["" if cell is None else cell for cell in cells])
    return buffer.getvalue()


def json_lines(records: Sequence[Mapping[str, Cell]]) -> str:
    """Array elements, one object a line, comma-separated (the caller writes the brackets)."""
    return ",\n".join(json.dumps(record, ensure_ascii=False) for record in records)


@dataclass(frozen=True, slots=True)
class ExportRequest:
    kind: ExportKind
    days: DateRange
    export_format: ExportFormat
    excel: bool = False


async def render(
    request: ExportRequest, batches: AsyncIterable[Sequence[Row]], zone: ZoneInfo
) -> AsyncIterator[bytes]:
    """The export as UTF-8 chunks, one per batch of rows, so memory stays flat however long."""
    columns = headers(request.kind)
    if request.export_format is ExportFormat.CSV:
        head = csv_text([columns], excel=request.excel)
        yield ((UTF8_BOM if request.excel else "") + head).encode()
        async for batch in batches:
            records = [shape(request.kind, row, zone) for row in batch]
            cells = [[record[name] for name in columns] for record in records]
            yield csv_text(cells, excel=request.excel).encode()
        return
    yield b"["
    first = True
    async for batch in batches:
        if not batch:
            continue
        records = [shape(request.kind, row, zone) for row in batch]
        yield (("\n" if first else ",\n") + json_lines(records)).encode()
        first = False
    yield b"\n]\n"
