"""The stand-ins import nothing from sessionbook: they check our clients, so they cannot share code.

If the stand-in borrowed the client's signing, constants or money code, a bug there would be
made on both sides and every test would still pass.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import sessionbook_sandbox

SANDBOX_PACKAGE = Path(sessionbook_sandbox.__file__).parent
FORBIDDEN = "sessionbook"
DYNAMIC_IMPORTERS = {"import_module", "__import__"}


def _is_forbidden(module: str | None) -> bool:
    return module is not None and (module == FORBIDDEN or module.startswith(FORBIDDEN + "."))


def forbidden_imports(source: str) -> list[str]:
    """Every import of sessionbook in `source`: top level, in functions, under TYPE_CHECKING."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names if _is_forbidden(alias.name)]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and _is_forbidden(node.module):
            found.append(str(node.module))
        elif isinstance(node, ast.Call) and node.args:
            function = node.func
            name = function.attr if isinstance(function, ast.Attribute) else None
            name = function.id if isinstance(function, ast.Name) else name
            first = node.args[0]
            if (
                name in DYNAMIC_IMPORTERS
                and isinstance(first, ast.Constant)
                and isinstance(first.value, str)
                and _is_forbidden(first.value)
            ):
                found.append(first.value)
    return found


def sandbox_modules() -> list[Path]:
    return sorted(SANDBOX_PACKAGE.rglob("*.py"))


def test_the_package_has_the_stand_ins_in_it() -> None:
    names = {path.stem for path in sandbox_modules()}
    assert {"airwallex", "airwallex_signing", "airwallex_money", "cal"} <= names


@pytest.mark.parametrize("module", sandbox_modules(), ids=lambda path: path.name)
def test_no_stand_in_module_imports_sessionbook(module: Path) -> None:
    assert forbidden_imports(module.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize(
    "source",
    [
        "import sessionbook",
        "import sessionbook.payments.airwallex.signature as signature",
        "from sessionbook.payments.airwallex.client import API_VERSION",
        "from sessionbook import payments",
        "if TYPE_CHECKING:\n    from sessionbook.core.settings import Settings",
        "def late():\n    from sessionbook.payments import money\n    return money",
        "importlib.import_module('sessionbook.payments.airwallex.money')",
        "__import__('sessionbook')",
    ],
)
def test_the_check_sees_every_way_of_importing(source: str) -> None:
    assert forbidden_imports(source) != []


@pytest.mark.parametrize(
    "source",
    [
        "from sessionbook_sandbox.airwallex_money import to_json_number",
        "import sessionbook_sandbox.cal",
        "from . import airwallex_store",
        "import sessionbooks",
    ],
)
def test_the_check_leaves_the_sandbox_own_imports_alone(source: str) -> None:
    assert forbidden_imports(source) == []


def test_importing_the_stand_ins_loads_nothing_of_sessionbook() -> None:
    """Also catches an import that a third-party module would make on the stand-ins' behalf."""
    script = (
        "import sys\n"
        "import sessionbook_sandbox.airwallex, sessionbook_sandbox.cal\n"
        "loaded = sorted(m for m in sys.modules if m == 'sessionbook' "
        "or m.startswith('sessionbook.'))\n"
        "print(','.join(loaded))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == ""
