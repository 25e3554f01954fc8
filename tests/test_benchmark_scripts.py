"""The benchmark scripts stay runnable: each parses its arguments and imports what it uses.

The measurements themselves are long and live in benchmarks/ (BENCHMARKS.md); this only
catches a script broken by an API change before someone spends an hour of CPU finding out.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPTS = ["bench_accuracy", "bench_data", "bench_speed", "bench_tta", "budget_curve", "diag_crt", "notebook_times",
           "plain_loop"]


@pytest.mark.parametrize("name", SCRIPTS)
def test_benchmark_script_shows_its_help(name):
    proc = subprocess.run([sys.executable, str(REPO / "benchmarks" / f"{name}.py"), "--help"], capture_output=True,
                          text=True, timeout=120, cwd=REPO, env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "usage:" in proc.stdout


def test_bench_accuracy_report_reads_a_folder_of_finished_runs(tmp_path):
    """--report on an empty folder says there is nothing, rather than failing."""
    proc = subprocess.run([sys.executable, str(REPO / "benchmarks" / "bench_accuracy.py"), "--report", "--out",
                           str(tmp_path)], capture_output=True, text=True, timeout=120, cwd=REPO,
                          env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert f"no finished runs under {tmp_path / 'exp100'}" in proc.stdout
