"""The commands of ``sartail``: each reads its parsed options and says what it did."""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..report.tables import fmt, stage_table, summary_table, table


def _print(msg: str = "") -> None:
    print(msg, flush=True)


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The config overrides of the data options (:func:`~sartail.launch.params.data_overrides`) and ``--set``."""
    from ..config import parse_override
    from ..launch.params import data_overrides, params_from_args

    P = {k: v for k, v in params_from_args(args).items() if k in ("DATA", "TEST", "PROFILE", "RATIO", "SUBSET_SEED", "DEVICE")}
    return {**data_overrides(P), **dict(parse_override(o) for o in args.set)}


def cmd_demo(args: argparse.Namespace) -> int:
    """The three stages and the ce baseline on the embedded synthetic data, with figures."""
    from ..launch.demo import run_demo

    return run_demo(args.out, formats=args.formats, overwrite=args.overwrite, resume=args.resume,
                    progress=not args.quiet, say=_print, device=args.device, seed=args.seed, scale=args.scale,
                    tensorboard=args.tensorboard)


def _resume(args: argparse.Namespace) -> int:
    """``sartail run --resume RUN_DIR``: go on with an interrupted run."""
    import dataclasses

    from ..launch.hooks import RunHooks
    from ..run.run import Run

    if args.epoch_scale != 1:
        raise ConfigError("--resume goes on with the run's saved config; --epoch-scale cannot change it")
    run = Run.resume(args.resume, progress=not args.quiet)
    if args.tensorboard:
        run.cfg = dataclasses.replace(run.cfg, tensorboard=True)
    hooks = RunHooks([run.cfg], figures=not args.no_figures)
    hooks.start(run)
    results = run.fit_and_test()
    hooks.done(run, results)
    _print(stage_table(results))
    return 0


def _recipes(args: argparse.Namespace) -> list[Any]:
    """The recipes ``sartail run`` trains: names, or the saved config of ``--from RUN_DIR`` (as a dict)."""
    from ..run.rundir import RunDir

    if args.from_run:  # rerun a saved config (recipe name kept), with any new overrides
        base = RunDir.open(args.from_run).config().to_dict()
        if args.recipe and args.recipe != base["recipe"]:
            raise ConfigError(f"--from {args.from_run} reruns recipe {base['recipe']!r}; leave RECIPE out or match it")
        return [base]
    if args.recipe:
        return [r.strip() for r in args.recipe.split(",") if r.strip()]
    raise ConfigError("name a RECIPE (see `sartail recipes`), or use --resume DIR / --from DIR")


def cmd_run(args: argparse.Namespace) -> int:
    """Train one or more recipes, for one or more seeds; print a summary table."""
    from ..config import load_scaled_config
    from ..launch.hooks import RunHooks
    from ..run.sweep import Planned, sweep

    if args.resume:
        return _resume(args)
    recipes = _recipes(args)
    seeds = args.seeds or []
    overrides = _overrides(args)
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

    def table_of_one(run: Any, results: Any) -> None:
        if not many and run.dist.is_main:
            _print(stage_table(results))

    hooks = RunHooks([p.cfg for p in plan], figures=not args.no_figures, after=table_of_one)
    control = len(recipes) > 1 and not args.no_control  # a comparison: add ce@equal
    done = sweep(plan, overwrite=args.overwrite, reuse=args.reuse or [], progress=not args.quiet, on_start=hooks.start,
                 on_done=hooks.done, control=control)
    if many:
        _print(summary_table(done.summary()))
        done.write_summary(out / "summary.json")
        _print(f"\nsummary written to {out / 'summary.json'}")
    return 0


def cmd_sweep_removal(args: argparse.Namespace) -> int:
    """Train three_stage with several removed sets in stage 2, over seeds; write a summary and a figure."""
    import json

    from ..config import load_scaled_config
    from ..report.figures import removal_figure, removal_table, save_figure
    from ..run.removal import sweep_removal

    cfg = load_scaled_config(args.recipe, _overrides(args), args.epoch_scale)
    extra = {"{" + ",".join(map(str, ids)) + "}": ids for ids in args.remove or []}
    out = Path(args.out)
    res = sweep_removal(cfg, args.seeds, out, shares=args.shares, tops=args.top, extra=extra, progress=not args.quiet,
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
    from ..atomic import write_json
    from ..data import data_kind
    from ..eval.score import score
    from ..run.inference import load_ensemble

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
    from ..run.inference import predict_csv

    path, n = predict_csv(args.run_dirs, args.data, args.out, tta=args.tta, progress=not args.quiet)
    _print(f"wrote {n} predictions to {path}")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from ..report.tables import compare_runs
    from ..run.rundir import RunDir

    text = compare_runs([(d, RunDir.open(d).results()) for d in args.run_dirs], csv_path=args.csv)
    _print(text)
    return 0


def cmd_recipes(args: argparse.Namespace) -> int:
    from ..config import recipe_dict, recipe_names

    rows = []
    for name in recipe_names():
        d = recipe_dict(name)
        stages = " -> ".join(f"{s['name']}({s.get('epochs', 10)})" for s in d["stages"])
        rows.append([name, stages, d.get("description", "")])
    _print(table(rows, ["recipe", "stages (epochs)", "description"]))
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    import yaml

    from ..config import load_scaled_config

    cfg = load_scaled_config(args.recipe, args.set, args.epoch_scale)
    _print(yaml.safe_dump(cfg.to_dict(), sort_keys=False))
    return 0


def cmd_data_compare(args: argparse.Namespace) -> int:
    """``sartail data compare SPEC_A SPEC_B [--out DIR]``: the realism report of two chip sets."""
    from ..data.realism import format_report
    from ..report.realism_report import compare

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
    from ..data import load

    if args.spec == "compare":
        return cmd_data_compare(args)
    if args.spec == "leakage":
        from ..report.leakage_report import leakage_report

        _print(leakage_report(args.more, split=args.split, figure=args.figure, progress=not args.quiet))
        return 0
    if args.more:
        raise ConfigError(f"unexpected arguments {args.more}; `sartail data` takes one KIND:PATH "
                          "(or `sartail data compare SPEC_A SPEC_B`)")
    from ..data.longtail import imbalance_ratio
    from ..report.figures import class_histogram, save_figure

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


def cmd_figures(args: argparse.Namespace) -> int:
    """Paper figures from finished runs (see :mod:`sartail.report.paper`)."""
    from ..report.paper import FORMATS, KINDS, paper_figures

    for path in paper_figures(args.runs, args.out, kinds=args.kind or KINDS, formats=args.formats or FORMATS,
                              width=args.width):
        _print(str(path))
    return 0
