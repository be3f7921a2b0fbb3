"""`sessionbook export KIND --from DATE --to DATE`: the admin's exports on the command line."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Annotated, BinaryIO
from zoneinfo import ZoneInfo

import typer

from sessionbook.admin.export_repository import ExportReader
from sessionbook.admin.exports import (
    ExportFormat,
    ExportKind,
    ExportRangeError,
    ExportRequest,
    parse_range,
    render,
)
from sessionbook.core.db import DATABASE_ERROR_TYPES, Database
from sessionbook.core.settings import ConfigurationError, Settings, load_settings


def export(
    kind: Annotated[ExportKind, typer.Argument(help="What to export.")],
    from_day: Annotated[
        str, typer.Option("--from", help="First day (YYYY-MM-DD, coach's zone), included.")
    ],
    to_day: Annotated[
        str, typer.Option("--to", help="Last day (YYYY-MM-DD, coach's zone), included.")
    ],
    export_format: Annotated[
        ExportFormat, typer.Option("--format", help="csv or json.")
    ] = ExportFormat.CSV,
    excel: Annotated[
        bool,
        typer.Option("--excel", help="CSV for a spreadsheet: byte-order mark, CRLF, no formulas."),
    ] = False,
    output: Annotated[
        Path | None, typer.Option("--output", help="Write to this file instead of stdout.")
    ] = None,
) -> None:
    """Bookings, sessions, payments or refunds of a range of days as CSV or JSON, streamed.

    Booking tokens and their hashes are never exported. Exit 2: a bad date or an empty range.
    """
    settings = _settings()
    zone = ZoneInfo(settings.coach_timezone)
    try:
        days = parse_range(from_day, to_day, zone)
    except ExportRangeError as error:
        typer.echo(f"--{error.field}: {error.detail}", err=True)
        raise typer.Exit(code=2) from None
    request = ExportRequest(kind, days, export_format, excel=excel)
    try:
        if output is None:
            asyncio.run(_write(settings, request, zone, sys.stdout.buffer))
        else:
            with output.open("wb") as target:
                asyncio.run(_write(settings, request, zone, target))
    except DATABASE_ERROR_TYPES as error:
        if output is not None:
            output.unlink(missing_ok=True)  # half a file would pass for a whole one
        typer.echo(f"export failed: {type(error).__name__}: {error}".splitlines()[0], err=True)
        raise typer.Exit(code=1) from None


def _settings() -> Settings:
    try:
        return load_settings()
    except ConfigurationError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(code=2) from None


async def _write(
    settings: Settings, request: ExportRequest, zone: ZoneInfo, target: BinaryIO
) -> None:
    database = Database(settings.database_url, pool_size=1)
    try:
        reader = ExportReader(database)
        batches = reader.batches(request.kind, request.days.start, request.days.end)
        async for chunk in render(request, batches, zone):
            target.write(chunk)
        target.flush()
    finally:
        await database.dispose()
