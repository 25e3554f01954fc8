"""Diagnose the kit's cRT on MSTAR-LT exp100: one `ce` stage per seed, then cRT variants on it.

Every variant re-trains only the classifier stage (the `ce` stage is trained once per seed
and reused), on the chips of bench_accuracy.py. Prints one JSON line per (variant, seed):

    python benchmarks/diag_crt.py --seeds 0,1,2 --epoch-scale 4 --variants default,last,...
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
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--epoch-scale", type=float, default=4.0)
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--out", default=str(REPO / "runs" / "diag_crt"))
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="extra overrides for every run")
    args = ap.parse_args()
    import yaml

    extra = {k: yaml.safe_load(v) for k, v in (s.split("=", 1) for s in args.set)}
    base = {"data.train": f"mstar:{MSTAR}", "data.size": 64, "batch_size": 64, "device": "cpu", "data.split_seed": 0,
            "data.test_fraction": 0.25, "data.profile": "exp", "data.ratio": 100, **extra}
    out = Path(args.out)
    for seed in [int(s) for s in args.seeds.split(",")]:
        over = {**base, "seed": seed}
        data = prepare_data(load_scaled_config("ce", {k: v for k, v in over.items() if not k.startswith("stages.")}),
                            progress=False)
        ce_path = out / "ce" / f"seed-{seed}"
        ce_cfg = load_scaled_config("ce", over, args.epoch_scale)
        if (ce_path / "results.json").exists() and Run.resume(ce_path, data=data, progress=False).cfg == ce_cfg:
            ce = json.loads((ce_path / "results.json").read_text())
        else:
            ce = Run.create(ce_cfg, ce_path, overwrite=True, data=data, progress=False).fit_and_test()
        print(json.dumps({"variant": "ce", "seed": seed, **{k: ce["final"][k] for k in ("balanced", "many_shot", "few_shot")}}),
              flush=True)
        for name in args.variants.split(","):
            path = out / name / f"seed-{seed}"
            cfg = load_scaled_config("crt", {**over, **VARIANTS[name]}, args.epoch_scale)
            run = Run.create(cfg, path, overwrite=True, data=data, reuse=[ce_path], progress=False)
            res = run.fit_and_test()
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
