"""Every command the READMEs give answers --help with what it is, and exits 0 without starting anything."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

COMMANDS = {
    "01-Login/app.py": (["01-Login/app.py"], ["Step 01 — Login", "click Log In", "dev tenant", "--port"]),
    "02-Custom-Login/app.py": (["02-Custom-Login/app.py"], ["Step 02 — Custom Login", "sign up", "--port"]),
    "03-Session-Handling/cookie_app.py": (
        ["03-Session-Handling/cookie_app.py"],
        ["Step 03 — Session Handling (plain cookie)", "Log Out", "--port"],
    ),
    "03-Session-Handling/wrapper_app.py": (
        ["03-Session-Handling/wrapper_app.py"],
        ["Step 03 — Session Handling (wrapper library)", "Log Out", "--port"],
    ),
    "python -m shared.dev_tenant": (
        ["-m", "shared.dev_tenant"],
        ["Auth0-compatible dev tenant", "--state-dir", ".dev-tenant/"],
    ),
    "python -m shared.doctor": (["-m", "shared.doctor"], ["configuration doctor", "--env-file", "Exit code"]),
}


@pytest.mark.parametrize("command", COMMANDS)
def test_help_says_what_the_command_is(command):
    args, expected = COMMANDS[command]
    result = subprocess.run(
        [sys.executable, *args, "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage:"), result.stdout
    # argparse wraps lines; compare with the line breaks taken out.
    text = " ".join(result.stdout.split())
    for words in expected:
        assert words in text, f"{command} --help does not mention {words!r}:\n{result.stdout}"
