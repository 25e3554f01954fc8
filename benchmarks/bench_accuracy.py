"""Balanced accuracy of every recipe against `ce` and the equal-budget control on MSTAR-LT, at the shipped defaults.

Long-tailed subsets of the real MSTAR 17-degree chips (../shared/data/mstar_soc10, or
$SARTAIL_MSTAR_ROOT): a stratified 25 % fold is held out first as the (near-balanced) test
set, fixed across seeds; the long-tailed training set is drawn from the rest with the run's
seed (exponential profile with ratio 100; ``--profiles full``: every remaining chip, balanced
MSTAR); 10 % of it is split off for validation. Chips are centre-cropped to 64 x 64 (never
resized), batch 64: the MSTAR kind's own input defaults (sartail/config/inputs.py), so nothing
is set beyond the data and the fold. Every recipe runs
its shipped settings, incl. the budget floor (``budget.min_samples``) and ``select: auto``;
the sweep adds the equal-budget control ``ce@equal`` and reuses identical stages.

    python benchmarks/bench_accuracy.py [--seeds 0,1,2] [--profiles exp100] [--recipes ce,crt,...]
                                        [--out runs/bench_accuracy] [--epoch-scale K] [--plain FILE]
    python benchmarks/bench_accuracy.py --report [--plain runs/bench_logs/plain_exp100.jsonl]

After every run the summary of all finished runs under ``--out`` is rewritten
(``PROFILE/summary.json`` and ``summary.txt``), so several processes (e.g. one per seed) can
share one folder, and ``--report`` prints it. ``--plain`` adds the plain-PyTorch control's
JSON lines (benchmarks/plain_loop.py) beside the kit's rows, paired with the kit's ``ce``.
"""
from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import torch
import yaml

from sartail.atomic import write_json, write_text
from sartail.config import load_scaled_config, recipe_names
from sartail.eval.results import RunResults
from sartail.eval.stats import paired_difference
from sartail.eval.summary import summarize_runs
from sartail.report.tables import paired_cell, summary_table, table
from sartail.run.sweep import Planned, sweep

REPO = Path(__file__).resolve().parents[1]
MSTAR = Path(os.environ.get("SARTAIL_MSTAR_ROOT", REPO.parent / "shared" / "data" / "mstar_soc10"))
#: The table's order: the controls and the core recipes first, then every other shipped recipe (alphabetical), so
#: that the default sweep is every recipe the kit ships.
CORE = ["ce", "crt", "three_stage", "lws", "tau_norm", "two_stage", "logit_adjust", "ldam_drw", "mislas",
        "weight_balancing", "ema", "focal", "cutmix", "three_stage_head3"]
RECIPES = [*CORE, *(r for r in recipe_names() if r not in CORE)]
PROFILES = {"exp100": {"data.profile": "exp", "data.ratio": 100}, "full": {},
            # MAVOC's class proportions (class 0 about 2/3 of the chips), head-to-tail ratio 100
            "mavoc100": {"data.profile": "mavoc", "data.ratio": 100}}
METRICS = ("balanced", "top1", "many_shot", "few_shot", "macro_f1")


def collect(folder: Path) -> dict[str, list[RunResults]]:
    """Results of every finished run under ``folder`` (``RECIPE/seed-N/results.json``), by recipe, seeds sorted."""
    out: dict[str, list[RunResults]] = {}
    for path in sorted(folder.glob("*/seed-*/results.json")):
        res = RunResults.from_json(json.loads(path.read_text()))
        if res.final_stage is not None:
            out.setdefault(path.parent.parent.name, []).append(res)
    order = {r: i for i, r in enumerate(dict.fromkeys(["ce", "ce@equal", *RECIPES]))}
    return {k: sorted(v, key=lambda r: r.seed) for k, v in sorted(out.items(), key=lambda kv: order.get(kv[0], 99))}


#: The kit's recipe that each plain-loop method re-implements.
PLAIN_MATCH = {"ce": "ce", "crt": "crt", "three": "three_stage", "la": "logit_adjust", "focal": "focal", "cutmix": "cutmix"}


def plain_rows(path: Path | None, kit: dict[str, list[RunResults]], profile: str) -> list[list[str]]:
    """Rows of the plain-loop control (its JSON lines): each paired with the kit's ``ce`` on the same seeds, and the
    kit's own version of the method (``PLAIN_MATCH``) minus the plain loop's, paired by seed."""
    if path is None or not path.exists():
        return []
    lines = [json.loads(s) for s in path.read_text().splitlines() if s.strip()]
    by: dict[str, dict[int, float]] = {}
    for d in lines:
        if d.get("profile", "exp100") == profile:
            by.setdefault(d["method"], {})[d["seed"]] = d["test"]["balanced"]

    def paired(seeds: dict[int, float], runs: list[RunResults], kit_minus_plain: bool = False) -> str:
        other = {r.seed: r.final.balanced for r in runs}
        shared = [s for s in sorted(seeds) if s in other]
        if not shared:
            return ""
        a, b = [other[s] for s in shared], [seeds[s] for s in shared]
        return paired_cell(paired_difference(*((a, b) if kit_minus_plain else (b, a))).to_json())

    rows = []
    for method, seeds in by.items():
        vals = [100 * v for _, v in sorted(seeds.items())]
        match = PLAIN_MATCH.get(method)
        rows.append([f"plain {method}", str(len(vals)), " / ".join(f"{v:.1f}" for v in vals),
                     paired(seeds, kit.get("ce", [])),
                     f"{match}: {paired(seeds, kit[match], kit_minus_plain=True)}" if match in kit else ""])
    return rows


def stage_rows(results: dict[str, list[RunResults]]) -> list[list[str]]:
    """Per multi-stage recipe, each stage's test balanced accuracy (mean over seeds) and its paired
    gain over the stage before: where a recipe's accuracy comes from (or goes)."""
    rows = []
    for recipe, runs in results.items():
        names = list(runs[0].stages)
        if len(names) < 2:
            continue
        prev: list[float] | None = None
        for name in names:
            vals = [r.stages[name].balanced for r in runs if name in r.stages and r.stages[name].balanced is not None]
            gain = paired_cell(paired_difference(vals, prev).to_json()) if prev is not None and len(prev) == len(vals) else ""
            rows.append([recipe, name, str(len(vals)), f"{100 * sum(vals) / len(vals):.1f}", gain])
            prev = vals
    return rows


def report(out: Path, profile: str, plain: Path | None) -> str:
    results = collect(out / profile)
    if not results:
        return f"no finished runs under {out / profile}"
    rows = summarize_runs(results)
    write_json(out / profile / "summary.json", rows)
    seeds = sorted({s for r in rows for s in r["seeds"]})
    lines = [f"MSTAR-LT profile {profile}, seeds {seeds} (test: held-out stratified 25 % fold of the 17-degree chips)",
             summary_table(rows, METRICS), "",
             "per seed (balanced %): " + "; ".join(f"{k} " + "/".join(f"{100 * r.final.balanced:.1f}" for r in v)
                                                   for k, v in results.items())]
    budgets = {k: v[0].budget for k, v in results.items()}
    lines += ["", "budget: " + "; ".join(f"{k}: {b}" for k, b in budgets.items())]
    sel = {k: v[0].selected for k, v in results.items()}
    lines += [f"selection (seed {results['ce'][0].seed}): " if "ce" in results else "selection:",
              *[f"  {k}: {s}" for k, s in sel.items()]]
    srows = stage_rows(results)
    if srows:
        lines += ["", "stage by stage (test balanced %, mean over seeds; gain: paired with the stage before, 95% CI):",
                  table(srows, ["recipe", "stage", "seeds", "balanced %", "gain over the stage before"])]
    prow = plain_rows(plain, results, profile)
    if prow:
        lines += ["", "plain-PyTorch control (benchmarks/plain_loop.py, same chips), paired by seed (95% CI):",
                  table(prow, ["run", "seeds", "balanced % per seed", "vs kit ce", "kit's own minus plain"])]
    text = "\n".join(lines)
    write_text(out / profile / "summary.txt", text + "\n")
    return text


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--profiles", default="exp100")
    ap.add_argument("--recipes", default=",".join(RECIPES))
    ap.add_argument("--out", default=str(REPO / "runs" / "bench_accuracy"))
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--epoch-scale", type=float, default=1.0, help="multiply every stage's epochs by this (default: shipped)")
    ap.add_argument("--no-control", action="store_true", help="leave out the equal-budget ce control")
    ap.add_argument("--plain", type=Path, default=None, help="plain_loop.py JSON lines to show beside the kit")
    ap.add_argument("--report", action="store_true", help="only print the summary of the finished runs")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="extra overrides for every run")
    args = ap.parse_args()
    out = Path(args.out)
    profiles = args.profiles.split(",")
    if args.report:
        for profile in profiles:
            print(report(out, profile, args.plain))
        return
    if not (MSTAR / "train").is_dir():
        raise SystemExit(f"MSTAR not found at {MSTAR} (set SARTAIL_MSTAR_ROOT)")
    base = {"data.train": f"mstar:{MSTAR}", "device": args.device,
            "data.split_seed": 0, "data.test_fraction": 0.25}
    extra = {k: yaml.safe_load(v) for k, v in (s.split("=", 1) for s in args.set)}
    t_start = time.perf_counter()
    for profile in profiles:
        for seed in [int(s) for s in args.seeds.split(",")]:
            over = {**base, **PROFILES[profile], "seed": seed, **extra}
            plan = [Planned(r, load_scaled_config(r, over, args.epoch_scale), out / profile / r / f"seed-{seed}")
                    for r in args.recipes.split(",")]

            def done(run, res, profile=profile):  # noqa: ANN001
                print(f"  {profile} seed {res.seed} {run.dir.path.parent.name:17s} balanced {100 * res.final.balanced:5.1f}"
                      f"  [{res.budget}]", flush=True)
                report(out, profile, args.plain)

            sweep(plan, overwrite=True, keep_finished=True, progress=False, control=not args.no_control,
                  reuse=[p.parent for p in (out / profile).glob("*/seed-*/results.json")], on_done=done)
        print(report(out, profile, args.plain))
    print(f"\ntotal {time.perf_counter() - t_start:.0f} s; torch {torch.__version__}")


if __name__ == "__main__":
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    main()
