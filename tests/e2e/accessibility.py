"""axe-core (shipped inside axe-playwright-python) run on the page a test is looking at."""

from __future__ import annotations

from typing import Any

from axe_playwright_python.sync_playwright import Axe  # type: ignore[import-untyped]
from playwright.sync_api import Page

# What the issue asks for: nothing serious or critical, on every customer page.
BLOCKING_IMPACTS = frozenset({"serious", "critical"})
_AXE = Axe()


def serious_violations(page: Page) -> list[dict[str, Any]]:
    """axe's violations of serious or critical impact on the whole page as it stands."""
    results = _AXE.run(page)
    violations: list[dict[str, Any]] = results.response["violations"]
    return [found for found in violations if found.get("impact") in BLOCKING_IMPACTS]


def assert_no_serious_violations(page: Page, where: str) -> None:
    found = serious_violations(page)
    summary = [
        (violation["id"], violation["impact"], [node["target"] for node in violation["nodes"]])
        for violation in found
    ]
    assert not found, f"axe on {where}: {summary}"
