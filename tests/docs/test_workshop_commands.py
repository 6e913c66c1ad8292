"""The commands of docs/workshop.md work as it says, without the network."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from shared.config import MIN_SECRET_KEY_LENGTH

ROOT = Path(__file__).resolve().parents[2]


def uv(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run uv as a teacher would in the repository, offline; VIRTUAL_ENV is the outer `uv run`'s, not theirs."""
    executable = shutil.which("uv")
    assert executable, "the README's commands need uv on PATH"
    environ = {key: value for key, value in os.environ.items() if key != "VIRTUAL_ENV"}
    return subprocess.run(
        [executable, *args],
        cwd=ROOT,
        env={**environ, "UV_OFFLINE": "1", **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_uv_cache_dir_prints_the_folder_to_copy():
    result = uv("cache", "dir")
    assert result.returncode == 0, result.stderr
    assert Path(result.stdout.strip()).is_dir(), result.stdout


def test_offline_run_of_a_step_needs_no_network_after_one_sync():
    result = uv("run", "01-Login/app.py", "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage:"), result.stdout


def test_offline_sync_builds_a_new_environment_from_the_cache_alone(tmp_path):
    # A new laptop's first sync from the room's cache, no network (here: a new environment folder).
    cache = uv("cache", "dir").stdout.strip()
    venv = tmp_path / "venv"
    result = uv("sync", "--all-groups", UV_CACHE_DIR=cache, UV_PROJECT_ENVIRONMENT=str(venv))
    assert result.returncode == 0, result.stderr
    assert list(venv.glob("lib/python*/site-packages/playwright")), "the test tools belong to a full sync"


@pytest.mark.parametrize("command", [["sync"], ["run", "01-Login/app.py", "--help"]])
def test_a_plain_sync_or_run_brings_the_steps_without_the_test_tools(tmp_path, command):
    venv = tmp_path / "venv"
    result = uv(*command, UV_PROJECT_ENVIRONMENT=str(venv))
    assert result.returncode == 0, result.stderr
    assert not list(venv.glob("lib/python*/site-packages/playwright")), "Playwright is only for the tests"
    assert list(venv.glob("lib/python*/site-packages/starlette"))


def test_the_command_that_makes_an_app_secret_key_makes_one_long_enough():
    command = "import secrets; print(secrets.token_urlsafe(48))"  # README: APP_SECRET_KEY troubleshooting
    result = subprocess.run([sys.executable, "-c", command], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.strip()) >= MIN_SECRET_KEY_LENGTH


def test_the_workshop_page_names_the_python_an_offline_laptop_needs_and_how_to_check_it():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    minimum = pyproject["project"]["requires-python"].removeprefix(">=")
    text = " ".join((ROOT / "docs/workshop.md").read_text(encoding="utf-8").split())
    assert f"Python {minimum} or newer installed beforehand" in text
    assert f"`uv python find --system '>={minimum}'`" in text


def test_the_python_check_of_the_workshop_page_answers_offline():
    found = uv("python", "find", "--system", ">=3.11")
    assert found.returncode == 0, found.stderr
    version = subprocess.run(
        [found.stdout.strip(), "-c", "import sys; print(sys.version_info >= (3, 11))"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert version.stdout.strip() == "True", found.stdout
    missing = uv("python", "find", "--system", ">=3.99")
    assert missing.returncode != 0 and "No interpreter found" in missing.stderr, missing.stderr
