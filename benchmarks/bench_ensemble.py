"""Seed ensembles on MSTAR-LT: runs trained on the same long-tailed subset, their softmax averaged.

bench_accuracy.py draws each seed's subset with the seed itself, so its seeds cannot be
ensembled fairly (each saw other chips). Here the subset is fixed (``data.subset_seed``) and
only the training seed varies (init, batch order, the validation split of the same pool):

    python benchmarks/bench_accuracy.py --seeds 1,2 --recipes ce,logit_adjust --no-control \\
        --set data.subset_seed=0 --out runs/ens                     # + seed 0's own run, copied or retrained
    python benchmarks/bench_ensemble.py --root runs/ens/exp100 [--recipes ce,logit_adjust] [--tta flip,shift]
    # the plain-PyTorch control: plain_loop.py --methods la --subset-seed 0 --seed S --save-logits runs/ens_plain
    python benchmarks/bench_ensemble.py --plain runs/ens_plain

For every recipe and subset, each member is scored on the held-out fold, then the ensemble of
the first 2, 3, ... members (:func:`sartail.run.inference.load_ensemble`, what ``sartail predict
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
from sartail.run.inference import load_ensemble
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


def plain_members(folder: Path) -> dict[tuple[str, int], list[dict]]:
    """The plain loop's saved test logits (``plain_loop.py --save-logits``) by (method, subset), seeds in order."""
    out: dict[tuple[str, int], list[dict]] = {}
    for path in sorted(folder.glob("*-subset-*-seed-*.pt")):
        d = torch.load(path, map_location="cpu", weights_only=True)  # data, never code
        out.setdefault((d["method"], int(d["subset_seed"])), []).append(d)
    return {k: sorted(v, key=lambda d: d["seed"]) for k, v in sorted(out.items())}


def print_group(title: str, singles: list[float], ens: dict[int, float]) -> None:
    """One subset's members (balanced %) and its ensembles of the first k, against their mean and best."""
    print(f"{title}: members " + " / ".join(f"{v:.1f}" for v in singles) + f" (mean {sum(singles) / len(singles):.1f})")
    for k, v in ens.items():
        m = sum(singles[:k]) / k
        print(f"  ensemble of {k}: {v:.1f}   vs its members' mean {v - m:+.1f}, vs its best {v - max(singles[:k]):+.1f}",
              flush=True)


def _balanced_of_probs(probs: torch.Tensor, labels: torch.Tensor, names: list[str]) -> float:
    return 100 * evaluate_logits(probs.clamp_min(torch.finfo(torch.float32).tiny).log(), labels, names)["balanced"]


def plain_report(folder: Path) -> None:
    """Members and softmax-averaged ensembles of the plain loop's runs, as for the kit's below."""
    groups_ = plain_members(folder)
    if not groups_:
        raise SystemExit(f"no plain_loop.py logits (*-subset-*-seed-*.pt) under {folder}")
    for (method, subset), members in groups_.items():
        labels = members[0]["labels"]
        if any(not torch.equal(m["labels"], labels) for m in members):
            raise SystemExit(f"plain {method} subset {subset}: members scored on different test folds")
        names = members[0]["class_names"]
        probs = [m["logits"].float().softmax(1) for m in members]
        singles = [_balanced_of_probs(p, labels, names) for p in probs]
        ens = {k: _balanced_of_probs(torch.stack(probs[:k]).mean(0), labels, names) for k in range(2, len(probs) + 1)}
        print_group(f"plain {method} subset {subset} (seeds {', '.join(str(m['seed']) for m in members)})", singles, ens)


def balanced(model: torch.nn.Module, run: Run, data) -> float:  # noqa: ANN001
    logits = predict_logits(model, data.test, run.context())
    return 100 * evaluate_logits(logits, data.test.labels, data.test.class_names)["balanced"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", default=str(REPO / "runs" / "ens" / "exp100"))
    ap.add_argument("--recipes", default="ce,logit_adjust")
    ap.add_argument("--tta", default="", help="test-time views for members and ensembles alike: flip, shift or flip,shift")
    ap.add_argument("--plain", type=Path, default=None, help="instead: the plain loop's saved logits (plain_loop.py --save-logits)")
    args = ap.parse_args()
    if args.plain is not None:
        plain_report(args.plain)
        return
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
            print_group(f"{recipe} subset {subset} ({', '.join(p.name for p in paths)}"
                        f"{', TTA ' + args.tta if args.tta else ''})", singles, ens)


if __name__ == "__main__":
    torch.set_num_threads(1)
    main()
