"""Seed ensembles on MSTAR-LT: runs trained on the same long-tailed subset, their softmax averaged.

bench_accuracy.py draws each seed's subset with the seed itself, so its seeds cannot be
ensembled fairly (each saw other chips). Here the subset is fixed (``data.subset_seed``) and
only the training seed varies (init, batch order, the validation split of the same pool):

    python benchmarks/bench_accuracy.py --seeds 1,2 --recipes ce,logit_adjust --no-control \\
        --set data.subset_seed=0 --out runs/ens                     # + seed 0's own run, copied or retrained
    python benchmarks/bench_ensemble.py --root runs/ens/exp100 [--recipes ce,logit_adjust] [--tta flip,shift]

For every recipe and subset, each member is scored on the held-out fold, then the ensemble of
the first 2, 3, ... members (:func:`sartail.run.predict.load_ensemble`, what ``sartail predict
RUN RUN ...`` uses). Prints balanced accuracy %, the ensemble's gain over its members' mean and
over its best member. An ensemble of k runs costs k runs' training: set it beside ``ce`` at a
k-times budget (BENCHMARKS.md), not only beside one run.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import torch

from sartail.data.splits import prepare_data
from sartail.eval.ensemble import ensemble
from sartail.eval.metrics import evaluate_logits
from sartail.eval.predict import predict_logits
from sartail.run.predict import load_ensemble
from sartail.run.run import Run
from sartail.run.rundir import RunDir

REPO = Path(__file__).resolve().parents[1]


def groups(root: Path, recipe: str) -> dict[int, list[Path]]:
    """Finished runs of ``recipe`` under ``root`` by the seed of their long-tailed subset, seeds in order."""
    out: dict[int, list[Path]] = {}
    for path in sorted((root / recipe).glob("seed-*"), key=lambda p: int(p.name.split("-")[1])):
        if (path / "results.json").exists():
            cfg = RunDir.open(path).config()
            out.setdefault(cfg.seed if cfg.data.subset_seed is None else cfg.data.subset_seed, []).append(path)
    return out


def balanced(model: torch.nn.Module, run: Run, data) -> float:  # noqa: ANN001
    logits = predict_logits(model, data.test, run.context())
    return 100 * evaluate_logits(logits, data.test.labels, data.test.class_names)["balanced"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", default=str(REPO / "runs" / "ens" / "exp100"))
    ap.add_argument("--recipes", default="ce,logit_adjust")
    ap.add_argument("--tta", default="", help="test-time views for members and ensembles alike: flip, shift or flip,shift")
    args = ap.parse_args()
    root = Path(args.root)
    for recipe in args.recipes.split(","):
        for subset, paths in groups(root, recipe).items():
            if len(paths) < 2:
                print(f"{recipe} subset {subset}: {len(paths)} run, no ensemble")
                continue
            whole, runs = load_ensemble(paths, (), progress=False)  # each run loaded once; classes and sizes checked
            models = list(whole.members)
            data = prepare_data(runs[0].cfg, progress=False)
            for path, run in zip(paths[1:], runs[1:]):
                if not torch.equal(prepare_data(run.cfg, progress=False).test.labels, data.test.labels):
                    raise SystemExit(f"{path}: scored on another test fold than {paths[0]}")
            singles = [balanced(ensemble([m], args.tta), runs[0], data) for m in models]
            ens = {k: balanced(ensemble(models[:k], args.tta), runs[0], data) for k in range(2, len(models) + 1)}
            mean = sum(singles) / len(singles)
            print(f"{recipe} subset {subset} ({', '.join(p.name for p in paths)}"
                  f"{', TTA ' + args.tta if args.tta else ''}): members " + " / ".join(f"{v:.1f}" for v in singles)
                  + f" (mean {mean:.1f})")
            for k, v in ens.items():
                m = sum(singles[:k]) / k
                print(f"  ensemble of {k}: {v:.1f}   vs its members' mean {v - m:+.1f}, vs its best {v - max(singles[:k]):+.1f}",
                      flush=True)


if __name__ == "__main__":
    torch.set_num_threads(1)
    main()
