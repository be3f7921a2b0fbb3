"""`/healthz` (the process answers), `/readyz` (database reachable and migrated), `/metrics`."""

from __future__ import annotations

import asyncio
import hmac
from functools import lru_cache
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import text

from sessionbook.core import migrate
from sessionbook.core.db import SERVICE, Database
from sessionbook.http.deps import DatabaseDep, SettingsDep
from sessionbook.monitoring.snapshot import SnapshotCache, render_metrics

router = APIRouter()

READINESS_TIMEOUT_SECONDS = 3.0
NO_STORE = {"Cache-Control": "no-store"}


@lru_cache(maxsize=1)
def expected_revision() -> str | None:
    """The newest migration shipped with this code; parsed once per process."""
    return migrate.head_revision()


async def database_revision(database: Database) -> str | None:
    """The revision the database is at, read through the application's own pool and role."""
    async with database.transaction(SERVICE) as session:
        result = await session.execute(text("SELECT version_num FROM alembic_version"))
        return result.scalar_one_or_none()


@router.get("/healthz", include_in_schema=False)
async def healthz() -> JSONResponse:
    return JSONResponse({"status": "ok"}, headers=NO_STORE)


@router.get("/readyz", include_in_schema=False)
async def readyz(database: DatabaseDep) -> JSONResponse:
    """Ready when the database answers and is at this code's migration; else 503 and why."""
    body: dict[str, Any] = {"status": "ok", "database": "ok"}
    try:
        await asyncio.wait_for(database.ping(), READINESS_TIMEOUT_SECONDS)
    except Exception as exc:
        body.update(status="unavailable", database="unreachable", error=type(exc).__name__)
        return JSONResponse(body, status_code=503, headers=NO_STORE)
    try:
        current = await asyncio.wait_for(database_revision(database), READINESS_TIMEOUT_SECONDS)
    except Exception:
        current = None  # no alembic_version table yet, or it cannot be read: not migrated
    expected = expected_revision()
    body["migration"] = {"current": current, "expected": expected}
    if current != expected:
        body.update(status="unavailable", database="not_migrated")
        return JSONResponse(body, status_code=503, headers=NO_STORE)
    return JSONResponse(body, headers=NO_STORE)


def _snapshot_cache(request: Request, database: Database) -> SnapshotCache:
    cache: SnapshotCache | None = getattr(request.app.state, "metrics_snapshot", None)
    if cache is None:
        cache = SnapshotCache(database)
        request.app.state.metrics_snapshot = cache
    return cache


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request, settings: SettingsDep, database: DatabaseDep) -> Response:
    """Prometheus text format; behind `Authorization: Bearer METRICS_TOKEN` when one is set."""
    token = settings.metrics_token
    if token is not None:
        presented = request.headers.get("authorization", "")
        if not hmac.compare_digest(presented.encode(), f"Bearer {token}".encode()):
            return JSONResponse(
                {"error": {"code": "unauthorized", "message": "A metrics token is required."}},
                status_code=401,
                headers={**NO_STORE, "WWW-Authenticate": "Bearer"},
            )
    payload = await render_metrics(_snapshot_cache(request, database))
    return Response(payload, media_type=CONTENT_TYPE_LATEST, headers=NO_STORE)
