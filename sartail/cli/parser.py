"""The argument parser of ``sartail``: one function per command."""
from __future__ import annotations

import argparse
from collections.abc import Callable

from ..config.schema import SPLITS, BudgetConfig
from ..launch.demo import DEMO_SCALE
from . import commands as C
from . import options as O

TB_HELP = ("write TensorBoard logs into RUN_DIR/tensorboard (needs the tensorboard package; "
           "view with `tensorboard --logdir runs`); also the config key tensorboard: true|false|auto")
DESCRIPTION = "The sartail command line: demo, run, sweep-removal, eval, predict, compare, recipes, show, data, figures."
PROFILES = ["exp", "step", "mavoc", "counts"]
Sub = Callable[..., argparse.ArgumentParser]


def common(sp: argparse.ArgumentParser) -> None:
    """``--quiet`` and ``--threads``: the options of every command that computes."""
    sp.add_argument("--quiet", action="store_true", help="no progress bars")
    sp.add_argument("--threads", type=O.positive_int, metavar="N",
                    help="PyTorch CPU threads (default $SARTAIL_THREADS, else PyTorch's own: one per core); "
                         "the digits of a run depend on it")


def data_options(sp: argparse.ArgumentParser, *, subset_seed: bool = True) -> None:
    """Where the chips come from and the long-tailed subset (``--data``, ``--test``, ``--profile``, ``--ratio``,
    ``--unlabelled``)."""
    sp.add_argument("--data", help="training chips: synthetic[:scale=..], folder:PATH, mavoc:PATH, mstar:PATH")
    sp.add_argument("--test", help="labelled test chips (default: a stratified fold of --data, or the synthetic test set)")
    sp.add_argument("--profile", choices=PROFILES, help="build a long-tailed subset of --data")
    sp.add_argument("--ratio", type=O.positive_float, help="imbalance ratio of the long-tail profile")
    sp.add_argument("--unlabelled", metavar="KIND:PATH",
                    help="unlabelled chips that pre-training stages (kind: pretrain) see beside the training chips: "
                         "folder:PATH, mavoc_test:PATH, a labelled kind whose labels are dropped, or 'protocol' (the chips the "
                         "long-tailed subset left out, outside the test and validation folds); never the test set")
    if subset_seed:
        sp.add_argument("--subset-seed", dest="subset_seed", type=O.seed,
                        help="seed of the long-tailed subset (default: the run seed)")


def overrides(sp: argparse.ArgumentParser, *, scale_help: str = "multiply every stage's epochs by K") -> None:
    """``--set KEY=VALUE`` and ``--epoch-scale K``."""
    sp.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="override any config value, e.g. --set stages.rough.epochs=5 --set 'stages.*.epochs=2'")
    sp.add_argument("--epoch-scale", type=O.positive_float, default=1.0, metavar="K", help=scale_help)


def add_demo(sub: Sub) -> None:
    d = sub("demo", help="three stages + ce baseline on the embedded synthetic data (about 1 min on 2 cores)")
    d.add_argument("--out", default="runs/demo", help="output folder (default runs/demo)")
    d.add_argument("--device", default="auto", help="cpu, cuda or auto (default)")
    d.add_argument("--seed", type=O.seed, default=0)
    d.add_argument("--scale", type=O.positive_float, default=DEMO_SCALE,
                   help=f"synthetic chips as a fraction of UNICORN's 293,772 (default {DEMO_SCALE}: about "
                        f"{round(DEMO_SCALE * 293772, -2):,.0f} training chips)")
    d.add_argument("--formats", type=O.formats, default="png",
                   help="figure formats, comma-separated from png, svg, pdf (default png; svg and pdf take ~5 s more)")
    d.add_argument("--overwrite", action="store_true", help="replace an earlier demo in --out")
    d.add_argument("--resume", action="store_true", help="go on with an interrupted demo in --out")
    d.add_argument("--tensorboard", action="store_true", help=TB_HELP)
    common(d)
    d.set_defaults(func=C.cmd_demo)


def add_run(sub: Sub) -> None:
    r = sub("run", help="train recipe(s) on data", description=C.cmd_run.__doc__)
    r.add_argument("recipe", nargs="?", help="recipe name(s), comma-separated (see `sartail recipes`), or a YAML file")
    data_options(r)
    overrides(r, scale_help="multiply every stage's shipped epochs by K (recipes keep their proportions); the budget "
                            f"floor (budget.min_samples, default {BudgetConfig.min_samples} presentations; 0 disables) "
                            "then lengthens small-data runs")
    r.add_argument("--no-control", action="store_true",
                   help="with several recipes, leave out the equal-budget control ce@equal (ce for the longest recipe's body budget)")
    r.add_argument("--seeds", type=O.seeds, help="comma-separated seeds; reports mean and std per metric")
    r.add_argument("--out", default="runs/latest", help="run folder (several runs: a folder of run folders)")
    r.add_argument("--device", help="cpu, cuda or auto")
    r.add_argument("--overwrite", action="store_true", help="replace an existing run folder")
    r.add_argument("--resume", metavar="RUN_DIR", help="go on with an interrupted run")
    r.add_argument("--from", dest="from_run", metavar="RUN_DIR", help="rerun a run's saved config (into --out)")
    r.add_argument("--reuse", action="append", metavar="RUN_DIR",
                   help="copy stages that RUN_DIR trained with identical settings instead of training them again")
    r.add_argument("--no-figures", action="store_true", help="skip writing figures")
    r.add_argument("--tensorboard", action="store_true", help=TB_HELP)
    common(r)
    r.set_defaults(func=C.cmd_run)


def add_sweep_removal(sub: Sub) -> None:
    sw = sub("sweep-removal", help="three_stage with several removed sets in stage 2, over seeds",
             description=C.cmd_sweep_removal.__doc__)
    sw.add_argument("recipe", nargs="?", default="three_stage", help="a recipe with a residual stage (default three_stage)")
    data_options(sw, subset_seed=False)
    overrides(sw)
    sw.add_argument("--seeds", type=O.seeds, default="0,1,2", help="comma-separated seeds (default 0,1,2)")
    sw.add_argument("--shares", type=O.shares, default="0.2",
                    help="remove the classes above each share of the training chips, e.g. 0.2,0.1 (default 0.2)")
    sw.add_argument("--top", type=O.counts, default="2,3", help="remove the k largest classes, for each k (default 2,3)")
    sw.add_argument("--remove", type=O.class_ids, action="append", metavar="IDS",
                    help="one more removed set, e.g. --remove 0,3")
    sw.add_argument("--reuse", action="append", metavar="RUN_DIR", help="copy identically trained stages of these runs")
    sw.add_argument("--out", default="runs/removal", help="folder of the runs (<set>/seed-<seed>)")
    sw.add_argument("--device", help="cpu, cuda or auto")
    common(sw)
    sw.set_defaults(func=C.cmd_sweep_removal)


def add_scoring(sub: Sub) -> None:
    """``eval`` and ``predict``: finished runs (or an ensemble of them) on other chips."""

    def ensemble_args(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("run_dirs", nargs="+", metavar="RUN_DIR",
                        help="finished run(s); several (e.g. seeds) average their softmax, and must share classes")
        sp.add_argument("--tta", metavar="VIEWS",
                        help="test-time augmentation, softmax averaged over views: flip, shift or flip,shift")

    e = sub("eval", help="score a finished run (or an ensemble of runs) on labelled chips")
    ensemble_args(e)
    e.add_argument("--data", required=True, help="labelled chips, KIND:PATH")
    e.add_argument("--out", help="write the metrics to this JSON file")
    common(e)
    e.set_defaults(func=C.cmd_eval)

    pr = sub("predict", help="predict chips; CSV image_id,class_id (MAVOC format)")
    ensemble_args(pr)
    pr.add_argument("--data", required=True, help="chips to predict, e.g. mavoc_test:PATH")
    pr.add_argument("--out", required=True, help="CSV file to write")
    common(pr)
    pr.set_defaults(func=C.cmd_predict)


def add_inspection(sub: Sub) -> None:
    """``compare``, ``recipes``, ``show`` and ``data``: look at runs, recipes and chips."""
    c = sub("compare", help="side-by-side table of finished runs")
    c.add_argument("run_dirs", nargs="+")
    c.add_argument("--csv", help="also write the table as CSV")
    c.set_defaults(func=C.cmd_compare)

    sub("recipes", help="list the recipes").set_defaults(func=C.cmd_recipes)

    sh = sub("show", help="print a recipe's resolved config")
    sh.add_argument("recipe")
    overrides(sh)
    sh.set_defaults(func=C.cmd_show)

    dt = sub("data", help="class table of a chip set (and a histogram figure); "
             "`data compare A B`: realism report of two chip sets; `data leakage TRAIN [TEST]`: "
             "test chips with a near-duplicate in training")
    dt.add_argument("spec", nargs="?", default="synthetic",
                    help="KIND:PATH (default: the synthetic set), or `compare` followed by two specs, or `leakage` "
                         "followed by one or two")
    dt.add_argument("more", nargs="*", help=argparse.SUPPRESS)
    dt.add_argument("--out", help="compare: write realism.json, realism.txt and figures to this folder")
    dt.add_argument("--no-cnn", action="store_true", help="compare: skip the CNN discriminator")
    dt.add_argument("--split", choices=SPLITS, help="leakage of one spec: its "
                    "folds' split (default: the data kind's, as `sartail run` uses)")
    dt.add_argument("--figure", help="write the class histogram (leakage: the leakage figure) to this path (PNG, SVG, PDF)")
    common(dt)
    dt.set_defaults(func=C.cmd_data)


def add_figures(sub: Sub) -> None:
    """``figures``: paper figures from finished runs."""
    fg = sub("figures", help="paper figures from finished runs: recipes side by side, mean ± std over seeds")
    fg.add_argument("runs", nargs="+", metavar="RUN", help="finished run folders, or folders holding them")
    fg.add_argument("--kind", help="comma-separated: per-class, confusion, comparison, curves, reliability (default: all)")
    fg.add_argument("--formats", help="comma-separated: pdf, svg, png (default: all)")
    fg.add_argument("--width", default="double", help="single (3.5 in, one column) or double (7.2 in; default)")
    fg.add_argument("--out", required=True, help="folder for the files, named KIND.FORMAT")
    fg.set_defaults(func=C.cmd_figures)


def build_parser() -> argparse.ArgumentParser:
    """The ``sartail`` parser with every command."""
    p = O.Parser(prog="sartail", description=DESCRIPTION)
    p.add_argument("--version", action="version", version=f"sartail {__import__('sartail').__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in (add_demo, add_run, add_sweep_removal, add_scoring, add_inspection, add_figures):
        add(sub.add_parser)
    return p
