"""Convergence of the kit's `ce` against its budget (optimizer steps) on MSTAR-LT and full MSTAR.

Each point is a separate run of the `ce` recipe with ``stages.rough.epochs=E`` (the cosine
schedule spans the whole budget), on the chips of bench_accuracy.py; ``--profile full`` uses
every training chip (balanced MSTAR). One JSON line per (epochs, seed):

    python benchmarks/budget_curve.py --profile exp100 --epochs 15,30,60,120,240 --seeds 0
    python benchmarks/budget_curve.py --profile full --epochs 5,10,20,40 --seeds 0 [--set data.size=64 ...]
"""
from __future__ import annotations

import argparse
import json
import math
import os
import time
from pathlib import Path

import torch
import yaml

from sartail import Run
from sartail.config import load_config
from sartail.data.splits import prepare_data

REPO = Path(__file__).resolve().parents[1]
MSTAR = Path(os.environ.get("SARTAIL_MSTAR_ROOT", REPO.parent / "shared" / "data" / "mstar_soc10"))
PROFILES = {"exp100": {"data.profile": "exp", "data.ratio": 100}, "full": {}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--profile", default="exp100", choices=list(PROFILES))
    ap.add_argument("--epochs", default="15,30,60,120")
    ap.add_argument("--seeds", default="0")
    ap.add_argument("--recipe", default="ce")
    ap.add_argument("--tag", default="default")
    ap.add_argument("--out", default=str(REPO / "runs" / "budget_curve"))
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    args = ap.parse_args()
    extra = {k: yaml.safe_load(v) for k, v in (s.split("=", 1) for s in args.set)}
    for seed in [int(s) for s in args.seeds.split(",")]:
        over = {"data.train": f"mstar:{MSTAR}", "data.size": 64, "batch_size": 64, "device": "cpu",
                "data.split_seed": 0, "data.test_fraction": 0.25, "seed": seed, **PROFILES[args.profile], **extra}
        data = prepare_data(load_config("ce", {k: v for k, v in over.items() if not k.startswith("stages.")}),
                            progress=False)
        for e in [int(v) for v in args.epochs.split(",")]:
            cfg = load_config(args.recipe, {**over, "stages.rough.epochs": e})
            t0 = time.perf_counter()
            path = Path(args.out) / args.profile / args.tag / f"e{e}" / f"seed-{seed}"
            res = Run.create(cfg, path, overwrite=True, data=data, progress=False).fit_and_test()
            steps = e * math.ceil(len(data.train) / cfg.batch_size)
            f = res["final"]
            print(json.dumps({"profile": args.profile, "tag": args.tag, "set": extra, "seed": seed, "epochs": e,
                              "steps": steps, "train_chips": len(data.train), "balanced": f["balanced"],
                              "top1": f["top1"], "many_shot": f["many_shot"], "few_shot": f["few_shot"],
                              "seconds": round(time.perf_counter() - t0, 1)}), flush=True)


if __name__ == "__main__":
    torch.set_num_threads(1)
    main()
