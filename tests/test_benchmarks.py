"""Every benchmark still runs, at a toy size (its figures are not checked here: no timings in tests).

The benchmarks drive the real app, workers and fakes; a change to a public API they use must not
leave them broken until someone next measures (docs/performance.md).
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

TOY_RUNS = {
    "availability.py": ["--users", "2", "--rounds", "1", "--latency", "0.01", "--edits", "2"],
    "tools_throughput.py": ["--clients", "2", "--seconds", "0.3", "--warmup", "0.1", "--rounds", "1",
                            "--processes", "1", "--workers", "1", "--threads", "2"],
    "time_to_calendar.py": ["--users", "2", "--workers", "1", "--seconds", "2", "--latency", "0.01"],
    "sync_throughput.py": ["--changes", "40", "--users", "2", "--workers", "1", "--latency", "0.01",
                           "--naive-sample", "5", "--seconds", "2"],
}


def test_every_benchmark_has_a_toy_run():
    assert sorted(TOY_RUNS) == sorted(path.name for path in (ROOT / "benchmarks").glob("*.py")
                                      if not path.name.startswith("_"))


@pytest.mark.parametrize("script", sorted(TOY_RUNS))
def test_the_benchmark_runs_through(script):
    run = subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), *TOY_RUNS[script]], cwd=ROOT,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-4000:]
    assert "Traceback" not in run.stderr, run.stderr[-4000:]
