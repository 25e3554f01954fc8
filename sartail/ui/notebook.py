"""What the notebooks call, so that their cells stay one to three lines long.

Parameters: :func:`params` (see :mod:`sartail.ui.params`).

Runs. The notebooks share one run of ``three_stage`` in ``RUN_DIR/three_stage``: notebook 01
trains its stage 1, notebook 02 finds that checkpoint and trains stage 2, and so on. A
notebook opened on its own finds no checkpoint and trains the earlier stages itself (at the
quick settings of ``sartail demo``, :mod:`sartail.config.quick`), so every notebook also runs alone.

Data. ``DATA`` is a data spec: ``synthetic`` (the embedded SAR-like chips, no download),
``mstar:PATH``, ``mavoc:PATH`` or ``folder:PATH``; changing it is all it takes to move the
notebooks to real data.

Importing this module makes IPython show figures as PNG (:func:`sartail.report.figures.register_ipython`).
A notebook's :func:`params` also gives PyTorch one CPU thread (:func:`use_threads`;
``$SARTAIL_THREADS`` sets another number).
"""
from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..config import (
    QUICK_EPOCHS,
    RunConfig,
    config_differences,
    stage_settings,
)
from ..data import data_kind as _kind
from ..errors import ConfigError, SartailError
from ..eval.results import RunResults, StageMetrics
from ..launch.params import data_overrides, make_config, stage_overrides
from ..report import figures as plots
from ..report.comparison import Comparison
from ..report.frames import STAGE_NAMES, accuracy_table, class_table, pixel_table, stage_labels, tail_report
from ..run.run import Run
from ..run.rundir import RunDir
from ..run.sweep import Planned, sweep
from ..run.threads import THREADS_ENV, env_threads, set_threads
from ..train.callbacks import Callback
from ..train.events import EpochRecord, StageStart
from .params import Params, parse_value
from .params import params as _params

plots.register_ipython()

def use_threads(n: int | None = None) -> int:
    """Make PyTorch use ``n`` CPU threads (default ``$SARTAIL_THREADS``, else 1); return the number set.

    The notebooks train a small network on small batches: a second thread gains little, and on
    a machine where anything else runs, PyTorch's threads wait for each other (several times
    slower on a busy 2-core machine; BENCHMARKS.md, threads).
    """
    if n is None:
        n = env_threads() or 1
    return set_threads(n)


def params(namespace: dict[str, Any], *, environ: Mapping[str, str] | None = None, quiet: bool = False) -> Params:
    """A notebook's parameters (:func:`sartail.ui.params.params`); reading ``os.environ``, it also calls :func:`use_threads`."""
    if environ is None:
        use_threads()
    return _params(namespace, environ=environ, quiet=quiet)

#: The recipes notebook 04 compares with the paper's recipe (``three_stage``).
COMPARE_RECIPES = ("three_stage", "ce", "crt", "lws", "ldam_drw", "logit_adjust", "two_stage")
METHOD_LABELS = {"crt": "cRT", "lws": "LWS", "tau_norm": "tau-norm"}
def load_chips(P: Mapping[str, Any]) -> tuple[Any, Any]:
    """The training chips and the test chips (``None`` if there are none) of ``DATA``.

    Generated data (synthetic) is made at ``SCALE`` (MAVOC's class counts times ``SCALE``) with a
    balanced test set of ``TEST_PER_CLASS`` chips per class; real data is loaded (and cached),
    its test chips from ``TEST``.
    """
    from ..data import load

    kind, path = _kind(P.get("DATA", "synthetic"))
    defaults = {"scale": P.get("SCALE", 0.015), "test_per_class": P.get("TEST_PER_CLASS", 80), "seed": P.get("SEED", 0)}
    train, test = kind.pair(path, defaults, progress=False)
    if test is None and P.get("TEST"):
        test = load(P["TEST"], progress=False).relabel(train.class_names)
    return train, test


def balanced_pool(P: Mapping[str, Any], chips: Any = None) -> Any:
    """Chips to build long-tailed subsets from: ``POOL_PER_CLASS`` generated chips of every class
    (for a generating data kind), or the real training chips themselves."""
    pool = _kind(P.get("DATA", "synthetic"))[0].pool(int(P.get("POOL_PER_CLASS", 200)), P.get("SEED", 0) + 101)
    if pool is not None:
        return pool
    return chips if chips is not None else load_chips(P)[0]


def open_run(cfg: RunConfig, path: str | os.PathLike, *, quiet: bool = False) -> Any:
    """The run in ``path`` if it was made for the same data and model as ``cfg``, else a new one there.

    A run found keeps its own stage settings and checkpoints (the widgets change stages that
    have to change, retraining only those); a run made for other data, model or seed is
    replaced by a new one with ``cfg``.
    """
    path = Path(path)
    say = (lambda *a: None) if quiet else print
    if (path / "config.yaml").exists():
        try:
            saved = RunDir.open(path).config()
        except SartailError as exc:
            saved = None
            say(f"{path} holds a run that cannot be read ({exc}); starting a new one there")
        if saved is not None:
            diff = config_differences(saved, cfg)  # the budget floor's record (scale, note) is not compared
            if [s.name for s in saved.stages] != [s.name for s in cfg.stages]:
                diff.append("stages")
            if not diff:
                run = Run.resume(path, progress=False)
                say(f"Found the run in {path}: {describe(run)}")
                return run
            shown = ", ".join(diff[:4]) + (" ..." if len(diff) > 4 else "")
            say(f"The run in {path} was made with other settings ({shown}); starting a new one there.")
    run = Run.create(cfg, path, overwrite=True, progress=False)
    say(f"New run in {path}: {len(run.data.train):,} training, {len(run.data.val):,} validation and "
        f"{len(run.data.test):,} test chips" + (" (synthetic)" if run.data.train.synthetic else ""))
    return run


def describe(run: Any) -> str:
    """One line: which stages of a run are done (with their epochs) and which come next."""
    done = run.completed()
    parts = []
    for i, st in enumerate(run.cfg.stages):
        mark = "done" if i < done else "next" if i == done else "to do"
        extra = f", removes {list(st.remove)}" if st.remove else ""
        parts.append(f"{st.name} ({st.epochs} epochs{extra}: {mark})")
    return "; ".join(parts)


class EpochPrinter(Callback):
    """Prints one line per epoch (for training started from a cell, not a panel)."""

    def __init__(self) -> None:
        self.t0 = time.perf_counter()

    def on_stage_start(self, start: StageStart) -> None:
        self.t0 = time.perf_counter()
        print(f"training stage {start.stage.name}: {start.epochs} epochs on {start.chips:,} chips of "
              f"{len(start.classes)} classes", flush=True)

    def on_epoch_end(self, record: EpochRecord) -> None:
        val = record.val_balanced
        v = f", validation balanced accuracy {100 * val:.1f}%" if val is not None else ""
        print(f"  epoch {record.epoch}: loss {record.train_loss:.3f}{v} "
              f"({time.perf_counter() - self.t0:.0f} s)", flush=True)


def ensure_stage(run: Any, name: str, *, quiet: bool = False) -> Any:
    """Train the stages of ``run`` up to ``name`` that are not done yet (nothing if all are)."""
    names = [s.name for s in run.cfg.stages]
    idx = run.cfg.stage_index(name)
    if run.completed() > idx:
        if not quiet:
            print(f"stage {name} is done in {run.dir.path} (found its checkpoint)")
        return run
    todo = names[run.completed(): idx + 1]
    if not quiet:
        print(f"not found in {run.dir.path}: {', '.join(todo)}; training {'it' if len(todo) == 1 else 'them'} now")
    run.fit(until=name, callbacks=[] if quiet else [EpochPrinter()])
    return run


def restart_stage(run: Run, name: str) -> list[str]:
    """Forget stage ``name`` and every later stage of ``run``, to train them anew (see :meth:`StageState.restart <sartail.run.state.StageState.restart>`)."""
    return run.state.restart(name)


def apply_stage_changes(run: Run, name: str, changes: Mapping[str, Any]) -> str:
    """Make stage ``name`` of ``run`` follow ``changes`` (see :meth:`StageState.apply_stage_changes <sartail.run.state.StageState.apply_stage_changes>`)."""
    return run.state.apply_stage_changes(name, changes)


def evaluate_stage(run: Run, name: str) -> StageMetrics:
    """Test-set metrics of one finished stage of ``run`` (see :meth:`Run.score_stage`)."""
    return run.score_stage(name)


def stage_results(run: Run, stages: Sequence[str] | None = None) -> RunResults:
    """Test results of the finished (or named) stages of ``run``.

    For a run whose stages are all done this is ``run.test()`` (which also writes
    ``results.json`` and the predictions); otherwise the named (default: finished) stages
    are scored one by one.
    """
    names = [s.name for s in run.cfg.stages]
    done = names[: run.completed()]
    wanted = list(stages) if stages is not None else done
    if len(done) == len(names):
        return run.test().only(wanted)
    return RunResults(run.cfg.recipe, run.cfg.seed, run.data.summary(), {s: run.score_stage(s) for s in wanted})


def training_curves(run: Any, stages: Sequence[str] | None = None) -> Any:
    """Loss and validation curves of the (named) stages of ``run`` from its ``metrics.jsonl``."""
    recs = [r for r in run.dir.metrics() if "train_loss" in r and (stages is None or r.get("stage") in stages)]
    return plots.training_curves(recs, synthetic=bool(run.data.train.synthetic))


def confusion(results: RunResults, stage: str, *, head: int | None = 0) -> Any:
    """The normalised confusion matrix of one stage, class ``head``'s column framed."""
    m = results.stages[stage]
    return plots.confusion_figure(m.confusion, m.classes_seen, all_classes=results.class_names,
                                  highlight=head, synthetic=results.synthetic,
                                  title=f"{STAGE_NAMES.get(stage, stage)}: test-set confusion (%)")


def publish(fig: Any, name: str, P: Mapping[str, Any]) -> Any:
    """Save ``fig`` as PNG, SVG and PDF in ``P["FIGURES"]`` when that is set; return it for display."""
    folder = P.get("FIGURES")
    if folder:
        plots.save_figure(fig, Path(folder) / name)
    return fig


def compare_recipes(recipes: Sequence[str], P: Mapping[str, Any], *, seeds: Sequence[int] | None = None,
                    root: str | os.PathLike | None = None, reuse: Sequence[str | os.PathLike] = (),
                    quiet: bool = False) -> Comparison:
    """Train (or find) every recipe for every seed on the same data and collect the test results.

    Runs live in ``root/<recipe>/seed-<seed>`` (default ``RUN_DIR/compare``); a finished run
    with the same config is read back, not retrained, and stages identical to those of a run
    already done (or of ``reuse``, e.g. the notebooks' ``three_stage`` run) are copied, not
    retrained. The recipes of one seed share their chips.
    """
    recipes = list(dict.fromkeys(recipes))
    if not recipes:
        raise ConfigError("choose at least one recipe to compare")
    seeds = list(seeds if seeds is not None else P.get("SEEDS", [0]))
    if not seeds:
        raise ConfigError("give at least one seed")
    root = Path(root) if root is not None else Path(P.get("RUN_DIR", "runs")) / "compare"
    say = None if quiet else (lambda *a: print(*a, flush=True))
    plan = [Planned(recipe, make_config(recipe, {**P, "SEED": seed}), root / recipe / f"seed-{seed}")
            for seed in seeds for recipe in recipes]
    t_all = time.perf_counter()
    done = sweep(plan, overwrite=True, keep_finished=True, reuse=reuse, progress=False, say=say, control=True)
    if say:
        say(f"{len(recipes)} recipes x {len(seeds)} seed(s) in {time.perf_counter() - t_all:.0f} s")
    return Comparison(done.results, plan[-1].cfg.shots)


class StageYaml(str):
    """A stage's resolved config as YAML text; a notebook shows it as a YAML block."""

    def _repr_markdown_(self) -> str:
        return f"```yaml\n{self}```"


def stage_yaml(run: Run, name: str, changes: Mapping[str, Any] | None = None) -> StageYaml:
    """The resolved :class:`~sartail.config.StageConfig` of stage ``name`` of ``run`` as YAML: a stage is data.

    ``changes`` (e.g. a :class:`~sartail.ui.widgets.StagePanel`'s ``changes()``) are applied
    first, so the YAML is the stage that **Run** will train, not the one the run's config had.
    """
    import yaml

    cfg = run.state.changed_config(name, changes) if changes else run.cfg
    i = cfg.stage_index(name)
    return StageYaml(yaml.safe_dump({"stages": [cfg.to_dict()["stages"][i]]}, sort_keys=False))


#: Where notebook 02's picker leaves removed sets for notebook 06's sweep (in ``RUN_DIR``).
SWEEP_CHOICES = "removal_choices.json"


def add_to_sweep(removed: Sequence[int], run_dir: str | os.PathLike = "runs") -> dict[str, list[int]]:
    """Add a removed set (e.g. ``picker.removed``) to the sets notebook 06 sweeps; return all added so far."""
    import json

    path = Path(run_dir) / SWEEP_CHOICES
    chosen = sweep_choices(run_dir)
    classes = sorted(int(c) for c in removed)
    chosen["{" + ", ".join(map(str, classes)) + "}"] = classes
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(chosen))
    return chosen


def sweep_choices(run_dir: str | os.PathLike = "runs") -> dict[str, list[int]]:
    """The removed sets added with :func:`add_to_sweep` in ``run_dir`` (none if there are none)."""
    import json

    path = Path(run_dir) / SWEEP_CHOICES
    try:
        data = json.loads(path.read_text()) if path.exists() else {}
    except ValueError as exc:
        raise ConfigError(f"{path}: not a JSON file of removed sets ({exc}); delete it") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of label to class ids; delete it")
    return {str(k): [int(c) for c in v] for k, v in data.items()}


def sweep_button(picker: Any, run_dir: str | os.PathLike = "runs") -> Any:
    """A button "add to sweep" that sends the picker's current choice to notebook 06's removal sweep."""
    import ipywidgets as W

    button = W.Button(description="add to sweep", icon="plus", tooltip="notebook 06 sweeps this removed set too")
    button.add_class("sartail-add-to-sweep")
    note = W.HTML(layout=W.Layout(margin="0 0 0 8px"))
    note.add_class("sartail-sweep-sets")

    def add(_: Any) -> None:
        chosen = add_to_sweep(picker.removed, run_dir)
        note.value = "sets for the sweep: " + ", ".join(chosen)

    button.on_click(add)
    return W.HBox([button, note])


def removal_sweep(P: Mapping[str, Any], *, seeds: Sequence[int] | None = None, shares: Sequence[float] = (0.2,),
                  tops: Sequence[int] = (2,), quiet: bool = False) -> Any:
    """Notebook 06: ``three_stage`` over the removed sets (none, {0}, ``shares``, ``tops`` and those added from notebook 02).

    Runs live in ``RUN_DIR/removal/<set>/seed-<seed>``; stages the notebooks' ``three_stage``
    run already trained identically are copied from it.
    """
    from ..run.removal import sweep_removal

    root = Path(P.get("RUN_DIR", "runs"))
    seeds = list(seeds if seeds is not None else P.get("SEEDS", [0, 1]))
    say = None if quiet else (lambda *a: print(*a, flush=True))
    t0 = time.perf_counter()
    res = sweep_removal(make_config("three_stage", P), seeds, root / "removal", shares=shares,
                        tops=tops, extra=sweep_choices(root), reuse=[root / "three_stage"], say=say)
    if say:
        say(f"{len(res.sets)} removed sets x {len(seeds)} seed(s) in {time.perf_counter() - t0:.0f} s")
    return res


def removal_table(result: Any) -> Any:
    """The removal sweep's numbers as a table (a DataFrame, one row per removed set)."""
    import pandas as pd

    return pd.DataFrame(plots.removal_table(result)).set_index("removed")


__all__ = [
    "COMPARE_RECIPES",
    "METHOD_LABELS",
    "QUICK_EPOCHS",
    "STAGE_NAMES",
    "THREADS_ENV",
    "Comparison",
    "EpochPrinter",
    "Params",
    "StageYaml",
    "accuracy_table",
    "add_to_sweep",
    "apply_stage_changes",
    "balanced_pool",
    "class_table",
    "compare_recipes",
    "confusion",
    "data_overrides",
    "describe",
    "ensure_stage",
    "evaluate_stage",
    "load_chips",
    "make_config",
    "open_run",
    "params",
    "parse_value",
    "pixel_table",
    "publish",
    "removal_sweep",
    "removal_table",
    "restart_stage",
    "stage_labels",
    "stage_overrides",
    "stage_results",
    "stage_settings",
    "stage_yaml",
    "sweep_button",
    "use_threads",
    "sweep_choices",
    "tail_report",
    "training_curves",
]
