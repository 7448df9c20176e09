"""The load benchmark's quick mode still runs and its invariants hold (no figures are asserted).

Runs ``bench/bench_checkin_registration.py --quick --db sqlite`` as a subprocess: migrate a fresh
SQLite file, load 500 signed tickets, start gunicorn with 2 workers, drive check-ins (with
repeats) and 120 form registrations for 100 places from 8 clients. Speed is recorded in
docs/benchmarks.md, never asserted; here only correctness under that load: no duplicate
check-in, no oversell, no 5xx, every ticket checked in once and every repeat answered "already".

Skipped unless ``BENCH_SMOKE=1``: the quick mode takes about 30 s on an idle 2-core machine
(migrations, two gunicorn starts, ~55 check-ins/s and ~20 registrations/s on SQLite) and over
100 s when other test runs share the CPUs, above the 30 s a suite test may take. Run it with
``BENCH_SMOKE=1 .venv/bin/pytest -q tests/test_bench_smoke.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(os.environ.get("BENCH_SMOKE") != "1", reason="the quick benchmark takes 30 s or more; set BENCH_SMOKE=1 to run it")
def test_quick_benchmark_on_sqlite_keeps_the_invariants(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench.bench_checkin_registration", "--quick", "--db", "sqlite", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    result = json.loads(out.read_text(encoding="utf-8"))["results"][0]
    assert result["duplicate_checkins"] == 0
    assert result["oversell"] == 0
    assert result["server_errors"] == 0
    assert result["server_log_errors"] == 0
    assert result["checkin_results"]["ok"] == result["checkin_results"]["expected_ok"] == 500
    assert result["checkin_results"]["already"] == result["checkin_results"]["expected_already"] > 0
    assert (result["confirmed"], result["waitlisted"], result["quota_used"], result["tickets_issued"]) == (100, 20, 100, 100)
