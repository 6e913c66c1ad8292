"""The benchmark command keeps working: a one-second run prints every key. No assertion on speed."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
KEYS = {
    "anon_rps",
    "session_rps_cookie",
    "session_rps_wrapper",
    "session_ratio_cookie",
    "session_ratio_wrapper",
    "login_ms_p50",
    "login_ms_p95",
    "password_login_ms_p50",
    "jwks_fetches",
    "cold_start_ms",
    "logins_per_s_8",
    "server",
}


def test_benchmark_runs_briefly_and_reports_every_key(tmp_path):
    out = tmp_path / "bench.json"
    done = subprocess.run(
        [sys.executable, "benchmarks/run.py", "--seconds", "0.2", "--rounds", "1", "--logins", "5", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)
    assert json.loads(out.read_text()) == printed
    assert KEYS <= printed.keys(), KEYS - printed.keys()
    for key in KEYS - {"server"}:
        assert printed[key] > 0, (key, printed[key])
    assert printed["jwks_fetches"] == 1


def test_benchmark_help():
    done = subprocess.run([sys.executable, "benchmarks/run.py", "--help"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0
    assert "--seconds" in done.stdout
