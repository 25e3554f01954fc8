"""Test-time augmentation on MSTAR-LT: each finished run of bench_accuracy.py scored again on its held-out fold.

For every recipe and seed, the final model is scored with no TTA and with each ``--views``
(softmax averaged over the views, :mod:`sartail.eval.ensemble`), on the very test chips the
run was scored on (its config rebuilds the same split). Prints the balanced accuracy per seed
and the gain of each view set over no TTA, paired by seed with a 95 % interval.

    python benchmarks/bench_tta.py [--root runs/bench_accuracy/exp100] [--recipes ce,crt,...] [--views flip,flip+shift]
"""
from __future__ import annotations

import argparse
from pathlib import Path

import torch

from sartail.data.splits import prepare_data
from sartail.errors import SartailError
from sartail.eval.ensemble import ensemble
from sartail.eval.metrics import evaluate_logits
from sartail.eval.predict import predict_logits
from sartail.eval.stats import paired_difference
from sartail.run.inference import load_ensemble

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", default=str(REPO / "runs" / "bench_accuracy" / "exp100"))
    ap.add_argument("--recipes", default="ce,crt,logit_adjust,mislas")
    ap.add_argument("--views", default="flip,flip+shift", help="comma-separated view sets; '+' joins views in one set")
    args = ap.parse_args()
    root = Path(args.root)
    sets = [()] + [tuple(v.split("+")) for v in args.views.split(",")]
    names = ["none"] + args.views.split(",")
    for recipe in args.recipes.split(","):
        scores: dict[str, list[float]] = {n: [] for n in names}
        seeds = sorted(p for p in (root / recipe).glob("seed-*") if (p / "results.json").exists())
        for path in list(seeds):
            try:
                model, runs = load_ensemble(path, (), progress=False)
            except SartailError as exc:  # e.g. a checkpoint of an older format
                print(f"{recipe} {path.name}: skipped ({str(exc).split(':')[0]})")
                seeds.remove(path)
                continue
            run = runs[0]
            data = prepare_data(run.cfg, progress=False)  # the split the run was scored on
            for name, views in zip(names, sets):
                logits = predict_logits(ensemble([model], views), data.test, run.context())
                m = evaluate_logits(logits, data.test.labels, data.test.class_names)
                scores[name].append(100 * m["balanced"])
        line = f"{recipe:14s} seeds {len(seeds)}  " + "  ".join(
            f"{n} {sum(v) / len(v):.1f} ({'/'.join(f'{x:.1f}' for x in v)})" for n, v in scores.items() if v)
        print(line)
        for n in names[1:]:
            if len(seeds) > 1:
                p = paired_difference(scores[n], scores["none"])
                print(f"{'':14s} {n} - none: {p.mean:+.1f} [{p.ci_low:+.1f}, {p.ci_high:+.1f}]"
                      + ("" if p.significant else " n.s."), flush=True)


if __name__ == "__main__":
    torch.set_num_threads(1)
    main()
