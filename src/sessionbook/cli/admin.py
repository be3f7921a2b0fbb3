"""The operator views on the command line: `sessionbook bookings ...`, `webhooks`, `admin ...`."""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Annotated, TypeVar
from zoneinfo import ZoneInfo

import typer

from sessionbook.admin.models import AdminSessionRecord
from sessionbook.admin.paging import cursor_after, parse_cursor
from sessionbook.admin.service import AdminService
from sessionbook.admin.views import (
    BookingDetail,
    BookingRow,
    booking_summary,
    detail_summary,
    webhook_summary,
)
from sessionbook.bookings.errors import BookingNotFound
from sessionbook.bootstrap import build_admin_reader
from sessionbook.core.money import format_charge, format_money, payment_label
from sessionbook.core.settings import ConfigurationError, Settings, load_settings

bookings_app = typer.Typer(help="Look at bookings: the monitoring views of the dashboard.")
admin_app = typer.Typer(help="Set up the /admin dashboard.")

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
LimitOption = Annotated[int, typer.Option(min=1, max=1000, help="At most this many rows.")]
T = TypeVar("T")


def _settings() -> Settings:
    try:
        return load_settings()
    except ConfigurationError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(code=2) from None


def _run(use: Callable[[AdminService], Awaitable[T]]) -> tuple[T, Settings]:
    settings = _settings()

    async def go() -> T:
        service = build_admin_reader(settings)
        try:
            return await use(service)
        finally:
            await service.database.dispose()

    return asyncio.run(go()), settings


def _when(moment: datetime | None, zone: ZoneInfo) -> str:
    return "" if moment is None else f"{moment.astimezone(zone):%Y-%m-%d %H:%M}"


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def table(rows: Sequence[Sequence[str]], headers: Sequence[str]) -> str:
    """Columns padded to their widest cell; plain text, so it pipes into grep and less."""
    widths = [
        max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=False)
    ]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines += [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows
    ]
    return "\n".join(lines)


def sessions_text(booked: int, total: int, lapsed: int) -> str:
    """ "2/4" booked of total, with the lapsed ones when there are any: "3/4 (1 lapsed)"."""
    return f"{booked}/{total}" + (f" ({lapsed} lapsed)" if lapsed else "")


def _print_bookings(bookings: Sequence[BookingRow], settings: Settings, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps([booking_summary(row) for row in bookings], indent=2))
        return
    if not bookings:
        typer.echo("no bookings")
        return
    zone = ZoneInfo(settings.coach_timezone)
    rows = [
        [
            str(b.id),
            _when(b.created_at, zone),
            _clip(f"{b.customer_name} <{b.customer_email}>", 40),
            b.package_id,
            b.status,
            payment_label(b.payment_status, b.amount_cents),
            format_charge(b.amount_cents, b.currency),
            sessions_text(row.sessions_booked, b.sessions_total, b.sessions_lapsed),
            _when(b.sessions_valid_until, zone),
            _when(row.session_start, zone),
        ]
        for row in bookings
        for b in (row.booking,)
    ]
    headers = [
        "ID",
        "CREATED",
        "CUSTOMER",
        "PACKAGE",
        "STATUS",
        "PAYMENT",
        "AMOUNT",
        "SESSIONS",
        "VALID UNTIL",
        "SESSION",
    ]
    typer.echo(table(rows, headers))
    typer.echo(f"({len(bookings)} bookings; times in {settings.coach_timezone})")


@bookings_app.command("list")
def list_bookings(
    status: Annotated[
        str | None, typer.Option(help="Only this status, e.g. paid (= paid, not scheduled).")
    ] = None,
    limit: LimitOption = 50,
    before: Annotated[
        str | None,
        typer.Option(help="The page after this cursor (printed under a full page)."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """All bookings, newest first, a page at a time."""
    after = None
    if before is not None:
        try:
            after = parse_cursor(before)
        except ValueError as error:
            typer.echo(f"--before {error}", err=True)
            raise typer.Exit(code=2) from None
    found, settings = _run(lambda admin: admin.recent(limit=limit, status=status, before=after))
    _print_bookings(found, settings, as_json)
    if len(found) == limit and not as_json:
        typer.echo(f"next page: --before {cursor_after(found[-1].booking)}")


@bookings_app.command("pending")
def pending(limit: LimitOption = 50, as_json: JsonOption = False) -> None:
    """Bookings of the last 24 hours still waiting for payment."""
    found, settings = _run(lambda admin: admin.awaiting_payment(limit=limit))
    _print_bookings(found, settings, as_json)


@bookings_app.command("today")
def today(limit: LimitOption = 50, as_json: JsonOption = False) -> None:
    """Sessions scheduled today in COACH_TIMEZONE, earliest first."""
    (day, found), settings = _run(lambda admin: admin.scheduled_today(limit=limit))
    if not as_json:
        typer.echo(f"scheduled on {day.isoformat()} ({settings.coach_timezone})")
    _print_bookings(found, settings, as_json)


@bookings_app.command("unscheduled")
def unscheduled(limit: LimitOption = 50, as_json: JsonOption = False) -> None:
    """Who paid (or took the free call) but has not picked a time yet; longest waiting first."""
    found, settings = _run(lambda admin: admin.paid_not_scheduled(limit=limit))
    _print_bookings(found, settings, as_json)


@bookings_app.command("lapsing")
def lapsing(
    days: Annotated[int, typer.Option(min=1, max=366, help="Validity ending within days.")] = 14,
    limit: LimitOption = 50,
    as_json: JsonOption = False,
) -> None:
    """Paid packages with sessions left to book whose validity ends soon; soonest first."""
    found, settings = _run(lambda admin: admin.lapsing(within=timedelta(days=days), limit=limit))
    _print_bookings(found, settings, as_json)


@bookings_app.command("search")
def search(
    query: Annotated[
        str, typer.Argument(help="Start of an email or name, a booking id or a provider id.")
    ],
    limit: LimitOption = 50,
    as_json: JsonOption = False,
) -> None:
    """Bookings whose email or name starts with QUERY (any case), or with this id."""
    found, settings = _run(lambda admin: admin.search(query, limit=limit))
    _print_bookings(found, settings, as_json)


@bookings_app.command("show")
def show(
    booking_id: Annotated[str, typer.Argument(help="The booking's id.")],
    as_json: JsonOption = False,
) -> None:
    """One booking with its whole audit trail, emails, webhooks and refunds."""
    try:
        parsed = uuid.UUID(booking_id.strip())
    except ValueError:
        typer.echo(f"not a booking id: {booking_id!r}", err=True)
        raise typer.Exit(code=2) from None
    try:
        detail, settings = _run(lambda admin: admin.detail(parsed))
    except BookingNotFound:
        typer.echo(f"no booking {parsed}", err=True)
        raise typer.Exit(code=1) from None
    summary = detail_summary(detail)
    if as_json:
        typer.echo(json.dumps(summary, indent=2, default=str))
        return
    zone = ZoneInfo(settings.coach_timezone)
    b = detail.booking
    typer.echo(f"booking   {b.id}")
    typer.echo(f"customer  {b.customer_name} <{b.customer_email}> {b.customer_phone or ''}")
    typer.echo(f"package   {b.package_id}, {format_charge(b.amount_cents, b.currency)}")
    typer.echo(f"status    {b.status}, payment {payment_label(b.payment_status, b.amount_cents)}")
    live = detail.live_sessions
    typer.echo(
        f"sessions  {sessions_text(len(live), b.sessions_total, b.sessions_lapsed)} booked, "
        f"{detail.sessions_remaining} left, valid until "
        f"{_when(b.sessions_valid_until, zone) or 'no limit'}"
    )
    for number, session in enumerate(detail.sessions, start=1):
        typer.echo(
            f"  {number:>2}. {_when(session.start_time, zone)}  {session.state:<9}  "
            f"cal {session.cal_booking_id} {session.meeting_url or ''}".rstrip()
        )
    refunded = format_money(b.refunded_cents, b.currency) if b.refunded_cents else "nothing"
    typer.echo(f"refunded  {refunded}")
    suggestion = refund_suggestion(detail)
    if suggestion:
        typer.echo(f"unused    {suggestion}")
    typer.echo("")
    rows = [
        [
            _when(e.created_at, zone),
            e.event_type,
            e.source,
            f"{e.from_status or ''} -> {e.to_status or ''}",
            _clip(json.dumps(e.data, sort_keys=True, default=str) if e.data else "", 80),
        ]
        for e in detail.events
    ]
    typer.echo(table(rows, ["WHEN", "EVENT", "SOURCE", "STATUS", "DETAILS"]))
    for title, items in (
        ("emails", summary["notifications"]),
        ("webhooks", summary["webhooks"]),
        ("refunds", summary["refunds"]),
    ):
        assert isinstance(items, list)
        typer.echo(f"\n{title}: " + ("none" if not items else ""))
        for item in items:
            typer.echo("  " + json.dumps(item, default=str))


def refund_suggestion(detail: BookingDetail) -> str | None:
    """For a partly used package, the unused share to refund, as a sentence; else None."""
    if not detail.partly_used or detail.refundable_cents <= 0:
        return None
    b = detail.booking
    unused = b.sessions_total - detail.sessions_used
    return (
        f"{unused} of {b.sessions_total} sessions unused: suggested refund "
        f"--amount {detail.suggested_refund_cents} "
        f"({format_money(detail.suggested_refund_cents, b.currency)}, after earlier refunds)"
    )


def load_detail(booking_id: uuid.UUID, settings: Settings) -> BookingDetail:
    """One booking's story for another command (refund); BookingNotFound when there is none."""

    async def go() -> BookingDetail:
        service = build_admin_reader(settings)
        try:
            return await service.detail(booking_id)
        finally:
            await service.database.dispose()

    return asyncio.run(go())


def webhooks(as_json: JsonOption = False) -> None:
    """Is the payment webhook healthy? The last day's deliveries, the last one, any problem."""
    health, settings = _run(lambda admin: admin.webhook_health())
    summary = webhook_summary(health)
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
    else:
        zone = ZoneInfo(settings.coach_timezone)
        typer.echo("healthy" if health.healthy else "NEEDS ATTENTION")
        for problem in health.problems:
            typer.echo(f"  - {problem}")
        typer.echo(f"last delivery received: {_when(health.last_received, zone) or 'never'}")
        typer.echo(f"deliveries in 24 h by state: {summary['byState'] or 'none'}")
        typer.echo(f"payments confirmed in 24 h by source: {health.confirmed_by_source or 'none'}")
        if health.last_day:
            typer.echo(
                table([[k, s, str(c)] for k, s, c in health.last_day], ["TYPE", "STATE", "24H"])
            )
    if not health.healthy:
        sys.exit(1)


@admin_app.command("hash-password")
def hash_password_command(
    from_stdin: Annotated[
        bool, typer.Option("--stdin", help="Read the password from the first line of stdin.")
    ] = False,
) -> None:
    """Print an argon2 hash for ADMIN_PASSWORD_HASH; the password itself is never stored."""
    from sessionbook.admin.auth import hash_password

    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Admin password", hide_input=True, confirmation_prompt=True)
    if len(password) < 12:
        typer.echo("choose a password of at least 12 characters", err=True)
        raise typer.Exit(code=2)
    typer.echo(hash_password(password))


@admin_app.command("new-session-secret")
def new_session_secret() -> None:
    """Print a random value for SESSION_SECRET (signs the admin's session cookie)."""
    import secrets

    typer.echo(secrets.token_urlsafe(48))


@admin_app.command("sessions")
def admin_sessions(
    revoke: Annotated[
        str | None, typer.Option("--revoke", help="Sign out the session with this id.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """List the signed-in admin sessions, or revoke one (it is signed out at its next click)."""
    from datetime import timedelta

    from sessionbook.admin.auth import SESSION_SECONDS
    from sessionbook.admin.session_store import AdminSessions

    async def use(service: AdminService) -> tuple[bool, Sequence[AdminSessionRecord]]:
        sessions = AdminSessions(service.database, lifetime=timedelta(seconds=SESSION_SECONDS))
        revoked = await sessions.revoke(revoke) if revoke is not None else False
        return revoked, await sessions.active()

    (revoked, active), settings = _run(use)
    if revoke is not None:
        if not revoked:
            typer.echo(f"no live admin session with id {revoke}", err=True)
            raise typer.Exit(code=1)
        typer.echo(f"revoked admin session {revoke}")
        return
    if as_json:
        typer.echo(json.dumps([_session_summary(s) for s in active], indent=2))
        return
    zone = ZoneInfo(settings.coach_timezone)
    rows = [
        [
            s.public_id,
            _when(s.created_at, zone),
            _when(s.last_seen_at, zone),
            s.client_address,
            _clip(s.user_agent, 40),
        ]
        for s in active
    ]
    typer.echo(table(rows, ["id", "signed in", "last seen", "address", "browser"]))


def _session_summary(session: AdminSessionRecord) -> dict[str, str]:
    def utc(moment: datetime) -> str:
        return moment.isoformat().replace("+00:00", "Z")

    return {
        "id": session.public_id,
        "createdAt": utc(session.created_at),
        "lastSeenAt": utc(session.last_seen_at),
        "expiresAt": utc(session.expires_at),
        "clientAddress": session.client_address,
        "userAgent": session.user_agent,
    }
