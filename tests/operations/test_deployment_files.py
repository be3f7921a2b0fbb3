"""The Dockerfile and compose.yaml say what the README promises (Docker itself cannot run here)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]  # PyYAML comes with uvicorn[standard]

ROOT = Path(__file__).resolve().parents[2]


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())
    return loaded


def test_image_runs_the_server_as_an_unprivileged_user() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text().splitlines()
    instructions = [line.split(maxsplit=1) for line in dockerfile if line and line[0].isupper()]
    froms = [rest for word, rest in instructions if word == "FROM"]
    assert all(image.startswith("python:3.11-slim") for image in froms)
    users = [rest for word, rest in instructions if word == "USER"]
    assert users
    assert users[-1] not in ("root", "0")
    assert instructions[-1] == [
        "CMD",
        '["sessionbook", "serve", "--host", "0.0.0.0", "--port", "8000"]',
    ]


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
