"""`sessionbook doctor`: the checks to run before going live, one line each, exit 1 on any FAIL."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated

import typer

from sessionbook.core.settings import ConfigurationError, Settings, load_settings
from sessionbook.doctor import CheckResult, failed, run_checks

_LABELS = {"ok": ("ok", "green"), "fail": ("FAIL", "red"), "skip": ("skip", "yellow")}


def doctor(
    as_json: Annotated[bool, typer.Option("--json", help="Print the checks as JSON.")] = False,
) -> None:
    """Check the configured providers, SITE_URL, SMTP and the database before going live."""
    try:
        settings = load_settings()
    except ConfigurationError as exc:
        # Nothing else can be checked with settings the server would refuse to start with.
        results = [failed("settings", str(exc))]
    else:
        results = asyncio.run(_check(settings))
    if as_json:
        typer.echo(json.dumps([result.as_json() for result in results], indent=2))
    else:
        _print(results)
    if not all(result.ok for result in results):
        raise typer.Exit(code=1)


async def _check(settings: Settings) -> list[CheckResult]:
    from sessionbook.bootstrap import build_services
    from sessionbook.core.logs import configure_logging

    # The report says what went wrong; the clients' retry warnings would only repeat it.
    configure_logging(level="error", json_format=settings.log_format == "json")

    services = build_services(settings)
    try:
        return await run_checks(services)
    finally:
        await services.aclose()


def _print(results: list[CheckResult]) -> None:
    width = max(len(result.name) for result in results)
    for result in results:
        label, colour = _LABELS[result.status]
        # click drops the colour codes itself when stdout is not a terminal.
        shown = typer.style(f"{label:<4}", fg=colour, bold=result.status == "fail")
        typer.echo(f"{shown}  {result.name:<{width}}  {result.detail}")
    failures = sum(1 for result in results if not result.ok)
    typer.echo(
        f"{len(results)} checks: {failures} failed"
        if failures
        else f"{len(results)} checks: ready to go live"
    )
