"""The line between the lessons and `shared/`: each step holds its moves; shared/ is what a learner may skip."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STEPS = ["01-Login", "02-Custom-Login", "03-Session-Handling"]
ENTRY_FILES = [
    "01-Login/app.py",
    "02-Custom-Login/app.py",
    "03-Session-Handling/cookie_app.py",
    "03-Session-Handling/wrapper_app.py",
]


def imported_modules(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def shared_modules_used_by(folder: Path) -> set[str]:
    return {name for path in folder.glob("*.py") for name in imported_modules(path) if name.startswith("shared.")}


def test_no_module_in_shared_serves_one_step_only():
    """A module one step uses lives in that step's folder."""
    users: dict[str, set[str]] = {}
    for step in STEPS:
        for name in shared_modules_used_by(ROOT / step):
            users.setdefault(name, set()).add(step)
    inside_shared = {name for path in (ROOT / "shared").rglob("*.py") for name in imported_modules(path)}
    lonely = {name: steps for name, steps in users.items() if len(steps) == 1 and name not in inside_shared}
    assert not lonely, f"move these into the step that uses them: {lonely}"


def test_shared_never_imports_from_a_step():
    step_modules = {path.stem for step in STEPS for path in (ROOT / step).glob("*.py")}
    for path in (ROOT / "shared").rglob("*.py"):
        back = {name for name in imported_modules(path) if name.split(".")[0] in step_modules}
        assert not back, f"{path.relative_to(ROOT)} imports {back} from a step"


LOGIN_FILES = [path for path in ENTRY_FILES if path != "03-Session-Handling/wrapper_app.py"]


@pytest.mark.parametrize("path", LOGIN_FILES)
def test_each_entry_file_makes_the_authlib_calls_and_the_fresh_session_itself(path):
    source = (ROOT / path).read_text(encoding="utf-8")
    for call in (".register(", ".create_authorization_url(", "request.session.clear()"):
        assert call in source, f"{path} does not show {call}"
    if path != "02-Custom-Login/app.py":
        assert ".fetch_access_token(" in source, path


def test_the_wrapper_variant_holds_only_the_three_calls_that_change():
    """Step 03's flow is written once, in cookie_app.py; wrapper_app.py is the seed's Lockr listing:
    its three storage functions, and a create_app that builds cookie_app.py's app with them."""
    path = ROOT / "03-Session-Handling" / "wrapper_app.py"
    tree = ast.parse(path.read_text(encoding="utf-8"))
    functions = [node.name for node in tree.body if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)]
    assert functions == ["store_id_token", "read_id_token", "erase_id_token", "create_app"]
    assert "cookie_app" in imported_modules(path)
    assert len(path.read_text(encoding="utf-8").splitlines()) <= 70
    cookie_app = (ROOT / "03-Session-Handling" / "cookie_app.py").read_text(encoding="utf-8")
    for move in ("callback", "check_session", "logout", "backchannel_logout"):
        assert f"def {move}(" in cookie_app and f"def {move}(" not in path.read_text(encoding="utf-8")


def test_shared_has_no_login_moves():
    text = "\n".join(path.read_text(encoding="utf-8") for path in (ROOT / "shared").glob("*.py"))
    for name in ("finish_login", "login_redirect", "SessionStorage", "create_authorization_url", "fetch_access_token"):
        assert name not in text, name


@pytest.mark.parametrize("path", sorted(str(p.relative_to(ROOT)) for p in ROOT.glob("0*-*/*.py")))
def test_step_code_fits_in_100_columns(path):
    wide = [n for n, line in enumerate((ROOT / path).read_text(encoding="utf-8").splitlines(), 1) if len(line) > 100]
    assert not wide, f"{path}: lines {wide} are wider than 100 columns and scroll sideways in a listing"


def test_no_two_modules_in_shared_share_a_name():
    """One name, one concept: `pages` or `tenant` means one module, wherever a reader meets it."""
    names: dict[str, list[str]] = {}
    for path in (ROOT / "shared").rglob("*.py"):
        if path.stem not in ("__init__", "__main__"):
            names.setdefault(path.stem, []).append(str(path.relative_to(ROOT)))
    twice = {name: paths for name, paths in names.items() if len(paths) > 1}
    assert not twice, twice


def test_no_step_imports_the_factorys_middleware():
    """shared/middleware/ is what the factory wires in: a step that imported it would hide a move there."""
    for step in STEPS:
        used = shared_modules_used_by(ROOT / step)
        assert not {name for name in used if name.startswith("shared.middleware")}, (step, used)
