"""Every command the READMEs give answers --help with what it is, and exits 0 without starting anything."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# A learner whose port 4000 is taken finds the way out in --help, not only in docs/workshop.md.
DEV_TENANT_SETTINGS = ["DEV_TENANT_PORT", "DEV_TENANT_STATE_DIR", "python -m shared.doctor"]
COMMANDS = {
    "01-Login/app.py": (
        ["01-Login/app.py"],
        ["Step 01 — Login", "click Log In", "dev tenant", "--port", *DEV_TENANT_SETTINGS],
    ),
    "02-Custom-Login/app.py": (
        ["02-Custom-Login/app.py"],
        ["Step 02 — Custom Login", "sign up", "--port", *DEV_TENANT_SETTINGS],
    ),
    "03-Session-Handling/cookie_app.py": (
        ["03-Session-Handling/cookie_app.py"],
        ["Step 03 — Session Handling (plain cookie)", "Log Out", "--port", *DEV_TENANT_SETTINGS],
    ),
    "03-Session-Handling/wrapper_app.py": (
        ["03-Session-Handling/wrapper_app.py"],
        ["Step 03 — Session Handling (wrapper library)", "Log Out", "--port", *DEV_TENANT_SETTINGS],
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


@pytest.mark.parametrize(
    ("args", "env", "prog"),
    [
        (["01-Login/app.py"], {"PORT": "abc"}, "01-Login/app.py"),
        (["03-Session-Handling/wrapper_app.py", "--port", "4000"], {"DEV_TENANT_PORT": "4000"}, None),
        (["-m", "shared.doctor", "--env-file", "no-such.env"], {}, "python -m shared.doctor"),
        (["-m", "shared.dev_tenant", "--port", "BUSY"], {}, "python -m shared.dev_tenant"),
        (["-m", "shared.exercise", "solution", "09-Nope", "login"], {}, "python -m shared.exercise solution"),
        (["-m", "shared.check"], {}, "python -m shared.check"),
    ],
    ids=["step", "step-on-the-tenants-port", "doctor", "dev-tenant", "exercise", "old-doctor-name"],
)
def test_every_command_says_what_is_wrong_in_argparses_form(args, env, prog, tmp_path):
    """`PROG: error: …` on the last line, as argparse writes it: one form for every command."""
    prog = prog or args[0]
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        args = [str(busy.getsockname()[1]) if arg == "BUSY" else arg for arg in args]
        result = subprocess.run(
            [sys.executable, *args],
            cwd=ROOT,
            env={**os.environ, "DEV_TENANT_STATE_DIR": str(tmp_path), **env},
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr, result.stderr
    assert result.stderr.splitlines()[-1].startswith(f"{prog}: error: "), result.stderr
