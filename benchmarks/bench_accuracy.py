"""Balanced accuracy of the three stages against the long-tailed classics on MSTAR-LT.

Long-tailed subsets of the real MSTAR 17-degree chips (../shared/data/mstar_soc10, or
$SARTAIL_MSTAR_ROOT): a stratified 25 % fold is held out first as the (near-balanced) test
set, fixed across seeds; the long-tailed training set is drawn from the rest with the run's
seed (exponential profile with ratio 100, and the MAVOC-shaped profile); 10 % of it is split
off for validation (model selection). Chips are centre-cropped to 64 x 64, never resized.
Every recipe trains the same small network (SARNet) with its shipped settings; identical
stages (the plain cross-entropy stage shared by ce, crt, lws, two_stage and three_stage)
are trained once per seed and reused.

    python benchmarks/bench_accuracy.py [--seeds 0,1,2] [--profiles exp100,mavoc] [--out runs/bench_accuracy]
                                        [--epoch-scale K]

``--epoch-scale K`` multiplies every stage's epochs (and LDAM's re-weighting epoch) by K, the
same for every recipe, so that recipes keep their proportions under a longer budget: the
shipped epochs suit the synthetic demo, and a few hundred MSTAR-LT chips give only about six
steps per epoch.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import torch

from sartail import Run, prepare_data
from sartail.config import load_config, load_scaled_config
from sartail.report.tables import table

REPO = Path(__file__).resolve().parents[1]
MSTAR = Path(os.environ.get("SARTAIL_MSTAR_ROOT", REPO.parent / "shared" / "data" / "mstar_soc10"))
RECIPES = ["ce", "crt", "lws", "two_stage", "three_stage", "ldam_drw", "logit_adjust"]
PROFILES = {"exp100": {"data.profile": "exp", "data.ratio": 100}, "mavoc": {"data.profile": "mavoc"}}
METRICS = ("balanced", "top1", "few_shot", "macro_f1")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--profiles", default="exp100,mavoc")
    ap.add_argument("--recipes", default=",".join(RECIPES))
    ap.add_argument("--out", default=str(REPO / "runs" / "bench_accuracy"))
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--epoch-scale", type=float, default=1.0, help="multiply every stage's epochs by this")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="extra overrides for every run (stages.NAME... keys apply to the recipes with that stage)")
    args = ap.parse_args()
    if not (MSTAR / "train").is_dir():
        raise SystemExit(f"MSTAR not found at {MSTAR} (set SARTAIL_MSTAR_ROOT)")
    seeds = [int(s) for s in args.seeds.split(",")]
    recipes = args.recipes.split(",")
    out = Path(args.out)
    base = {"data.train": f"mstar:{MSTAR}", "data.size": 64, "batch_size": 64, "device": args.device,
            "data.split_seed": 0, "data.test_fraction": 0.25}
    extra = dict(s.split("=", 1) for s in args.set)
    import yaml

    extra = {k: yaml.safe_load(v) for k, v in extra.items()}
    results: dict[str, dict[str, list[dict]]] = {}
    t_start = time.perf_counter()
    for profile in args.profiles.split(","):
        for seed in seeds:
            overrides = {**base, **PROFILES[profile], "seed": seed, **extra}
            data_overrides = {k: v for k, v in overrides.items() if not k.startswith("stages.")}  # a recipe's own stages
            data = prepare_data(load_config("ce", data_overrides), progress=False)
            if seed == seeds[0]:
                print(f"[{profile}] train counts (seed {seed}): {data.train.class_counts().tolist()}, "
                      f"val {sum(data.val.class_counts().tolist())}, test {len(data.test)}", flush=True)
            done: list[Path] = []
            for recipe in recipes:
                path = out / profile / recipe / f"seed-{seed}"
                cfg = load_scaled_config(recipe, overrides, args.epoch_scale)
                if (path / "results.json").exists() and Run.resume(path, data=data, progress=False).cfg == cfg:
                    res = json.loads((path / "results.json").read_text())
                else:
                    t0 = time.perf_counter()
                    run = Run.create(cfg, path, overwrite=True, data=data, reuse=done, progress=False)
                    res = run.fit_and_test()
                    print(f"  {profile} seed {seed} {recipe:13s} balanced {100 * res['final']['balanced']:5.1f}  "
                          f"({time.perf_counter() - t0:.0f} s)", flush=True)
                done.append(path)
                results.setdefault(profile, {}).setdefault(recipe, []).append(res["final"])
    rows_json = {}
    for profile, by_recipe in results.items():
        rows = []
        ce_mean = statistics.fmean(r["balanced"] for r in by_recipe.get("ce", [])) if "ce" in by_recipe else None
        for recipe, finals in by_recipe.items():
            cells = [recipe]
            for m in METRICS:
                vals = [f[m] for f in finals if f.get(m) is not None]
                mean = statistics.fmean(vals) if vals else float("nan")
                std = statistics.stdev(vals) if len(vals) > 1 else 0.0
                cells.append(f"{100 * mean:.1f} ± {100 * std:.1f}")
                rows_json.setdefault(profile, {}).setdefault(recipe, {})[m] = {"mean": mean, "std": std, "n": len(vals)}
            if ce_mean is not None:
                gain = statistics.fmean(f["balanced"] for f in finals) - ce_mean
                cells.append(f"{100 * gain:+.1f}")
            rows.append(cells)
        print(f"\nMSTAR-LT, profile {profile}, seeds {seeds}, epochs x{args.epoch_scale:g} (test: held-out stratified fold of the 17-degree chips)")
        header = ["recipe", "balanced %", "top-1 %", "few-shot %", "macro-F1 x100"] + (["vs ce"] if ce_mean is not None else [])
        print(table(rows, header))
    (out / "summary.json").write_text(json.dumps(rows_json, indent=2))
    print(f"\nsummary: {out / 'summary.json'}; total {time.perf_counter() - t_start:.0f} s; torch {torch.__version__}")


if __name__ == "__main__":
    main()
