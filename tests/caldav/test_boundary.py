"""The CalDAV connector is built on the public plugin API only: it imports ``core`` and nothing inside it."""
from __future__ import annotations

import ast
from pathlib import Path

import plugins.caldav

PACKAGE = Path(plugins.caldav.__file__).parent


def imported_modules(source: str) -> list[str]:
    """Every module an ``import`` or ``from … import`` statement in ``source`` names (absolute only)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            found.append(node.module)
    return found


def core_internals(path: Path) -> list[str]:
    """The modules of ``core`` other than ``core`` itself that ``path`` imports."""
    return [m for m in imported_modules(path.read_text()) if m.startswith("core.")]


def other_plugins(path: Path) -> list[str]:
    """The other plugins ``path`` imports."""
    return [m for m in imported_modules(path.read_text())
            if m.startswith("plugins.") and not m.startswith("plugins.caldav")]


def test_the_plugin_imports_only_the_public_core_module():
    files = sorted(PACKAGE.rglob("*.py"))
    assert files
    assert {str(f.relative_to(PACKAGE)): core_internals(f) for f in files if core_internals(f)} == {}
    assert {str(f.relative_to(PACKAGE)): other_plugins(f) for f in files if other_plugins(f)} == {}


def test_the_check_sees_an_internal_import():
    assert imported_modules("from core.models import User\nimport core.db\nfrom core import hookimpl\n") == [
        "core.models", "core.db", "core"]
    assert [m for m in imported_modules("from core.errors import X") if m.startswith("core.")] == ["core.errors"]
