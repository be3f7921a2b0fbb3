"""A database that cannot be reached at start: one line naming DATABASE_URL, exit code 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.live_server import free_port

COMMANDS = [["serve", "--port", "0"], ["migrate"], ["sweep"]]


def _unreachable_urls(tmp_path: Path) -> dict[str, str]:
    return {
        "postgres-closed-port": f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/test",
        "postgres-unknown-host": "postgresql+asyncpg://postgres@db.invalid:5432/test",
        "sqlite-missing-directory": f"sqlite+aiosqlite:///{tmp_path / 'gone' / 'x.db'}",
    }


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
@pytest.mark.parametrize(
    "kind", ["postgres-closed-port", "postgres-unknown-host", "sqlite-missing-directory"]
)
def test_an_unreachable_database_stops_the_command_with_one_line(
    tmp_path: Path, command: list[str], kind: str
) -> None:
    url = _unreachable_urls(tmp_path)[kind]
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in ("DATABASE_URL", "TEST_DATABASE_URL")
    }
    env.update(DATABASE_URL=url, LOG_LEVEL="error", SWEEP_INTERVAL_SECONDS="0")

    finished = subprocess.run(
        [sys.executable, "-m", "sessionbook.cli", *command],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert finished.returncode == 2, finished.stderr
    lines = finished.stderr.strip().splitlines()
    assert len(lines) == 1, finished.stderr
    assert lines[0].startswith("DATABASE_URL: cannot reach the database")
    assert "Traceback" not in finished.stderr + finished.stdout
    assert not (tmp_path / "gone").exists()
