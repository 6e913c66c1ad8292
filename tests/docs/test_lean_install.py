"""The first `uv run` of a step installs what the steps need and nothing else (a workshop laptop)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TOOLING = ("pytest", "playwright", "mypy", "ruff", "hypothesis", "flask", "axe_playwright_python")


UV = shutil.which("uv")


@pytest.mark.skipif(UV is None, reason="uv is not on PATH")
def test_a_steps_own_environment_holds_no_test_lint_or_benchmark_package(tmp_path):
    env = {**os.environ, "UV_PROJECT_ENVIRONMENT": str(tmp_path / "venv"), "UV_OFFLINE": "1"}
    for name in ("UV_NO_DEFAULT_GROUPS", "UV_DEV", "UV_NO_DEV"):
        env.pop(name, None)
    # What `uv run 01-Login/app.py` syncs: the project and its default groups (none), from the lock,
    # from uv's cache (this run's own `--all-groups` sync filled it), never the network.
    synced = subprocess.run(
        [str(UV), "sync", "--frozen", "--quiet"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert synced.returncode == 0, synced.stderr
    site = next((tmp_path / "venv").glob("lib/python*/site-packages"))
    installed = {path.name.split("-")[0].lower() for path in site.iterdir()}
    assert not installed & set(TOOLING), installed & set(TOOLING)
    for needed in ("starlette", "authlib", "joserfc", "uvicorn"):
        assert needed in installed, installed
