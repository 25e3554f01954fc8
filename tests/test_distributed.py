"""A real two-process run through torchrun (gloo on the CPU)."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from tiny_runs import NO_FLOOR_CLI

TORCHRUN = shutil.which("torchrun") or str(Path(sys.executable).with_name("torchrun"))


@pytest.mark.slow
def test_two_process_gloo_run_covers_every_chip_once_per_epoch(tmp_path):
    out = tmp_path / "ddp"
    cmd = [TORCHRUN, "--standalone", "--nproc_per_node", "2", str(Path(__file__).with_name("ddp_coverage.py")),
           "three_stage", "--out", str(out),
           "--set", "data.scale=0.004", "--set", "data.test_per_class=10", "--set", "model.width=4",
           "--set", "stages.*.epochs=1", "--set", "stages.rough.epochs=2", "--set", "batch_size=64",
           *NO_FLOOR_CLI,
           "--device", "cpu", "--quiet", "--no-figures"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    # the positions of every epoch, gathered from both processes by a test callback (tests/ddp_coverage.py)
    epochs = [json.loads(line) for line in (out / "coverage.jsonl").read_text().splitlines()]
    assert len(epochs) == 5  # 2 + 1 + 1 + 1 epochs
    for cov in epochs:
        assert cov["missing"] == 0 and cov["extra"] == 0 and cov["seen"] == cov["expected"] == cov["train_seen"]
    instance = [r for r in epochs if r["stage"] in ("rough", "residual")]
    assert instance[0]["train_seen"] == instance[1]["train_seen"]  # every training chip, once per epoch
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["world_size"] == 2
    res = json.loads((out / "results.json").read_text())
    assert res["final"]["n"] == 100
    assert proc.stdout.count("top-1") == 1  # one process reports
