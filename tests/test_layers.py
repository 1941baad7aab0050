"""The layers stay apart: knowledge/ and dialogs/ import no channel, bot or database code."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = ("bot", "slack_bolt", "slack_sdk", "botbuilder", "aiohttp", "sqlmodel", "sqlalchemy", "alembic",
             "psycopg")


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    names |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    return {name.split(".")[0] for name in names}


@pytest.mark.parametrize("package", ["knowledge", "dialogs"])
def test_pure_packages_import_nothing_from_channels_or_storage(package):
    files = sorted((ROOT / package).rglob("*.py"))
    assert files
    for path in files:
        assert not imports(path) & set(FORBIDDEN), f"{path.relative_to(ROOT)} imports {imports(path) & set(FORBIDDEN)}"


def test_the_core_imports_no_channel():
    for name in ("conversation.py", "escalation.py", "school.py"):
        found = imports(ROOT / "bot" / name)
        assert not found & {"slack_bolt", "slack_sdk", "botbuilder", "aiohttp"}, name
