"""Diagnose the kit's cRT on MSTAR-LT exp100: one `ce` stage per seed, then cRT variants on it.

Every variant re-trains only the classifier stage (the `ce` stage is trained once per seed
and reused), on the chips of bench_accuracy.py. Prints one JSON line per (variant, seed):

    python benchmarks/diag_crt.py --seeds 0,1,2 --epoch-scale 4 --variants default,last,...
    python benchmarks/diag_crt.py --seeds 0,1,2,3,4 --ce runs/bench_accuracy/exp100/ce --variants default,keep

At ``--epoch-scale 1`` (the default) the runs get the shipped budget floor; ``--ce`` names a
folder of finished ``ce`` runs (``seed-N``, e.g. bench_accuracy.py's) to build on instead of
training them again (they are used only if their config is the one this script would train).
"""
from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import torch

from sartail import Run
from sartail.config import load_scaled_config
from sartail.data.splits import prepare_data
from sartail.run.budget import resolve_budget
from sartail.run.sweep import finished_results

REPO = Path(__file__).resolve().parents[1]
MSTAR = Path(os.environ.get("SARTAIL_MSTAR_ROOT", REPO.parent / "shared" / "data" / "mstar_soc10"))
C = "stages.classifier."
VARIANTS = {
    "default": {},
    "last": {C + "select": "last"},
    "last_noaug": {C + "select": "last", C + "augment.crop": 0, C + "augment.flip": False},
    "last_bnupdate": {C + "select": "last", C + "bn": "update"},
    "last_wd0": {C + "select": "last", C + "optimizer.weight_decay": 0.0},
    "last_lr0.01": {C + "select": "last", C + "optimizer.lr": 0.01},
    "last_lr0.2": {C + "select": "last", C + "optimizer.lr": 0.2},
    "last_keep": {C + "select": "last", C + "head": "keep"},
    "last_const": {C + "select": "last", C + "schedule.name": "constant"},
    "best_noaug": {C + "augment.crop": 0, C + "augment.flip": False},
    "last_ep4x": {C + "select": "last", C + "sampler.epoch_size": 1536},
    # at the shipped defaults the head-only stage is already `select: last` (auto) and 52 epochs long
    "keep": {C + "head": "keep"},
    "lr0.01": {C + "optimizer.lr": 0.01},
    "keep_lr0.01": {C + "head": "keep", C + "optimizer.lr": 0.01},
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--epoch-scale", type=float, default=1.0)
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--out", default=str(REPO / "runs" / "diag_crt"))
    ap.add_argument("--ce", default="", help="folder of finished ce runs (seed-N) to reuse; default OUT/ce")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="extra overrides for every run")
    args = ap.parse_args()
    import yaml

    extra = {k: yaml.safe_load(v) for k, v in (s.split("=", 1) for s in args.set)}
    base = {"data.train": f"mstar:{MSTAR}", "device": "cpu", "data.split_seed": 0,
            "data.test_fraction": 0.25, "data.profile": "exp", "data.ratio": 100, **extra}
    out = Path(args.out)
    for seed in [int(s) for s in args.seeds.split(",")]:
        over = {**base, "seed": seed}
        data = prepare_data(load_scaled_config("ce", {k: v for k, v in over.items() if not k.startswith("stages.")}),
                            progress=False)
        ce_path = (Path(args.ce) if args.ce else out / "ce") / f"seed-{seed}"
        ce_cfg = resolve_budget(load_scaled_config("ce", over, args.epoch_scale), data)
        found = finished_results(ce_path, ce_cfg)
        if found is not None:
            ce = found.to_json()
        elif args.ce:
            raise SystemExit(f"--ce {ce_path}: no finished run of the ce config this script would train")
        else:
            ce = Run.create(ce_cfg, ce_path, overwrite=True, data=data, progress=False).fit_and_test().to_json()
        print(json.dumps({"variant": "ce", "seed": seed, **{k: ce["final"][k] for k in ("balanced", "many_shot", "few_shot")}}),
              flush=True)
        for name in args.variants.split(","):
            path = out / name / f"seed-{seed}"
            cfg = load_scaled_config("crt", {**over, **VARIANTS[name]}, args.epoch_scale)
            run = Run.create(cfg, path, overwrite=True, data=data, reuse=[ce_path], progress=False)
            res = run.fit_and_test().to_json()
            hist = [r for r in run.dir.metrics() if r.get("stage") == "classifier" and "val_balanced" in r]
            f = res["final"]
            print(json.dumps({"variant": name, "seed": seed, "balanced": f["balanced"], "many_shot": f["many_shot"],
                              "few_shot": f["few_shot"], "gain": f["balanced"] - ce["final"]["balanced"],
                              "best_epoch": run.results["classifier"].best_epoch, "epochs": len(hist),
                              "val_curve": [round(r["val_balanced"], 3) for r in hist],
                              "train_acc_curve": [round(r["train_acc"], 3) for r in hist],
                              "per_class": {k: round(v, 3) for k, v in f["per_class"].items()}}), flush=True)


if __name__ == "__main__":
    torch.set_num_threads(1)
    main()
