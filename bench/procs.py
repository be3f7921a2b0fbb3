"""Start the servers under test as child processes on loopback ports, and always stop them.

Each child runs in its own session, so that stopping it also stops the worker processes
uvicorn forks for `--workers N`; we signal that group by the id of the process we started,
and nothing else.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx

VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def clean_environment(extra: Mapping[str, str]) -> dict[str, str]:
    """The parent's environment without anything that configures sessionbook, plus `extra`."""
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("AIRWALLEX_", "CAL_", "SESSIONBOOK_", "BENCH_"))
        and name
        not in (
            "DATABASE_URL",
            "SITE_URL",
            "RATE_LIMITS",
            "REDIS_URL",
            "ALLOWED_ORIGINS",
            "TRUSTED_PROXIES",
            "LOG_LEVEL",
        )
    }
    environment.update(extra)
    return environment


@dataclass
class Child:
    """A started server: its port, its process, and where its output went."""

    name: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def cpu_seconds(self) -> float:
        """CPU time (user + system) used so far by this child and the workers it forked.

        On a machine shared with other work, CPU per request is a steadier yardstick of how
        much a change saved than requests per second.
        """
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # Fields after the parenthesised command: state, ppid, pgrp, ..., utime, stime.
            fields = stat.rsplit(")", 1)[1].split()
            if int(fields[2]) == self.process.pid:
                total += int(fields[11]) + int(fields[12])
        return total / ticks

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM the child's process group, SIGKILL it if it does not go in time."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)
        # Workers may outlive a parent killed hard; the group is still ours to end.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(OSError):
            self.log_path.unlink()


def start(
    name: str,
    command: list[str],
    *,
    port: int,
    environment: Mapping[str, str],
    ready_path: str,
    ready_timeout: float = 60.0,
) -> Child:
    """Run `command` and wait until GET `ready_path` answers (any status) on `port`."""
    log_file = tempfile.NamedTemporaryFile(  # noqa: SIM115 - the Child owns and removes it
        prefix=f"bench-{name}-", suffix=".log", delete=False
    )
    process = subprocess.Popen(
        command,
        env=dict(environment),
        stdout=log_file,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    log_file.close()
    child = Child(name=name, port=port, process=process, log_path=Path(log_file.name))
    deadline = time.monotonic() + ready_timeout
    while True:
        if process.poll() is not None:
            tail = child.log_tail()
            child.stop()
            raise RuntimeError(f"{name} exited with {process.returncode}:\n{tail}")
        try:
            httpx.get(child.url + ready_path, timeout=1.0)
            return child
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            tail = child.log_tail()
            child.stop()
            raise RuntimeError(f"{name} did not start within {ready_timeout:.0f}s:\n{tail}")
        time.sleep(0.1)


def uvicorn_command(app: str, *, port: int, workers: int = 1, factory: bool = True) -> list[str]:
    command = [str(VENV_BIN / "python"), "-m", "uvicorn", app, "--host", "127.0.0.1"]
    command += ["--port", str(port), "--workers", str(workers), "--log-level", "warning"]
    command += ["--no-access-log"]
    # As `sessionbook serve` does: at uvicorn's default of 5 s, a worker busy on a loaded
    # machine missed its supervisor's health check and was killed under load (the baseline's
    # requests then failed by the thousand).
    command += ["--timeout-worker-healthcheck", "60"]
    if factory:
        command.append("--factory")
    return command


@contextlib.contextmanager
def running(children: list[Child]) -> Iterator[list[Child]]:
    """Stop every child when the block ends, however it ends."""
    try:
        yield children
    finally:
        for child in reversed(children):
            child.stop()
