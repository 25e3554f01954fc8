"""The benchmark scripts stay runnable: each parses its arguments and imports what it uses.

The measurements themselves are long and live in benchmarks/ (BENCHMARKS.md); this only
catches a script broken by an API change before someone spends an hour of CPU finding out.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from tiny_runs import NO_FLOOR_CLI

from sartail.cli import main

REPO = Path(__file__).resolve().parents[1]
SCRIPTS = ["bench_accuracy", "bench_data", "bench_ensemble", "bench_speed", "bench_tta", "budget_curve", "diag_crt", "notebook_times", "cutmix_weights",
           "plain_loop", "plain_mstar", "sector_folders"]


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


def test_bench_accuracy_default_sweep_is_every_shipped_recipe_with_ce_first():
    """The issue's table is "every recipe": the default ``--recipes`` must not silently leave one out."""
    import importlib.util

    from sartail.config import recipe_names

    spec = importlib.util.spec_from_file_location("bench_accuracy", REPO / "benchmarks" / "bench_accuracy.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert sorted(mod.RECIPES) == recipe_names() and len(set(mod.RECIPES)) == len(mod.RECIPES)
    assert mod.RECIPES[0] == "ce" and {"weight_balancing", "ema", "cutmix"} <= set(mod.RECIPES)
    assert set(mod.PLAIN_MATCH.values()) <= set(mod.RECIPES)


def test_bench_ensemble_scores_members_and_their_ensemble_on_one_subset(tmp_path):
    """Two tiny runs on the same subset (seeds 0 and 1, data.subset_seed 0): each member and the ensemble of 2 are scored."""
    tiny = ["--set", "data.scale=0.004", "--set", "data.test_per_class=10", "--set", "model.width=4",
            "--set", "stages.*.epochs=1", "--set", "batch_size=64", "--set", "data.subset_seed=0", "--device", "cpu",
            "--quiet", "--no-figures", *NO_FLOOR_CLI]
    for seed in (0, 1):
        assert main(["run", "ce", "--seeds", str(seed), "--out", str(tmp_path / "ce" / f"seed-{seed}"), *tiny]) == 0
    proc = subprocess.run([sys.executable, str(REPO / "benchmarks" / "bench_ensemble.py"), "--root", str(tmp_path),
                           "--recipes", "ce"], capture_output=True, text=True, timeout=300, cwd=REPO,
                          env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("ce subset 0 (seed-0, seed-1): members ") and "ensemble of 2:" in lines[1]


def test_plain_loop_own_network_methods_train_with_their_losses(tmp_path, mstar_root):
    """``--methods la,focal,cutmix`` trains no ce body (3 steps of each own network) and prints one
    JSON line each; cutmix's line holds its body's score before cRT."""
    import json

    out = tmp_path / "plain.jsonl"
    proc = subprocess.run([sys.executable, str(REPO / "benchmarks" / "plain_loop.py"), "--methods", "la,focal,cutmix",
                           "--steps", "3", "--load", "64", "--crop", "pad", "--width", "4", "--out", str(out)],
                          capture_output=True, text=True, timeout=300, cwd=REPO,
                          env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin", "SARTAIL_MSTAR_ROOT": str(mstar_root),
                               "SARTAIL_CACHE_DIR": str(tmp_path / "cache"), "OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = [json.loads(s) for s in out.read_text().splitlines()]
    assert [line["method"] for line in lines] == ["la", "focal", "cutmix"] and lines[0]["steps"] == 3
    assert all(0.0 <= line["test"]["balanced"] <= 1.0 for line in lines)
    assert lines[0]["args"]["la_tau"] == 1.0 and lines[1]["args"]["focal_gamma"] == 2.0
    assert lines[2]["args"]["cutmix_prob"] == 0.5
    assert 0.0 <= lines[2]["body"]["balanced"] <= 1.0 and "body" not in lines[0]


def test_plain_loop_cutmix_weights_labels_by_the_pasted_area():
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        import plain_loop
    finally:
        sys.path.remove(str(REPO / "benchmarks"))
    x = (torch.arange(8.0) + 1)[:, None, None, None].expand(8, 1, 20, 20).contiguous()
    for seed in range(5):
        mixed, perm, lam = plain_loop.cutmix(x, torch.Generator().manual_seed(seed))
        for i in range(8):
            if perm[i] != i:
                assert float((mixed[i] == x[i, 0, 0, 0]).float().mean()) == pytest.approx(lam)


def test_plain_loop_members_of_a_seed_ensemble_and_their_ensemble(tmp_path, mstar_root):
    """``--subset-seed`` fixes the long-tailed subset across seeds; ``--save-logits`` keeps each
    member's test logits, which ``bench_ensemble.py --plain`` scores alone and averaged."""
    env = {"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin", "SARTAIL_MSTAR_ROOT": str(mstar_root),
           "SARTAIL_CACHE_DIR": str(tmp_path / "cache"), "OMP_NUM_THREADS": "1"}
    logits = tmp_path / "logits"
    for seed in (0, 1):
        proc = subprocess.run([sys.executable, str(REPO / "benchmarks" / "plain_loop.py"), "--methods", "la",
                               "--steps", "2", "--load", "64", "--crop", "pad", "--width", "4", "--seed", str(seed),
                               "--subset-seed", "0", "--save-logits", str(logits)],
                              capture_output=True, text=True, timeout=300, cwd=REPO, env=env)
        assert proc.returncode == 0, proc.stderr[-2000:]
    saved = [torch.load(logits / f"la-subset-0-seed-{s}.pt", weights_only=True) for s in (0, 1)]
    # MSTAR's aspect test fold (683 chips; the random fold held 686)
    assert saved[0]["logits"].shape == (683, 10) and torch.equal(saved[0]["labels"], saved[1]["labels"])
    assert not torch.equal(saved[0]["logits"], saved[1]["logits"])  # other seeds, other networks
    proc = subprocess.run([sys.executable, str(REPO / "benchmarks" / "bench_ensemble.py"), "--plain", str(logits)],
                          capture_output=True, text=True, timeout=120, cwd=REPO, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("plain la subset 0 (seeds 0, 1): members ") and "ensemble of 2:" in lines[1]
    proc = subprocess.run([sys.executable, str(REPO / "benchmarks" / "bench_ensemble.py"), "--plain", str(tmp_path / "none")],
                          capture_output=True, text=True, timeout=120, cwd=REPO, env=env)
    assert proc.returncode != 0 and "no plain_loop.py logits" in proc.stderr


def _numbered_chips(root: Path, classes: int = 3, per_class: int = 12, size: int = 96) -> Path:
    """``root/train/<class>/hb<number>.jpeg``: random 96 px chips with MSTAR-like file numbers."""
    from PIL import Image

    rng = np.random.default_rng(0)
    for c in range(classes):
        for i in range(per_class):
            path = root / "train" / f"C{c}" / f"hb{1000 * c + 7 * i + 3}.jpeg"
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(rng.integers(0, 255, (size, size), dtype=np.uint8)).save(path)
    return root


def test_sector_folds_hold_out_contiguous_file_number_blocks():
    """Each class's chips, in file-number order, are cut into equal blocks; every fold gets the same share."""
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        from plain_mstar import sector_folds
    finally:
        sys.path.remove(str(REPO / "benchmarks"))
    ids = [f"A/hb{n}.jpeg" for n in range(100, 124)] + [f"B/x{n}.jpeg" for n in range(50, 26, -1)]
    labels = np.array([0] * 24 + [1] * 24)
    fold = sector_folds(labels, ids, ["A", "B"], n_sectors=12, n_folds=4, seed=0)
    assert (fold == sector_folds(labels, ids, ["A", "B"], 12, 4, 0)).all()
    for c in (0, 1):
        pos = sorted(np.flatnonzero(labels == c), key=lambda p: int(ids[p].split("/")[1][2 if c == 0 else 1:-5]))
        ordered = fold[pos]
        assert (ordered[0::2] == ordered[1::2]).all()  # blocks of two consecutive numbers stay together
        assert np.bincount(ordered, minlength=4).tolist() == [6, 6, 6, 6]
    assert not (fold == sector_folds(labels, ids, ["A", "B"], 12, 4, 1)).all()


def test_plain_mstar_trains_one_epoch_and_appends_one_json_line(tmp_path):
    """The calibration script runs end to end on a few chips and records its fold, sizes and scores."""
    import json

    root = _numbered_chips(tmp_path / "mstar")
    out = tmp_path / "plain.jsonl"
    env = {"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin", "SARTAIL_MSTAR_ROOT": str(root),
           "SARTAIL_CACHE_DIR": str(tmp_path / "cache"), "OMP_NUM_THREADS": "1"}
    for net, fold in (("cnn6", "sector"), ("sarnet", "sector"), ("cnn6", "aspect")):
        proc = subprocess.run([sys.executable, str(REPO / "benchmarks" / "plain_mstar.py"), "--net", net, "--fold",
                               fold, "--sectors", "4", "--epochs", "1", "--batch", "8", "--out", str(out)],
                              capture_output=True, text=True, timeout=300, cwd=REPO, env=env)
        assert proc.returncode == 0, proc.stderr[-2000:]
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(r["pipeline"], r["fold"]) for r in rows] == [("plain-cnn6", "sector"), ("plain-sarnet", "sector"),
                                                          ("plain-cnn6", "aspect")]
    for r in rows:
        assert (r["n_train"], r["n_test"]) == (27, 9)  # 3 of 12 chips a class: sectors of 3, or arcs of one sweep
        assert 0 <= r["top1"] <= 100 and set(r["per_class"]) == {"C0", "C1", "C2"}


def test_sector_folders_link_the_same_fold_for_the_kit(tmp_path):
    """``sector_folders.py`` writes train/ and test/ links whose test side is the plain script's fold."""
    root = _numbered_chips(tmp_path / "mstar")
    proc = subprocess.run([sys.executable, str(REPO / "benchmarks" / "sector_folders.py"), str(tmp_path / "fold"),
                           "--sectors", "4", "--root", str(root / "train")], capture_output=True, text=True,
                          timeout=300, cwd=REPO, env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin",
                                                      "SARTAIL_CACHE_DIR": str(tmp_path / "cache")})
    assert proc.returncode == 0, proc.stderr[-2000:]
    test = sorted(p.relative_to(tmp_path / "fold" / "test").as_posix() for p in (tmp_path / "fold" / "test").rglob("*.jpeg"))
    train = list((tmp_path / "fold" / "train").rglob("*.jpeg"))
    assert len(test) == 9 and len(train) == 27 and all(p.is_symlink() for p in train)
