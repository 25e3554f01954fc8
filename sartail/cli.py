"""The ``sartail`` command line: demo, run, sweep-removal, eval, predict, compare, recipes, show, data.

Run ``sartail COMMAND --help`` for each command's options. Errors of the kit (bad data,
unknown keys, an existing run directory, ...) print one clear line and exit with status 2;
Ctrl-C stops training at the next step, keeps a checkpoint and says how to resume (status 130).
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .config.schema import BudgetConfig
from .errors import ConfigError, SartailError, StopRequested
from .report.tables import fmt, stage_table, summary_table, table


# ------------------------------------------------------------------------------ helpers
def _parse_seeds(text: str | None) -> list[int]:
    if not text:
        return []
    try:
        seeds = [int(s) for s in text.replace(" ", "").split(",") if s]
    except ValueError:
        raise ConfigError(f"--seeds must be a comma-separated list of integers, got {text!r}") from None
    if len(set(seeds)) != len(seeds):
        raise ConfigError(f"--seeds repeats a seed: {text!r}")
    return seeds


def _data_overrides(args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if getattr(args, "data", None):
        out["data.train"] = args.data
    for name in ("test", "profile", "ratio", "subset_seed", "device"):
        value = getattr(args, name, None)
        if value is not None:
            out["device" if name == "device" else f"data.{name}"] = value
    return out


def _use_threads(n: int | None) -> None:
    """``--threads N``, else ``$SARTAIL_THREADS``, else PyTorch's default."""
    from .run.threads import env_threads, set_threads

    n = n if n is not None else env_threads()
    if n is not None:
        set_threads(n)


def _print(msg: str = "") -> None:
    print(msg, flush=True)


class _TensorBoard:
    """The ``on_start``/``on_done`` hooks that give each run of a sweep its TensorBoard logs (if asked for)."""

    def __init__(self, settings: Sequence[bool | str]) -> None:
        self.logs: dict[int, Any] = {}
        if any(t is True for t in settings):
            from .train.tensorboard import require_tensorboard

            require_tensorboard()  # before anything trains

    def start(self, run: Any) -> None:
        if run.cfg.tensorboard and run.dist.is_main:
            from .report.tensorboard import RunLogs

            logs = RunLogs.attach(run)
            if logs is not None:
                self.logs[id(run)] = logs

    def done(self, run: Any, results: Any) -> None:
        logs = self.logs.pop(id(run), None)
        if logs is not None:
            logs.finish(results)


# ------------------------------------------------------------------------------ commands
def _figure_formats(text: str) -> tuple[str, ...]:
    """``"png,svg"`` -> ``("png", "svg")``; an unknown format is refused before anything trains."""
    from .report.figures.style import FORMATS

    formats = tuple(f.strip().lower() for f in text.split(",") if f.strip())
    if not formats or any(f not in FORMATS for f in formats):
        raise ConfigError(f"--formats {text!r}: use one or more of {','.join(FORMATS)}")
    return formats


def cmd_demo(args: argparse.Namespace) -> int:
    """The three stages and the ce baseline on the embedded synthetic data, with figures."""
    from .config import QUICK_WIDTH, load_config, quick_overrides, recipe_dict
    from .report.figures import per_class_accuracy, save_figure, write_run_figures
    from .run.sweep import Planned, sweep

    out = Path(args.out)
    formats = _figure_formats(args.formats)
    t0 = time.perf_counter()
    _print("sartail demo: the three-stage strategy and a plain cross-entropy baseline")
    _print("on the embedded SYNTHETIC SAR-like chips (MAVOC class structure; not real data).\n")
    plan = [Planned(recipe, load_config(recipe, {"model.width": QUICK_WIDTH, **quick_overrides(recipe_dict(recipe)["stages"]),
                                                 "device": args.device, "seed": args.seed, "data.scale": args.scale}),
                    out / recipe)
            for recipe in ("three_stage", "ce")]
    if args.tensorboard:
        plan = [Planned(p.name, dataclasses.replace(p.cfg, tensorboard=True), p.path) for p in plan]
    tb = _TensorBoard([p.cfg.tensorboard for p in plan])

    def started(run: Any) -> None:
        tb.start(run)
        if run.cfg.recipe == "three_stage":
            s = run.data.summary()
            _print("training chips per class: " + ", ".join(f"{i}:{c}" for i, c in enumerate(s["train_counts"])))
            _print(f"validation chips: {sum(s['val_counts'])}, balanced test chips: {sum(s['test_counts'])}\n")

    def finished(run: Any, res: Any) -> None:
        if run.cfg.recipe == "three_stage":  # the baselines are in the comparison figure below
            write_run_figures(res, run.dir.metrics(), run.dir.figures, formats)
        tb.done(run, res)

    done = sweep(plan, overwrite=args.overwrite, resume=args.resume, progress=not args.quiet, on_start=started,
                 on_done=finished, control=True)
    res, res_ce, res_eq = done.results["three_stage"][0], done.results["ce"][0], done.results["ce@equal"][0]
    _print("Test accuracy (%) by stage; columns 0-9 are the classes (0 sedan ... 9 flatbed w/ trailer):")
    _print(stage_table(res, stages={**{f"three_stage/{k}": v for k, v in res.stages.items()},
                                    "ce (baseline)": res_ce.final, "ce@equal (control)": res_eq.final}))
    _print(f"ce@equal: {res_eq.budget}")
    fig = per_class_accuracy({"ce": res_ce.final.per_class, "three_stage": res.final.per_class}, res.class_names,
                             title="ce vs three_stage: per-class test accuracy", synthetic=True,
                             counts=res.data["train_counts"])
    figs = save_figure(fig, out / "figures" / "ce_vs_three_stage", formats)
    _print(f"\nfigures: {out / 'three_stage' / 'figures'}, {figs[0].parent}")
    _print(f"runs:    {out / 'three_stage'}, {out / 'ce'}, {out / 'ce@equal'}")
    _print(f"demo finished in {time.perf_counter() - t0:.0f} s")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """Train one or more recipes, for one or more seeds; print a summary table."""
    from .config import load_scaled_config, parse_override
    from .run.run import Run
    from .run.rundir import RunDir
    from .run.sweep import Planned, sweep

    def figures(run: Run, results: Any) -> None:
        if run.dist.is_main and not args.no_figures:
            from .report.figures import write_run_figures  # matplotlib and seaborn: seconds to import

            write_run_figures(results, run.dir.metrics(), run.dir.figures)

    if args.resume:
        if args.epoch_scale != 1:
            raise ConfigError("--resume goes on with the run's saved config; --epoch-scale cannot change it")
        run = Run.resume(args.resume, progress=not args.quiet)
        if args.tensorboard:
            run.cfg = dataclasses.replace(run.cfg, tensorboard=True)
        tb = _TensorBoard([run.cfg.tensorboard])
        tb.start(run)
        results = run.fit_and_test()
        figures(run, results)
        tb.done(run, results)
        _print(stage_table(results))
        return 0
    if args.from_run:  # rerun a saved config (recipe name kept), with any new overrides
        base = RunDir.open(args.from_run).config().to_dict()
        if args.recipe and args.recipe != base["recipe"]:
            raise ConfigError(f"--from {args.from_run} reruns recipe {base['recipe']!r}; leave RECIPE out or match it")
        recipes: list[Any] = [base]
    elif args.recipe:
        recipes = [r.strip() for r in args.recipe.split(",") if r.strip()]
    else:
        raise ConfigError("name a RECIPE (see `sartail recipes`), or use --resume DIR / --from DIR")
    seeds = _parse_seeds(args.seeds)
    overrides = {**_data_overrides(args), **dict(parse_override(o) for o in args.set)}
    if args.tensorboard:
        overrides["tensorboard"] = True
    out = Path(args.out)
    many = len(recipes) > 1 or len(seeds) > 1
    plan = []
    plan_seeds: list[int | None] = [*seeds] or [None]
    for recipe in recipes:
        name = Path(recipe if isinstance(recipe, str) else recipe["recipe"]).stem
        for seed in plan_seeds:
            cfg = load_scaled_config(recipe, {**overrides, **({"seed": seed} if seed is not None else {})},
                                     args.epoch_scale)
            plan.append(Planned(name, cfg, out / name / f"seed-{cfg.seed}" if many else out))

    tb = _TensorBoard([p.cfg.tensorboard for p in plan])

    def finished(run: Run, results: Any) -> None:
        figures(run, results)
        tb.done(run, results)
        if not many and run.dist.is_main:
            _print(stage_table(results))

    control = len(recipes) > 1 and not getattr(args, "no_control", False)  # a comparison: add ce@equal
    done = sweep(plan, overwrite=args.overwrite, reuse=args.reuse or [], progress=not args.quiet, on_start=tb.start,
                 on_done=finished, control=control)
    if many:
        _print(summary_table(done.summary()))
        done.write_summary(out / "summary.json")
        _print(f"\nsummary written to {out / 'summary.json'}")
    return 0


def cmd_sweep_removal(args: argparse.Namespace) -> int:
    """Train three_stage with several removed sets in stage 2, over seeds; write a summary and a figure."""
    import json

    from .config import load_scaled_config, parse_override
    from .report.figures import removal_figure, removal_table, save_figure
    from .run.removal import sweep_removal

    seeds = _parse_seeds(args.seeds) or [0, 1, 2]
    overrides = {**_data_overrides(args), **dict(parse_override(o) for o in args.set)}
    cfg = load_scaled_config(args.recipe, overrides, args.epoch_scale)
    extra = {f"{{{s}}}": [int(c) for c in s.split(",") if c.strip()] for s in args.remove or []}
    out = Path(args.out)
    res = sweep_removal(cfg, seeds, out, shares=[float(v) for v in args.shares.split(",") if v],
                        tops=[int(v) for v in args.top.split(",") if v], extra=extra, progress=not args.quiet,
                        say=_print, reuse=args.reuse or [])
    rows = res.rows()
    ci = [r["balanced CI"] or "-" for r in removal_table(res)]
    _print(table([[r["removed"], ", ".join(r["classes"]) or "-", len(r["seeds"]),
                   *(fmt(r[m]["mean"]) for m in ("balanced", "many_shot", "medium_shot", "few_shot")), c]
                  for r, c in zip(rows, ci)],
                 ["removed", "classes", "seeds", "balanced", "many", "medium", "few", "balanced 95% CI"]))
    (out / "removal_summary.json").write_text(json.dumps(res.rows(), indent=2))
    figs = save_figure(removal_figure(res), out / "removal_sweep")
    _print(f"\nsummary: {out / 'removal_summary.json'}; figure: {figs[0]}")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    """Score a finished run's final model (or an ensemble of runs, with TTA) on other labelled chips."""
    from .atomic import write_json
    from .data import data_kind
    from .eval.score import score
    from .run.predict import load_ensemble

    model, runs = load_ensemble(args.run_dirs, args.tta, progress=not args.quiet)
    run = runs[0]  # runs agree on classes and chip size; shot groups follow the first run's counts
    names = run.data.train.class_names
    kind, path = data_kind(args.data)
    chips = kind.test_chips(path, run.cfg.data.size)
    if not chips.labelled:
        raise ConfigError(f"{args.data}: these chips have no labels; use `sartail predict` for unlabelled chips")
    chips = chips.relabel(names)
    m, _ = score(model, chips, run.context(), train_counts=run.data.train.class_counts().tolist(),
                   shots=run.cfg.shots)
    res = {"run": str(args.run_dirs[0]), "runs": [str(d) for d in args.run_dirs], "tta": args.tta or "",
           "data": args.data, "n": len(chips), **m.to_json()}
    _print(table([[args.data, fmt(res["top1"]), fmt(res["balanced"]), fmt(res["macro_f1"], pct=False),
                   fmt(res["ece"], pct=False)]], ["data", "top-1", "balanced", "macro-F1", "ECE"]))
    _print(table([[n, fmt(a)] for n, a in res["per_class"].items()], ["class", "accuracy"]))
    if args.out:
        write_json(args.out, res)
        _print(f"metrics written to {args.out}")
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    """Predict classes of (unlabelled) chips; write image_id,class_id as the MAVOC server took it."""
    from .run.predict import predict_csv

    path, n = predict_csv(args.run_dirs, args.data, args.out, tta=args.tta, progress=not args.quiet)
    _print(f"wrote {n} predictions to {path}")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from .report.tables import compare_runs
    from .run.rundir import RunDir

    text = compare_runs([(d, RunDir.open(d).results()) for d in args.run_dirs], csv_path=args.csv)
    _print(text)
    return 0


def cmd_recipes(args: argparse.Namespace) -> int:
    from .config import recipe_dict, recipe_names

    rows = []
    for name in recipe_names():
        d = recipe_dict(name)
        stages = " -> ".join(f"{s['name']}({s.get('epochs', 10)})" for s in d["stages"])
        rows.append([name, stages, d.get("description", "")])
    _print(table(rows, ["recipe", "stages (epochs)", "description"]))
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    import yaml

    from .config import load_scaled_config

    cfg = load_scaled_config(args.recipe, args.set, args.epoch_scale)
    _print(yaml.safe_dump(cfg.to_dict(), sort_keys=False))
    return 0


def cmd_data_compare(args: argparse.Namespace) -> int:
    """``sartail data compare SPEC_A SPEC_B [--out DIR]``: the realism report of two chip sets."""
    from .data.realism import format_report
    from .report.realism import compare

    if len(args.more) != 2:
        raise ConfigError("usage: sartail data compare SPEC_A SPEC_B [--out DIR] "
                          "(e.g. synthetic mavoc_test:/data/mavoc_test)")
    report = compare(args.more[0], args.more[1], args.out, cnn=not args.no_cnn, progress=not args.quiet)
    _print(format_report(report))
    if args.out:
        _print(f"report and figures: {args.out}")
    return 0


def cmd_data(args: argparse.Namespace) -> int:
    """A data tour: the class table of a chip set and its histogram figure."""
    from .data import load

    if args.spec == "compare":
        return cmd_data_compare(args)
    if args.spec == "leakage":
        from .report.leakage import leakage_report

        _print(leakage_report(args.more, split=args.split, figure=args.figure, progress=not args.quiet))
        return 0
    if args.more:
        raise ConfigError(f"unexpected arguments {args.more}; `sartail data` takes one KIND:PATH "
                          "(or `sartail data compare SPEC_A SPEC_B`)")
    from .data.longtail import imbalance_ratio
    from .report.figures import class_histogram, save_figure

    chips = load(args.spec, progress=not args.quiet)
    rows = [[r["class"], r["name"], f"{r['count']:,}", f"{100 * r['share']:.2f}"] for r in chips.table()]
    if chips.synthetic:
        _print("SYNTHETIC chips (the embedded default; not real SAR):")
    _print(table(rows, ["id", "class", "chips", "%"]))
    counts = chips.class_counts().tolist()
    _print(f"{len(chips):,} chips of {chips.chip_size[0]}x{chips.chip_size[1]} px, imbalance ratio "
           f"{imbalance_ratio(counts):,.0f}")
    if args.figure:
        fig = class_histogram(counts, chips.class_names, synthetic=chips.synthetic)
        paths = save_figure(fig, args.figure)
        _print(f"figure: {', '.join(map(str, paths))}")
    return 0


# ------------------------------------------------------------------------------ parser
#: The demo's synthetic data, as a fraction of UNICORN (see ``sartail demo --scale``).
DEMO_SCALE = 0.01
TB_HELP = ("write TensorBoard logs into RUN_DIR/tensorboard (needs the tensorboard package; "
           "view with `tensorboard --logdir runs`); also the config key tensorboard: true|false|auto")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="sartail", description=__doc__.split("\n")[0])
    p.add_argument("--version", action="version", version=f"sartail {__import__('sartail').__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def common(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--quiet", action="store_true", help="no progress bars")
        sp.add_argument("--threads", type=int, metavar="N",
                        help="PyTorch CPU threads (default $SARTAIL_THREADS, else PyTorch's own: one per core); "
                             "the digits of a run depend on it")

    d = sub.add_parser("demo", help="three stages + ce baseline on the embedded synthetic data (about 1 min on 2 cores)")
    d.add_argument("--out", default="runs/demo", help="output folder (default runs/demo)")
    d.add_argument("--device", default="auto", help="cpu, cuda or auto (default)")
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--scale", type=float, default=DEMO_SCALE,
                   help=f"synthetic chips as a fraction of UNICORN's 293,772 (default {DEMO_SCALE}: about "
                        f"{round(DEMO_SCALE * 293772, -2):,.0f} training chips)")
    d.add_argument("--formats", default="png",
                   help="figure formats, comma-separated from png, svg, pdf (default png; svg and pdf take ~5 s more)")
    d.add_argument("--overwrite", action="store_true", help="replace an earlier demo in --out")
    d.add_argument("--resume", action="store_true", help="go on with an interrupted demo in --out")
    d.add_argument("--tensorboard", action="store_true", help=TB_HELP)
    common(d)
    d.set_defaults(func=cmd_demo)

    r = sub.add_parser("run", help="train recipe(s) on data", description=cmd_run.__doc__)
    r.add_argument("recipe", nargs="?", help="recipe name(s), comma-separated (see `sartail recipes`), or a YAML file")
    r.add_argument("--data", help="training chips: synthetic[:scale=..], folder:PATH, mavoc:PATH, mstar:PATH")
    r.add_argument("--test", help="labelled test chips (default: a stratified fold of --data, or the synthetic test set)")
    r.add_argument("--profile", choices=["exp", "step", "mavoc", "counts"], help="build a long-tailed subset of --data")
    r.add_argument("--ratio", type=float, help="imbalance ratio of the long-tail profile")
    r.add_argument("--subset-seed", dest="subset_seed", type=int, help="seed of the long-tailed subset (default: the run seed)")
    r.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override any config value, e.g. --set stages.rough.epochs=5 --set 'stages.*.epochs=2'")
    r.add_argument("--epoch-scale", type=float, default=1.0, metavar="K",
                   help="multiply every stage's shipped epochs by K (recipes keep their proportions); the budget "
                        f"floor (budget.min_samples, default {BudgetConfig.min_samples} presentations; 0 disables) then "
                        "lengthens small-data runs")
    r.add_argument("--no-control", action="store_true",
                   help="with several recipes, leave out the equal-budget control ce@equal (ce for the longest recipe's body budget)")
    r.add_argument("--seeds", help="comma-separated seeds; reports mean and std per metric")
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
    r.set_defaults(func=cmd_run)

    sw = sub.add_parser("sweep-removal", help="three_stage with several removed sets in stage 2, over seeds",
                        description=cmd_sweep_removal.__doc__)
    sw.add_argument("recipe", nargs="?", default="three_stage", help="a recipe with a residual stage (default three_stage)")
    sw.add_argument("--data", help="training chips (as for `sartail run`)")
    sw.add_argument("--test", help="labelled test chips")
    sw.add_argument("--profile", choices=["exp", "step", "mavoc", "counts"], help="build a long-tailed subset of --data")
    sw.add_argument("--ratio", type=float, help="imbalance ratio of the long-tail profile")
    sw.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config value")
    sw.add_argument("--epoch-scale", type=float, default=1.0, metavar="K", help="multiply every stage's epochs by K")
    sw.add_argument("--seeds", default="0,1,2", help="comma-separated seeds (default 0,1,2)")
    sw.add_argument("--shares", default="0.2", help="remove the classes above each share of the training chips")
    sw.add_argument("--top", default="2,3", help="remove the k largest classes, for each k")
    sw.add_argument("--remove", action="append", metavar="IDS", help="one more removed set, e.g. --remove 0,3")
    sw.add_argument("--reuse", action="append", metavar="RUN_DIR", help="copy identically trained stages of these runs")
    sw.add_argument("--out", default="runs/removal", help="folder of the runs (<set>/seed-<seed>)")
    sw.add_argument("--device", help="cpu, cuda or auto")
    common(sw)
    sw.set_defaults(func=cmd_sweep_removal)


    def ensemble_args(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("run_dirs", nargs="+", metavar="RUN_DIR",
                        help="finished run(s); several (e.g. seeds) average their softmax, and must share classes")
        sp.add_argument("--tta", metavar="VIEWS",
                        help="test-time augmentation, softmax averaged over views: flip, shift or flip,shift")

    e = sub.add_parser("eval", help="score a finished run (or an ensemble of runs) on labelled chips")
    ensemble_args(e)
    e.add_argument("--data", required=True, help="labelled chips, KIND:PATH")
    e.add_argument("--out", help="write the metrics to this JSON file")
    common(e)
    e.set_defaults(func=cmd_eval)

    pr = sub.add_parser("predict", help="predict chips; CSV image_id,class_id (MAVOC format)")
    ensemble_args(pr)
    pr.add_argument("--data", required=True, help="chips to predict, e.g. mavoc_test:PATH")
    pr.add_argument("--out", required=True, help="CSV file to write")
    common(pr)
    pr.set_defaults(func=cmd_predict)

    c = sub.add_parser("compare", help="side-by-side table of finished runs")
    c.add_argument("run_dirs", nargs="+")
    c.add_argument("--csv", help="also write the table as CSV")
    c.set_defaults(func=cmd_compare)

    rc = sub.add_parser("recipes", help="list the recipes")
    rc.set_defaults(func=cmd_recipes)

    sh = sub.add_parser("show", help="print a recipe's resolved config")
    sh.add_argument("recipe")
    sh.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    sh.add_argument("--epoch-scale", type=float, default=1.0, metavar="K", help="multiply every stage's epochs by K")
    sh.set_defaults(func=cmd_show)

    dt = sub.add_parser("data", help="class table of a chip set (and a histogram figure); "
                        "`data compare A B`: realism report of two chip sets; `data leakage TRAIN [TEST]`: "
                        "test chips with a near-duplicate in training")
    dt.add_argument("spec", nargs="?", default="synthetic",
                    help="KIND:PATH (default: the synthetic set), or `compare` followed by two specs, or `leakage` "
                         "followed by one or two")
    dt.add_argument("more", nargs="*", help=argparse.SUPPRESS)
    dt.add_argument("--out", help="compare: write realism.json, realism.txt and figures to this folder")
    dt.add_argument("--no-cnn", action="store_true", help="compare: skip the CNN discriminator")
    dt.add_argument("--split", choices=["random", "sector", "aspect", "grouped"], help="leakage of one spec: its folds' split "
                    "(default: the data kind's, as `sartail run` uses)")
    dt.add_argument("--figure", help="write the class histogram (leakage: the leakage figure) to this path (PNG, SVG, PDF)")
    common(dt)
    dt.set_defaults(func=cmd_data)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if hasattr(args, "threads"):  # the commands that compute
            _use_threads(args.threads)
        return int(args.func(args) or 0)
    except StopRequested as exc:
        print(f"\nstopped: {exc}", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    except SartailError as exc:
        print(f"sartail: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a full disk or a vanished folder outside the kit's own checks
        print(f"sartail: error: {exc}. Files written before are intact; a run can be resumed with "
              "`sartail run --resume RUN_DIR`.", file=sys.stderr)
        return 2
    finally:
        from . import distributed

        distributed.shutdown()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
