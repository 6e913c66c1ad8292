"""`python -m shared.dev_tenant`: help, banner, and a busy port."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

from shared.dev_tenant import DATABASE_CONNECTION, DEMO_EMAIL, DEMO_PASSWORD, DevTenant, banner

REPO = Path(__file__).resolve().parents[2]


def test_help_describes_the_options():
    result = subprocess.run(
        [sys.executable, "-m", "shared.dev_tenant", "--help"], cwd=REPO, capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0
    for option in ("--port", "--host", "--state-dir"):
        assert option in result.stdout


def test_busy_port_is_one_line_error_and_exit_1(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "shared.dev_tenant", "--port", str(port), "--state-dir", str(tmp_path)],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and str(port) in result.stderr


def test_banner_shows_issuer_and_demo_credentials(state_dir):
    text = banner(DevTenant("http://localhost:4000/", state_dir))
    assert "http://localhost:4000/" in text and DEMO_EMAIL in text and DEMO_PASSWORD in text


def test_unblock_lifts_a_lock_out_from_another_process(state_dir):
    tenant = DevTenant("http://localhost:4000/", state_dir)
    tenant.create_user("locked@example.com", "Right-Passw0rd")
    for _ in range(10):
        tenant.users.authenticate(DATABASE_CONNECTION, "locked@example.com", "wrong-password")
    assert tenant.users.authenticate(DATABASE_CONNECTION, "locked@example.com", "Right-Passw0rd")[0] == "blocked"
    result = subprocess.run(
        [sys.executable, "-m", "shared.dev_tenant", "--state-dir", str(state_dir), "--unblock", "locked@example.com"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    assert "locked@example.com can log in again" in result.stdout
    assert tenant.users.authenticate(DATABASE_CONNECTION, "locked@example.com", "Right-Passw0rd")[0] == "ok"
