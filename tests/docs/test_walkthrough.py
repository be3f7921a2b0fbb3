"""docs/examples/walkthrough.sh books and pays a session against a real `sessionbook serve`."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.live_server import free_port, wait_until_ready

REPOSITORY = Path(__file__).resolve().parents[2]
WALKTHROUGH = REPOSITORY / "docs" / "examples" / "walkthrough.sh"
START_TIMEOUT_SECONDS = 30.0
WALKTHROUGH_TIMEOUT_SECONDS = 120.0
# Only what a shell needs: the developer's provider keys must not turn sandbox mode off.
PASSED_THROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR")


def _environment(**values: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key in PASSED_THROUGH}
    env.update(values)
    return env


@pytest.fixture
def sandbox_server(tmp_path: Path) -> Iterator[str]:
    """`sessionbook serve` in sandbox mode on a fresh SQLite file; its base URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "server.log"
    executable = Path(sys.executable).with_name("sessionbook")
    with log.open("wb") as output:
        process = subprocess.Popen(
            [str(executable), "serve", "--port", str(port)],
            env=_environment(
                DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'walkthrough.db'}",
                SITE_URL=url,
                LOG_LEVEL="warning",
            ),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until_ready(process, url, log, timeout=START_TIMEOUT_SECONDS)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_the_walkthrough_pays_and_schedules_a_session(sandbox_server: str) -> None:
    finished = subprocess.run(
        ["bash", str(WALKTHROUGH), sandbox_server],
        env=_environment(),
        capture_output=True,
        text=True,
        timeout=WALKTHROUGH_TIMEOUT_SECONDS,
        check=False,
    )

    report = f"stdout:\n{finished.stdout}\nstderr:\n{finished.stderr}"
    assert finished.returncode == 0, report
    meeting = re.search(r"^meeting URL: (\S+)$", finished.stdout, re.MULTILINE)
    assert meeting is not None, report
    assert meeting.group(1).startswith(f"{sandbox_server}/sandbox/cal/video/"), report
    assert httpx.get(meeting.group(1), timeout=10).status_code == 200


def test_the_walkthrough_stops_loudly_when_the_server_does_not_answer() -> None:
    nobody = f"http://127.0.0.1:{free_port()}"

    finished = subprocess.run(
        ["bash", str(WALKTHROUGH), nobody],
        env=_environment(),
        capture_output=True,
        text=True,
        timeout=WALKTHROUGH_TIMEOUT_SECONDS,
        check=False,
    )

    assert finished.returncode != 0
    assert "walkthrough: POST" in finished.stderr
    assert "meeting URL" not in finished.stdout
