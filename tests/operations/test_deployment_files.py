"""The Dockerfile, Makefile and compose.yaml say what the README promises."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]  # PyYAML comes with uvicorn[standard]

ROOT = Path(__file__).resolve().parents[2]


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())
    return loaded


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) per logical line: continuations joined, comments dropped."""
    logical: list[str] = []
    pending = ""
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        pending = f"{pending} {stripped}" if pending else stripped
        if pending.endswith("\\"):
            pending = pending[:-1].rstrip()
            continue
        logical.append(pending)
        pending = ""
    split = [line.split(maxsplit=1) for line in logical]
    return [(words[0].upper(), words[1] if len(words) > 1 else "") for words in split]


def makefile_variable(name: str) -> str:
    for line in (ROOT / "Makefile").read_text().splitlines():
        variable, _, value = line.partition(":=")
        if variable.strip() == name:
            return value.strip()
    raise AssertionError(f"Makefile sets no {name}")


def test_image_runs_the_server_as_an_unprivileged_user() -> None:
    instructions = dockerfile_instructions()
    assert instructions[0] == ("ARG", "BASE_IMAGE=python:3.11-slim")
    froms = [rest for word, rest in instructions if word == "FROM"]
    assert froms == ["${BASE_IMAGE} AS build", "${BASE_IMAGE}"]
    users = [rest for word, rest in instructions if word == "USER"]
    assert users
    assert users[-1] not in ("root", "0")
    assert instructions[-1] == (
        "CMD",
        '["sessionbook", "serve", "--host", "0.0.0.0", "--port", "8000"]',
    )


def test_image_installs_exactly_the_lock_with_the_makefiles_uv() -> None:
    instructions = dockerfile_instructions()
    copied = " ".join(rest for word, rest in instructions if word == "COPY")
    assert "uv.lock" in copied
    syncs = [rest for word, rest in instructions if word == "RUN" and "uv sync" in rest]
    assert syncs
    assert all("--frozen" in run and "--no-dev" in run for run in syncs)
    assert not any("pip install ." in rest for word, rest in instructions if word == "RUN")
    assert ("ARG", f"UV_VERSION={makefile_variable('UV_VERSION')}") in instructions


def test_make_install_refuses_a_lock_that_no_longer_matches_pyproject() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert "sync --locked --extra dev" in makefile
    assert (ROOT / "uv.lock").is_file()


def test_compose_migrates_as_owner_then_serves_as_the_noinherit_login() -> None:
    services = compose()["services"]
    assert set(services) >= {"db", "migrate", "app-login", "web"}
    migrate, web, login = services["migrate"], services["web"], services["app-login"]
    assert migrate["command"] == ["sessionbook", "migrate"]
    assert "sessionbook_owner:" in migrate["environment"]["DATABASE_URL"]
    assert "sessionbook_app:" in web["environment"]["DATABASE_URL"]
    assert web["command"][:4] == ["sessionbook", "serve", "--host", "0.0.0.0"]  # noqa: S104
    assert migrate["depends_on"]["db"]["condition"] == "service_healthy"
    assert login["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert web["depends_on"]["app-login"]["condition"] == "service_completed_successfully"
    script_path = login["volumes"][0].split(":")[0]
    script = (ROOT / script_path).read_text()
    assert "LOGIN NOINHERIT" in script
    assert "GRANT sessionbook_customer, sessionbook_service, sessionbook_admin" in script
