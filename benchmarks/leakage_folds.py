"""How close each held-out MSTAR chip is to the training chips, under each split of the 17-degree chips.

Prints, for MSTAR's 64 px chips ($SARTAIL_MSTAR_ROOT, default ../shared/data/mstar_soc10):

1. reference similarities: a chip's nearest other chip of its class (centre 64 px, no shift:
   0.755 in the published measure), chips with consecutive file numbers, random same-class pairs,
   the nearest chip over 3 px shifts (same class and, with ``--other-class``, other classes), and
   chips against their own copy moved by 2 px with noise (what a planted duplicate scores);
2. for the ``random``, ``sector`` and ``grouped`` splits: the test fold (25 %) against the
   training side and the validation split (10 %) against the rest: the share of chips whose best
   NCC reaches 0.80 / 0.85 / 0.90 and the mean best NCC;
3. where a chip's nearest chip sits in the file-number order (rank offset), and the leakage of
   a fold cut by the position within a sweep of that order (rank modulo its period) instead of by
   contiguous runs.

    python benchmarks/leakage_folds.py [--other-class]

The record: benchmarks/history/2026-12-08-leakage.md.
"""
from __future__ import annotations

import argparse
import collections
import os
import time
from pathlib import Path

import numpy as np
import torch

from sartail.data import load
from sartail.data.chipset import ChipSet
from sartail.data.folds import file_number, fold_split, near_duplicate_groups
from sartail.data.leakage import leakage, nearest_other, queries, self_copy_scores, similarity

MSTAR = Path(os.environ.get("SARTAIL_MSTAR_ROOT", Path(__file__).resolve().parents[2] / "shared" / "data" / "mstar_soc10"))


def by_file_number(chips: ChipSet, c: int) -> torch.Tensor:
    pos = torch.nonzero(chips.labels == c).reshape(-1)
    nums = [file_number(chips.chip_ids[p]) for p in pos.tolist()]
    return pos[torch.as_tensor(np.argsort(nums, kind="stable"))]


def references(chips: ChipSet, other_class: bool) -> None:
    s0 = nearest_other(chips, shift=0, size=64)
    cons, rnd, g = [], [], np.random.default_rng(0)
    for c in range(chips.num_classes):
        q = queries(chips.take(by_file_number(chips, c)), 64)
        s = (q @ q.T).numpy()
        cons += np.diagonal(s, 1).tolist()
        i, j = g.integers(0, len(q), 2000), g.integers(0, len(q), 2000)
        rnd += s[i[i != j], j[i != j]].tolist()
    print(f"centre 64 px, no shift: nearest same-class chip {s0.mean():.3f}, consecutive file numbers "
          f"{np.mean(cons):.3f}, random same-class pair {np.mean(rnd):.3f}")
    s3 = nearest_other(chips).numpy()
    print(f"3 px shifts, centre 58 px: nearest same-class chip mean {s3.mean():.3f}, quantiles 1/5/50/95/99 % "
          f"{np.quantile(s3, [.01, .05, .5, .95, .99]).round(3).tolist()}, max {s3.max():.3f}; "
          f"share >= 0.80 / 0.85 / 0.90: {np.mean(s3 >= .8):.3f} / {np.mean(s3 >= .85):.3f} / {np.mean(s3 >= .9):.3f}")
    if other_class:
        o = nearest_other(chips, same_class=False).numpy()
        print(f"nearest chip of another class: mean {o.mean():.3f}, 99 % {np.quantile(o, .99):.3f}, max {o.max():.3f}")
    for noise in (0.25, 0.5, 0.75, 1.0):
        c = self_copy_scores(chips, noise=noise)
        print(f"own copy, 2 px shift + noise {noise} x the chip's std: mean {c.mean():.3f}, min {c.min():.3f}")


def shares(train: ChipSet, test: ChipSet) -> str:
    s = leakage(train, test).score.numpy()
    return (f"{len(test)} chips: >= 0.80 {np.mean(s >= .8):.1%}, >= 0.85 {np.mean(s >= .85):.1%}, "
            f">= 0.90 {np.mean(s >= .9):.1%}; mean best {s.mean():.3f}")


def splits(chips: ChipSet) -> None:
    for split in ("random", "sector", "grouped"):
        t = time.perf_counter()
        rest, test = fold_split(chips, split, 0.25, seed=0)
        train, val = fold_split(rest, split, 0.1, seed=0, strict=False)
        print(f"{split:8s} test fold vs training: {shares(rest, test)}")
        print(f"{split:8s} validation vs training: {shares(train, val)}  ({time.perf_counter() - t:.0f} s)")


def groups(chips: ChipSet) -> None:
    for threshold in (0.85, 0.80, 0.75):
        g = near_duplicate_groups(chips, threshold)
        sizes = [np.unique(g[(chips.labels == c).numpy()], return_counts=True)[1] for c in range(chips.num_classes)]
        print(f"near-duplicate groups at NCC >= {threshold}: per class {[len(s) for s in sizes]}, "
              f"largest {[int(s.max()) for s in sizes]}, chips in groups of 2+ {[int(s[s > 1].sum()) for s in sizes]}")


def sweep_fold(chips: ChipSet, n_sectors: int = 12, n_folds: int = 4, seed: int = 0) -> None:
    rng, fold = np.random.default_rng(seed), np.full(len(chips), -1)
    for c in sorted(range(chips.num_classes), key=lambda k: chips.class_names[k]):
        pos = by_file_number(chips, c)
        s = similarity(chips.take(pos), chips.take(pos), reduce=False)
        assert isinstance(s, torch.Tensor)
        s.fill_diagonal_(-2.0)
        off = (s.argmax(1) - torch.arange(len(pos))).abs().numpy()
        near = collections.Counter(off[(off >= 30) & (off <= 100)].tolist())
        period = near.most_common(1)[0][0]
        share = sum(v for k, v in near.items() if abs(k - period) <= 4) / len(pos)
        print(f"{chips.class_names[c]:9s} nearest chip within 3 ranks: {np.mean(off <= 3):.1%}; "
              f"median rank offset {np.median(off) / len(pos):.2f} of the order; period {period} ranks "
              f"({share:.0%} of nearest chips within 4 ranks of it)")
        sector = np.minimum((np.arange(len(pos)) % period) * n_sectors // period, n_sectors - 1)
        block_fold = np.empty(n_sectors, dtype=int)
        block_fold[rng.permutation(n_sectors)] = np.arange(n_sectors) % n_folds
        fold[pos.numpy()] = block_fold[sector]
    held = torch.as_tensor(fold == 0)
    print(f"sweep position test fold vs training: {shares(chips.take(~held), chips.take(held))}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--other-class", action="store_true", help="also each chip's nearest chip of another class (minutes)")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    chips = load(f"mstar:{MSTAR}", size=64, progress=False)
    references(chips, args.other_class)
    splits(chips)
    groups(chips)
    sweep_fold(chips)


if __name__ == "__main__":
    main()
