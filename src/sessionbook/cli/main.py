"""The `sessionbook` command: serve, migrate, sweep, refund, doctor, export."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import sys
from typing import Annotated, Any

import typer

from sessionbook.cli.admin import admin_app, bookings_app
from sessionbook.cli.admin import webhooks as webhooks_command
from sessionbook.cli.doctor import doctor as doctor_command
from sessionbook.cli.export import export as export_command
from sessionbook.core.settings import ConfigurationError, Settings, load_settings

app = typer.Typer(help="sessionbook: sell sessions, take payment, book the calendar.")


def _settings_or_exit() -> Settings:
    try:
        return load_settings()
    except ConfigurationError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(code=2) from None


# Long enough for a database on the other side of a network; short enough for an operator.
DATABASE_CHECK_TIMEOUT_SECONDS = 10.0


def _database_or_exit(settings: Settings) -> None:
    """Stop with one line naming DATABASE_URL and why, before a command needs the database."""
    from sessionbook.core.db import DATABASE_ERROR_TYPES

    failures: tuple[type[Exception], ...] = (
        *DATABASE_ERROR_TYPES,
        sqlite3.OperationalError,
        TimeoutError,
    )
    try:
        asyncio.run(_ping_database(settings.database_url))
    except failures as exc:
        typer.echo(f"DATABASE_URL: cannot reach the database ({_reason(exc)})", err=True)
        raise typer.Exit(code=2) from None


async def _ping_database(url: str) -> None:
    from sqlalchemy.engine import make_url

    from sessionbook.core.db import Database

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        # The file is opened here, in this thread: aiosqlite's worker thread, failing to open
        # it, would answer after asyncio.run closed the loop and print a traceback of its own.
        sqlite3.connect(parsed.database).close()
        return
    database = Database(url, pool_size=1)
    try:
        await asyncio.wait_for(database.ping(), DATABASE_CHECK_TIMEOUT_SECONDS)
    finally:
        await database.dispose()


def _reason(error: BaseException) -> str:
    """The driver's own words, on one line, without SQLAlchemy's statement and links."""
    original = getattr(error, "orig", None) or error
    if isinstance(original, TimeoutError) and not str(original):
        return f"no answer within {DATABASE_CHECK_TIMEOUT_SECONDS:g} s"
    words = " ".join(str(original).split()) or type(original).__name__
    return f"{type(original).__name__}: {words}"


# How long a worker process may take to start before uvicorn's supervisor replaces it.
WORKER_HEALTHCHECK_SECONDS = 60


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 1,
) -> None:
    """Serve the API, the booking pages and (without keys) the sandbox providers."""
    import uvicorn

    from sessionbook.core import migrate
    from sessionbook.core.logs import configure_logging

    if "SITE_URL" not in os.environ:
        # The sandbox clients call this very server, so the default must follow the port.
        shown_host = "127.0.0.1" if host in ("0.0.0.0", "::") else host  # noqa: S104
        os.environ["SITE_URL"] = f"http://{shown_host}:{port}"
    settings = _settings_or_exit()
    configure_logging(level=settings.log_level, json_format=settings.log_format == "json")
    _database_or_exit(settings)
    if settings.is_sqlite:
        try:
            migrate.upgrade(settings.database_url, settings=settings)
        except ConfigurationError as exc:  # SESSIONBOOK_CATALOG seeds the first packages
            typer.echo(str(exc), err=True)
            raise typer.Exit(code=2) from None
    elif not migrate.is_current(settings.database_url):
        typer.echo("database is not at the latest migration: run `sessionbook migrate`", err=True)
        raise typer.Exit(code=2)
    try:
        from sessionbook.app import create_app

        create_app(settings)  # fail fast, naming the variable, before binding the port
    except ConfigurationError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(code=2) from None
    from sessionbook.core.metrics import prepare_multiprocess_directory

    prepare_multiprocess_directory()
    uvicorn.run(
        "sessionbook.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=False,
        log_config=None,
        proxy_headers=False,
        server_header=False,
        # uvicorn kills and restarts a worker that has not answered its supervisor within this
        # (5 s by default); a worker imports the whole app first, which on a busy 2-core host
        # took longer, so `--workers 2` restarted its workers forever and never served.
        timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
    )


@app.command("migrate")
def migrate_command() -> None:
    """Apply pending database migrations to DATABASE_URL."""
    from sessionbook.core import migrate

    settings = _settings_or_exit()
    _database_or_exit(settings)
    try:
        migrate.upgrade(settings.database_url, settings=settings)
    except ConfigurationError as exc:  # SESSIONBOOK_CATALOG seeds the first packages
        typer.echo(str(exc), err=True)
        raise typer.Exit(code=2) from None
    typer.echo("database is at the latest migration")


@app.command()
def sweep(
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """One pass of background duties: expire, reconcile payments, retry provider calls."""
    from sessionbook.core.logs import configure_logging

    settings = _settings_or_exit()
    configure_logging(level=settings.log_level, json_format=settings.log_format == "json")
    _database_or_exit(settings)
    report = asyncio.run(_sweep(settings))
    if as_json:
        typer.echo(json.dumps(report))
    else:
        for duty, count in sorted(report.items()):
            typer.echo(f"{duty}: {count}")
    if any(duty.endswith("_failed") for duty in report):
        sys.exit(1)


async def _sweep(settings: Settings) -> dict[str, int]:
    from sessionbook.bootstrap import build_services
    from sessionbook.monitoring.sweep import run_sweep

    services = build_services(settings)
    try:
        return (await run_sweep(services.sweep_duties)).counts
    finally:
        await services.aclose()


@app.command()
def refund(
    booking_id: Annotated[str, typer.Argument(help="The booking's id (bookingId).")],
    amount: Annotated[
        int | None,
        typer.Option("--amount", min=1, help="Cents to refund; default: all that is left."),
    ] = None,
    reason: Annotated[str, typer.Option(help="Why; kept in the audit trail.")] = (
        "refund by operator"
    ),
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Refund a paid booking through Airwallex; running it again never refunds twice."""
    from sessionbook.core.errors import ServiceError
    from sessionbook.core.logs import configure_logging
    from sessionbook.core.money import format_money

    settings = _settings_or_exit()
    configure_logging(level=settings.log_level, json_format=settings.log_format == "json")
    if amount is None:
        _refuse_whole_refund_of_a_used_package(settings, booking_id)
    try:
        result = asyncio.run(_refund(settings, booking_id, amount, reason))
    except ServiceError as exc:
        typer.echo(f"refund failed ({exc.code}): {exc.message}", err=True)
        raise typer.Exit(code=1) from None
    if as_json:
        typer.echo(json.dumps({**result, "bookingId": booking_id.strip()}))
        return
    money = format_money(result["amountCents"], result["currency"])
    verb = "refund requested" if result["created"] else "refund already requested earlier"
    typer.echo(f"{verb}: {money} of booking {booking_id.strip()}")
    typer.echo(f"status: {result['status']}")
    typer.echo(f"request id: {result['requestId']}")
    typer.echo(f"airwallex refund id: {result['providerRefundId'] or '(not known yet)'}")


def _refuse_whole_refund_of_a_used_package(settings: Settings, booking_id: str) -> None:
    """A partly used package is refunded its unused share only when the operator says so.

    Without --amount the command would refund all that is left; for a package of which some
    sessions are used, print the suggested share and stop, so the amount is always explicit.
    """
    import uuid

    from sessionbook.bookings.errors import BookingNotFound
    from sessionbook.cli.admin import load_detail, refund_suggestion

    try:
        parsed = uuid.UUID(booking_id.strip())
        suggestion = refund_suggestion(load_detail(parsed, settings))
    except (ValueError, BookingNotFound):
        return  # the refund itself answers with its own error
    if suggestion is not None:
        typer.echo(f"this package is partly used. {suggestion}", err=True)
        typer.echo("run again with --amount CENTS to refund that (or another) amount", err=True)
        raise typer.Exit(code=2)


async def _refund(
    settings: Settings, booking_id: str, amount: int | None, reason: str
) -> dict[str, Any]:
    from sessionbook.bootstrap import build_services

    services = build_services(settings)
    try:
        result = await services.payments.refund(
            booking_id, amount_cents=amount, reason=reason, source="cli"
        )
    finally:
        await services.aclose()
    return {
        "requestId": result.request_id,
        "providerRefundId": result.provider_refund_id,
        "amountCents": result.amount_cents,
        "currency": result.currency,
        "status": result.status,
        "created": result.created,
    }


# The operator's views and set-up commands live with the admin (sessionbook.cli.admin).
app.add_typer(bookings_app, name="bookings")
app.command("webhooks")(webhooks_command)
app.command("doctor")(doctor_command)
app.command("export")(export_command)
app.add_typer(admin_app, name="admin")


if __name__ == "__main__":  # pragma: no cover
    app()
