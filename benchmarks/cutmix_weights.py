"""How far CutMix's energy-weighted labels lie from its area weight, on real MSTAR-LT chips.

Draws batches of the seed's MSTAR-LT training chips (the kit's subset and augmentation), CutMixes
each twice from the same generator state, once with ``labels="area"`` and once with ``"energy"``
(the same box and permutation), and prints the mean absolute difference of the own-label
weights per chip:

    python benchmarks/cutmix_weights.py [--batches 50] [--seed 0]
"""
from __future__ import annotations

import argparse
import os
import statistics
from pathlib import Path

import torch

from sartail.config import AugmentConfig, load_config
from sartail.data.augment import augment_batch, cutmix
from sartail.data.splits import prepare_data

MSTAR = Path(os.environ.get("SARTAIL_MSTAR_ROOT", Path(__file__).resolve().parents[2] / "shared/data/mstar_soc10"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--batches", type=int, default=50)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    cfg = load_config("cutmix", {"data.train": f"mstar:{MSTAR}", "data.test_fraction": 0.25, "data.profile": "exp",
                                 "data.ratio": 100, "data.size": 64, "seed": args.seed})
    x = prepare_data(cfg, progress=False).train.pixels().float()
    g = torch.Generator().manual_seed(args.seed)
    diffs = []
    for _ in range(args.batches):
        xb = augment_batch(x[torch.randperm(len(x), generator=g)[:args.batch]], AugmentConfig(), g)
        state = g.get_state()
        area = cutmix(xb, 1.0, g, 1.0, "area")[2]
        g.set_state(state)
        energy = cutmix(xb, 1.0, g, 1.0, "energy")[2]
        diffs.append(float((energy - area).abs().mean()))
    print(f"{args.batches} batches of {args.batch} MSTAR-LT chips (seed {args.seed}): mean |energy - area| own-label "
          f"weight per chip {statistics.mean(diffs):.3f} (batch means {min(diffs):.3f} to {max(diffs):.3f})")


if __name__ == "__main__":
    main()
