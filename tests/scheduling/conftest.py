"""Live Cal.com stand-ins (London under a prefix, New York at the root), and the whole app."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from sessionbook.core.db import Database
from sessionbook.scheduling.calcom.client import CalComClient
from sessionbook_sandbox.cal import EventTypeSpec, create_cal_sandbox
from tests.conftest import RunningServer
from tests.scheduling.flow import Flow
from tests.support.live_server import free_port, live_server

API_KEY = "cal_test_0123456789abcdef"
DISCOVERY = 101
SINGLE = 102
EVENT_TYPES = {
    DISCOVERY: EventTypeSpec(length_minutes=30, title="Discovery call", slug="discovery"),
    SINGLE: EventTypeSpec(length_minutes=60, title="Single session", slug="single"),
}


@dataclass
class Sandbox:
    """A running stand-in: `root` is where it is mounted; the API lives at `root/v2`."""

    root: str
    http: httpx.AsyncClient

    @property
    def api_url(self) -> str:
        return f"{self.root}/v2"

    def client(self, **options: Any) -> CalComClient:
        options.setdefault("timeout", 2.0)
        options.setdefault("backoff_seconds", 0.01)
        api_key = options.pop("api_key", API_KEY)
        return CalComClient(self.api_url, api_key, **options)

    async def set_now(self, now: datetime) -> None:
        response = await self.http.post("/_sandbox/clock", json={"now": now.isoformat()})
        response.raise_for_status()

    async def add_fault(self, **fault: Any) -> None:
        response = await self.http.post("/_sandbox/faults", json=fault)
        response.raise_for_status()

    async def bookings(self) -> list[dict[str, Any]]:
        response = await self.http.get("/_sandbox/bookings")
        response.raise_for_status()
        data: list[dict[str, Any]] = response.json()["data"]
        return data

    async def requests(self, method: str, path_prefix: str) -> list[dict[str, str]]:
        response = await self.http.get("/_sandbox/requests")
        response.raise_for_status()
        seen: list[dict[str, str]] = response.json()["data"]
        return [r for r in seen if r["method"] == method and r["path"].startswith(path_prefix)]


def _serve(host_time_zone: str, mount: str) -> Iterator[str]:
    port = free_port()
    root = f"http://127.0.0.1:{port}{mount}"
    sandbox = create_cal_sandbox(
        api_key=API_KEY,
        event_types=EVENT_TYPES,
        host_time_zone=host_time_zone,
        public_base_url=root,
    )
    app: FastAPI = sandbox
    if mount:
        app = FastAPI()
        app.mount(mount, sandbox)
    with live_server(app, port=port):
        yield root


@pytest.fixture(scope="session")
def london_root() -> Iterator[str]:
    yield from _serve("Europe/London", "/sandbox/cal")


@pytest.fixture(scope="session")
def new_york_root() -> Iterator[str]:
    yield from _serve("America/New_York", "")


async def _fresh(root: str) -> AsyncIterator[Sandbox]:
    async with httpx.AsyncClient(base_url=root, timeout=10) as http:
        (await http.post("/_sandbox/reset")).raise_for_status()
        yield Sandbox(root=root, http=http)


@pytest.fixture
async def sandbox(london_root: str) -> AsyncIterator[Sandbox]:
    """The London stand-in, emptied, with the wall clock until a test sets its own."""
    async for fresh in _fresh(london_root):
        yield fresh


@pytest.fixture
async def new_york_sandbox(new_york_root: str) -> AsyncIterator[Sandbox]:
    async for fresh in _fresh(new_york_root):
        yield fresh


@pytest.fixture
async def client(sandbox: Sandbox) -> AsyncIterator[CalComClient]:
    async with sandbox.client() as calendar:
        yield calendar


@pytest.fixture
async def flow(server: RunningServer, owner_db: Database) -> AsyncIterator[Flow]:
    """The whole app (module's server) with its Cal.com stand-in and database made clean."""
    async with server.client() as http:
        driven = Flow(server, http, owner_db)
        await driven.reset()
        yield driven
        await driven.reset()
