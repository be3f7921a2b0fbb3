"""Live mode checks each Cal.com event type's length against the catalog before serving."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator, MutableMapping
from pathlib import Path
from typing import Any

import pytest

from sessionbook.app import create_app
from sessionbook.core import migrate
from sessionbook.core.settings import Settings
from sessionbook_sandbox.cal import EventTypeSpec, create_cal_sandbox
from tests.scheduling.conftest import API_KEY
from tests.support.live_server import free_port, live_server

IDS = {"discovery": 201, "single": 202, "monthly": 203, "quarterly": 204}
RIGHT = {"discovery": 30, "single": 60, "monthly": 60, "quarterly": 60}


@pytest.fixture(scope="module")
def live_cal() -> Iterator[str]:
    """A stand-in playing the real Cal.com: single has a right (202) and a wrong (299) type."""
    event_types = {
        IDS[package]: EventTypeSpec(length_minutes=minutes, title=package, slug=package)
        for package, minutes in RIGHT.items()
    }
    event_types[299] = EventTypeSpec(length_minutes=45, title="Wrong", slug="wrong")
    port = free_port()
    with live_server(create_cal_sandbox(api_key=API_KEY, event_types=event_types), port=port):
        yield f"http://127.0.0.1:{port}/v2"


def live_environment(api_url: str, tmp_path: Path, **changes: int) -> dict[str, str]:
    ids = {**IDS, **changes}
    env = {f"CAL_{package.upper()}_EVENT_TYPE_ID": str(value) for package, value in ids.items()}
    env.update(
        CAL_API_URL=api_url,
        CAL_API_KEY=API_KEY,
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'live.db'}",
        SWEEP_INTERVAL_SECONDS="0",
    )
    return env


async def lifespan_messages(settings: Settings) -> list[dict[str, Any]]:
    """Migrate (seeding the packages from these settings), then drive the app's ASGI lifespan
    as a server does; what the app sent back."""
    await asyncio.to_thread(migrate.upgrade, settings.database_url, settings=settings)
    app = create_app(settings)
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    await inbox.put({"type": "lifespan.startup"})
    sent: list[dict[str, Any]] = []

    async def receive() -> MutableMapping[str, Any]:
        return await inbox.get()

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(dict(message))
        if message["type"] == "lifespan.startup.complete":
            await inbox.put({"type": "lifespan.shutdown"})

    scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": {}}
    # Starlette re-raises after reporting a failure; the report is what a server acts on.
    with contextlib.suppress(Exception):
        await app(scope, receive, send)
    return sent


def settings_from(env: dict[str, str]) -> Settings:
    values: dict[str, Any] = {key.lower(): value for key, value in env.items()}
    return Settings(**values)


async def test_matching_event_types_start(live_cal: str, tmp_path: Path) -> None:
    messages = await lifespan_messages(settings_from(live_environment(live_cal, tmp_path)))

    assert [m["type"] for m in messages] == [
        "lifespan.startup.complete",
        "lifespan.shutdown.complete",
    ]


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        (
            {"single": 299},
            "CAL_SINGLE_EVENT_TYPE_ID (package single): Cal.com event type 299 lasts 45 minutes",
        ),
        (
            {"quarterly": 404},
            "CAL_QUARTERLY_EVENT_TYPE_ID (package quarterly): Cal.com has no event type 404",
        ),
    ],
)
async def test_a_wrong_event_type_stops_the_start_with_one_line(
    live_cal: str, tmp_path: Path, changes: dict[str, int], named: str
) -> None:
    env = live_environment(live_cal, tmp_path, **changes)

    messages = await lifespan_messages(settings_from(env))

    [failed] = messages
    assert failed["type"] == "lifespan.startup.failed"
    assert failed["message"].startswith(named)
    assert "Traceback" not in failed["message"]


def test_serve_refuses_to_start_naming_the_variable(live_cal: str, tmp_path: Path) -> None:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("CAL_", "AIRWALLEX_", "DATABASE_URL"))
    }
    env.update(live_environment(live_cal, tmp_path, single=299))
    command = [sys.executable, "-m", "sessionbook.cli.main", "serve", "--port", str(free_port())]

    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)

    assert done.returncode != 0
    assert "CAL_SINGLE_EVENT_TYPE_ID" in done.stderr
    assert "lasts 45 minutes" in done.stderr
    assert "Traceback" not in done.stderr
