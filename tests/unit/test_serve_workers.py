"""`sessionbook serve --workers N` gives each worker time to start on a busy host."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import uvicorn
from typer.testing import CliRunner

from sessionbook.cli.main import app


def test_workers_get_more_than_uvicorns_five_seconds_to_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """uvicorn replaces a worker that has not answered within the health-check timeout; at
    its default of 5 s, two workers importing the app on a loaded 2-core machine were replaced
    again and again and the server never answered (bench/RESULTS.md, "Scaling out")."""
    given: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: given.update(kwargs))
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'serve.db'}")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "metrics"))
    # serve writes SITE_URL from --port into the environment; monkeypatch takes it back after.
    monkeypatch.setenv("SITE_URL", "http://127.0.0.1:1")

    result = CliRunner().invoke(app, ["serve", "--port", "1", "--workers", "2"])

    assert result.exit_code == 0, result.output
    assert given["workers"] == 2
    assert given["timeout_worker_healthcheck"] >= 30
