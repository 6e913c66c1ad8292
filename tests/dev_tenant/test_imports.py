"""Imports run one way: the apps may use the dev tenant, the dev tenant never uses the apps' modules.

A tenant that imported `shared.config` (or any app module) would break whenever the apps are rewritten,
and could not run on its own (`python -m shared.dev_tenant`) without them.
"""

from __future__ import annotations

import ast
from pathlib import Path

import shared.dev_tenant

PACKAGE = Path(shared.dev_tenant.__file__).resolve().parent


def absolute_imports(tree: ast.AST) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):  # walk: imports inside functions and TYPE_CHECKING blocks count too
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return sorted(found)


def outside_the_tenant(module: str) -> bool:
    return (module == "shared" or module.startswith("shared.")) and not (
        module == "shared.dev_tenant" or module.startswith("shared.dev_tenant.")
    )


def test_no_dev_tenant_module_imports_the_apps_shared_modules():
    modules = sorted(PACKAGE.rglob("*.py"))
    assert len(modules) > 10  # the walk found the package
    offending = [
        f"{path.relative_to(PACKAGE)}:{line}: {name}"
        for path in modules
        for line, name in absolute_imports(ast.parse(path.read_text(encoding="utf-8"), str(path)))
        if outside_the_tenant(name)
    ]
    assert offending == []


def test_the_check_sees_an_import_of_shared_config():
    tree = ast.parse("def f():\n    from shared.config import is_loopback\nimport shared.app\nfrom . import users\n")
    assert [name for _, name in absolute_imports(tree) if outside_the_tenant(name)] == ["shared.config", "shared.app"]
