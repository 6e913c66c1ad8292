"""The profile command keeps working and puts each sample in its row. No assertion on speed: what it
checks are shares of the samples, which do not depend on how fast the machine is."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RS256 = "naive: the id_token's RS256 signature and claims, verified again (joserfc)"
DRIVER = "the benchmark's own driver (scope, receive, send)"
TEMPLATES = "template rendering (Jinja2, pages.render)"


def test_profile_runs_briefly_and_sorts_the_naive_baselines_work(tmp_path):
    out = tmp_path / "profile.json"
    args = ["--only", "cookie", "--only", "naive", "--seconds", "0.2", "--rounds", "1", "--json", str(out)]
    done = subprocess.run(
        [sys.executable, "benchmarks/profile_page.py", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,  # a guard against a hang, not a speed limit
    )
    assert done.returncode == 0, done.stderr
    results = json.loads(out.read_text())
    assert list(results) == ["cookie", "naive"]
    assert "| µs per logged-in `GET /`, in process | `cookie` | `naive` |" in done.stdout
    for name, figures in results.items():
        rows = figures["rows_us"]
        # Each row is its share of the samples times the request: together they are the request.
        assert abs(sum(rows.values()) - figures["page_us"]) <= 0.1 * len(rows), (name, rows)
        assert rows.get(TEMPLATES, 0) > 0, (name, rows)
    naive, step = results["naive"]["rows_us"], results["cookie"]["rows_us"]
    # The RSA check is most of the naive page's work; were its frames not matched, they would
    # fall to the driver's row (benchmarks/ is the driver's) and that row would be the large one.
    assert naive[RS256] > 0.25 * results["naive"]["page_us"], naive
    assert naive.get(DRIVER, 0) < naive[RS256], naive
    assert RS256 not in step and "the panel (panel.py)" in step, step
