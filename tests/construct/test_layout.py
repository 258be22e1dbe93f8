"""The constructs share the provider and the prop checks through public names only (issue 16, item 3)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "constructs_lib"
MODULES = sorted(path for path in PACKAGE.glob("*.py") if path.name != "__init__.py")


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), filename=str(path))


@pytest.mark.parametrize("path", MODULES, ids=lambda path: path.name)
def test_no_module_imports_another_modules_private_names(path: Path) -> None:
    # Private modules (``from constructs_lib import _nag``) are the package's own business; a
    # private name taken out of another module is what batch.py once did to the provider.
    private = [
        f"{node.module}.{alias.name}"
        for node in ast.walk(_tree(path))
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("constructs_lib.")
        for alias in node.names
        if alias.name.startswith("_")
    ]
    assert private == []


def test_only_the_provider_module_touches_the_providers_private_members() -> None:
    (provider,) = (
        node
        for node in ast.walk(_tree(PACKAGE / "_provider.py"))
        if isinstance(node, ast.ClassDef) and node.name == "Provider"
    )
    members = {
        node.attr
        for node in ast.walk(provider)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self"
    } | {node.name for node in provider.body if isinstance(node, ast.FunctionDef)}
    private = {name for name in members if name.startswith("_") and not name.startswith("__")}
    assert {"_statement", "_granted", "_memberships"} <= private  # the check has something to look for
    for path in MODULES:
        if path.name == "_provider.py":
            continue
        used = {node.attr for node in ast.walk(_tree(path)) if isinstance(node, ast.Attribute)} & private
        assert used == set(), path.name
