"""The plain pre-training benchmark stays runnable, and its held-out sectors follow the sector rule."""
from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch

from sartail.data.chipset import ChipSet

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "benchmarks" / "plain_pretrain.py"


def _module():
    spec = importlib.util.spec_from_file_location("plain_pretrain", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_shows_its_help():
    proc = subprocess.run([sys.executable, str(SCRIPT), "--help"], capture_output=True, text=True, timeout=120,
                          cwd=REPO, env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "usage:" in proc.stdout


def test_sector_folds_follow_the_rule():
    n = 24  # per class: 12 blocks of 2 consecutive file numbers
    labels = [0] * n + [1] * n
    ids = [f"a/hb{1000 + 7 * i:05d}.jpeg" for i in range(n)] + [f"b/hb{500 + i:05d}.jpeg" for i in range(n)][::-1]
    chips = ChipSet.from_tensors(torch.zeros(2 * n, 1, 2, 2, dtype=torch.uint8), labels, ["a", "b"], ids)
    fold = _module().sector_folds(chips, seed=3)
    rng = np.random.default_rng(3)
    for c in (0, 1):  # classes in sorted name order, one permutation each
        perm = rng.permutation(12)
        pos = [i for i in range(2 * n) if labels[i] == c]
        order = sorted(pos, key=lambda i: int(ids[i][-10:-5]))
        for r, i in enumerate(order):
            assert int(fold[i]) == list(perm).index(r * 12 // n) % 4
    assert torch.bincount(fold, minlength=4).tolist() == [12, 12, 12, 12]
