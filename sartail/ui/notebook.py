"""What the notebooks call, so that their cells stay one to three lines long.

Parameters. Each notebook has one cell tagged ``parameters`` of plain assignments
(``DATA = "synthetic"``, ``ROUGH_EPOCHS = 12``, ...). :func:`params` then lets the environment
override any of them: ``SARTAIL_NB_ROUGH_EPOCHS=1`` sets ``ROUGH_EPOCHS`` to ``1``, parsed to
the type of its default. The tests run every notebook with tiny settings this way; a
JupyterLab started with such variables passes them on to its kernels.

>>> ns = {"DATA": "synthetic", "ROUGH_EPOCHS": 12, "REMOVE": [0], "RATIO": None}
>>> P = params(ns, environ={"SARTAIL_NB_ROUGH_EPOCHS": "2", "SARTAIL_NB_REMOVE": "0,3"}, quiet=True)
>>> ns["ROUGH_EPOCHS"], P.REMOVE, P.overridden
(2, [0, 3], ('REMOVE', 'ROUGH_EPOCHS'))

Runs. The notebooks share one run of ``three_stage`` in ``RUN_DIR/three_stage``: notebook 01
trains its stage 1, notebook 02 finds that checkpoint and trains stage 2, and so on. A
notebook opened on its own finds no checkpoint and trains the earlier stages itself (at the
quick settings of ``sartail demo``), so every notebook also runs alone.

Data. ``DATA`` is a data spec: ``synthetic`` (the embedded SAR-like chips, no download),
``mstar:PATH``, ``mavoc:PATH`` or ``folder:PATH``; changing it is all it takes to move the
notebooks to real data.
"""
from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from .config import RunConfig, apply_overrides, config_from_dict, load_config, recipe_dict
from .errors import ConfigError, RunError, SartailError
from .stages import Callback

ENV_PREFIX = "SARTAIL_NB_"
_PLAIN = (str, int, float, bool, list, tuple, dict, type(None))
#: Epochs of the stages a notebook trains for itself (those of ``sartail demo``).
QUICK_EPOCHS = {"rough": 12, "residual": 8, "balanced": 4, "classifier": 6}
#: The recipes notebook 04 compares with the seed.
COMPARE_RECIPES = ("three_stage", "ce", "crt", "lws", "ldam_drw", "logit_adjust", "two_stage")
STAGE_TITLES = {"rough": "1 rough", "residual": "2 residual", "balanced": "3a balanced",
                "classifier": "3b classifier"}
STAGE_NAMES = {"rough": "Stage 1 (rough)", "residual": "Stage 2 (residual)", "balanced": "Stage 3a (balanced)",
               "classifier": "Stage 3b (classifier)"}


# ------------------------------------------------------------------------------ parameters
class Params(dict):
    """The parameters of a notebook (a dict with attribute access), and which came from the environment."""

    overridden: tuple[str, ...] = ()
    ignored: tuple[str, ...] = ()

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"no parameter {name!r}; parameters are {sorted(self)}") from None

    def _lines(self) -> list[tuple[str, str, bool]]:
        return [(k, repr(v), k in self.overridden) for k, v in self.items()]

    def __repr__(self) -> str:
        body = ", ".join(f"{k}={v}" + (" (env)" if env else "") for k, v, env in self._lines())
        return f"Params({body})"

    def _repr_html_(self) -> str:
        import html

        rows = "".join(
            f"<tr><td style='text-align:left'><code>{k}</code></td><td style='text-align:left'><code>{html.escape(v)}"
            f"</code></td><td style='text-align:left'>{'from $' + ENV_PREFIX + k if env else ''}</td></tr>"
            for k, v, env in self._lines())
        note = ""
        if self.ignored:
            note = ("<div style='color:#666'>ignored (not parameters of this notebook): "
                    + ", ".join(f"${ENV_PREFIX}{k}" for k in self.ignored) + "</div>")
        return f"<details><summary>Parameters ({len(self)})</summary><table>{rows}</table>{note}</details>"


def parse_value(text: str, default: Any, name: str = "value") -> Any:
    """Parse an environment string to the type of ``default`` (YAML for numbers, lists, booleans)."""
    where = f"${ENV_PREFIX}{name}={text!r}"
    if isinstance(default, str):
        return text
    try:
        value = yaml.safe_load(text) if text.strip() else None
    except yaml.YAMLError:
        value = text
    if default is None:
        return value
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
        if value in (0, 1):
            return bool(value)
        raise ConfigError(f"{where}: expected true or false")
    if isinstance(value, str) and isinstance(default, (int, float)):
        try:  # YAML 1.1 reads 1e-3 as a string
            value = float(value)
        except ValueError:
            pass
    if isinstance(default, int):
        if isinstance(value, (int, float)) and not isinstance(value, bool) and float(value).is_integer():
            return int(value)
        raise ConfigError(f"{where}: expected an integer")
    if isinstance(default, float):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise ConfigError(f"{where}: expected a number")
    if isinstance(default, (list, tuple)):
        if isinstance(value, str):  # "0,3" or "a, b"
            value = [yaml.safe_load(v) if v.strip() else None for v in value.split(",")]
        elif not isinstance(value, list):
            value = [value]
        return type(default)(value)
    if isinstance(default, dict):
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping, e.g. {{rough: 1}}")
        return value
    return value


def params(namespace: dict[str, Any], *, environ: Mapping[str, str] | None = None, quiet: bool = False) -> Params:
    """Apply ``SARTAIL_NB_<NAME>`` environment overrides to the UPPERCASE parameters in ``namespace``.

    ``namespace`` is the notebook's ``globals()``; its parameters are replaced in place and
    returned as a :class:`Params`. Environment variables naming no parameter of this notebook
    are listed as ignored (the tests set one environment for every notebook).
    """
    env = os.environ if environ is None else environ
    names = [k for k, v in namespace.items() if k.isupper() and not k.startswith("_") and isinstance(v, _PLAIN)]
    done = []
    for name in names:
        key = ENV_PREFIX + name
        if key in env:
            namespace[name] = parse_value(env[key], namespace[name], name)
            done.append(name)
    ignored = sorted(k[len(ENV_PREFIX):] for k in env if k.startswith(ENV_PREFIX) and k[len(ENV_PREFIX):] not in names)
    out = Params({k: namespace[k] for k in names})
    out.overridden = tuple(sorted(done))
    out.ignored = tuple(ignored)
    if done and not quiet:
        print("from the environment: " + ", ".join(f"{k}={namespace[k]!r}" for k in sorted(done)))
    return out


# ------------------------------------------------------------------------------ data
def data_kind(spec: str) -> str:
    """``synthetic``, ``mstar``, ``mavoc`` or ``folder`` for a data spec."""
    from .data import parse_spec

    return parse_spec(spec)[0]


def _profile(P: Mapping[str, Any]) -> tuple[str | None, float | None]:
    """The long-tail profile to apply: ``PROFILE='auto'`` makes balanced real sets (MSTAR, folders) long-tailed."""
    profile, ratio = P.get("PROFILE"), P.get("RATIO")
    if profile == "auto":
        profile = "exp" if data_kind(P.get("DATA", "synthetic")) in ("mstar", "folder") else None
    return profile, (None if profile is None else ratio)


def data_overrides(P: Mapping[str, Any]) -> dict[str, Any]:
    """Config overrides for the data and model parameters of a notebook."""
    out: dict[str, Any] = {"data.train": P.get("DATA", "synthetic")}
    if P.get("TEST"):
        out["data.test"] = P["TEST"]
    if data_kind(out["data.train"]) == "synthetic":
        for key, name in (("data.scale", "SCALE"), ("data.test_per_class", "TEST_PER_CLASS")):
            if P.get(name) is not None:
                out[key] = P[name]
    profile, ratio = _profile(P)
    if profile:
        out["data.profile"] = profile
        if ratio is not None:
            out["data.ratio"] = float(ratio)
    for key, name in (("seed", "SEED"), ("model.width", "WIDTH"), ("device", "DEVICE"), ("batch_size", "BATCH_SIZE"),
                      ("data.size", "SIZE")):
        if P.get(name) is not None:
            out[key] = P[name]
    return out


def stage_overrides(recipe: str, P: Mapping[str, Any]) -> dict[str, Any]:
    """Epochs, learning rates and samplers of a recipe's stages from ``<STAGE>_EPOCHS`` etc.

    A stage without its own parameter takes the one of its role: a recipe's first stage (all
    classes, the whole model) that of ``rough``, a head-only stage (LWS, cRT) that of
    ``classifier``. Missing epochs default to :data:`QUICK_EPOCHS`. A deferred re-weighting
    epoch (LDAM-DRW) keeps its place relative to the stage's length.
    """
    stages = recipe_dict(recipe)["stages"]
    out: dict[str, Any] = {}
    for i, st in enumerate(stages):
        name = st["name"]
        role = name
        if name not in QUICK_EPOCHS:
            role = "classifier" if st.get("train") in ("head", "scales") else "rough" if i == 0 else "balanced"
        if st.get("epochs", 10) == 0 and st.get("tau_grid"):
            continue  # tau-norm trains nothing
        epochs = P.get(f"{name.upper()}_EPOCHS", P.get(f"{role.upper()}_EPOCHS", QUICK_EPOCHS.get(role)))
        if epochs is not None:
            out[f"stages.{name}.epochs"] = int(epochs)
            drw = (st.get("loss") or {}).get("drw_epoch")
            if drw is not None:
                old = st.get("epochs", 10)
                out[f"stages.{name}.loss.drw_epoch"] = max(0, min(int(epochs) - 1, round(drw * int(epochs) / old)))
        for suffix, key in (("LR", "optimizer.lr"), ("SAMPLER", "sampler.name")):
            value = P.get(f"{name.upper()}_{suffix}")
            if value is not None:
                out[f"stages.{name}.{key}"] = value
        if name == "residual" and P.get("REMOVE") is not None:
            out["stages.residual.remove"] = list(P["REMOVE"])
    return out


def make_config(recipe: str, P: Mapping[str, Any], overrides: Mapping[str, Any] | None = None) -> RunConfig:
    """The config of ``recipe`` for the notebook parameters ``P`` (plus any ``overrides``)."""
    return load_config(recipe, {**data_overrides(P), **stage_overrides(recipe, P), **dict(overrides or {})})


def load_chips(P: Mapping[str, Any]) -> tuple[Any, Any]:
    """The training chips and the test chips (``None`` if there are none) of ``DATA``.

    Synthetic data is generated at ``SCALE`` (MAVOC's class counts times ``SCALE``) with a
    balanced test set of ``TEST_PER_CLASS`` chips per class; real data is loaded (and cached).
    """
    from .data import load, make_synthetic

    spec = P.get("DATA", "synthetic")
    if data_kind(spec) == "synthetic":
        from .data.synthetic import parse_synthetic_args

        opts = {"scale": P.get("SCALE", 0.015), "test_per_class": P.get("TEST_PER_CLASS", 80), "seed": P.get("SEED", 0),
                **parse_synthetic_args(spec.partition(":")[2])}
        return make_synthetic(**opts, progress=False)
    train = load(spec, progress=False)
    test = load(P["TEST"], progress=False).relabel(train.class_names) if P.get("TEST") else None
    return train, test


def balanced_pool(P: Mapping[str, Any], chips: Any = None) -> Any:
    """Chips to build long-tailed subsets from: ``POOL_PER_CLASS`` synthetic chips of every class,
    or the real training chips themselves."""
    if data_kind(P.get("DATA", "synthetic")) == "synthetic":
        from .data.synthetic import generate

        per = int(P.get("POOL_PER_CLASS", 200))
        return generate([per] * 10, size=56, seed=P.get("SEED", 0) + 101, prefix="pool", progress=False)
    return chips if chips is not None else load_chips(P)[0]


def class_table(chips: Any) -> Any:
    """The classes of a chip set with their counts and shares, as a table."""
    rows = [{"class": r["class"], "name": r["name"], "chips": r["count"], "share": f"{100 * r['share']:.2f}%"}
            for r in chips.table()]
    return _frame(rows, index="class")


def pixel_table(chips: Any) -> Any:
    """Per-class pixel statistics (mean, std, 1st / 99th percentile, share of zero pixels)."""
    from .plots import pixel_table as rows_of

    rows = rows_of(chips)
    for r in rows:
        for k in ("mean", "std", "p1", "p99"):
            if k in r:
                r[k] = round(r[k], 1)
        if "zero_share" in r:
            r["zero_share"] = f"{100 * r['zero_share']:.1f}%"
    return _frame(rows, index="class")


def _frame(rows: list[dict[str, Any]], index: str | None = None) -> Any:
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - pandas comes with seaborn
        return rows
    df = pd.DataFrame(rows)
    return df.set_index(index) if index and index in df else df


# ------------------------------------------------------------------------------ runs
def _flat(d: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(d, Mapping):
        out: dict[str, Any] = {}
        for k, v in d.items():
            out.update(_flat(v, f"{prefix}{k}."))
        return out
    return {prefix.rstrip("."): d}


def config_differences(a: RunConfig, b: RunConfig, *, stages: bool = False) -> list[str]:
    """Dotted keys where two configs differ (the stages only when ``stages``)."""
    da, db = a.to_dict(), b.to_dict()
    if not stages:
        for d in (da, db):
            d.pop("stages", None)
    da.pop("description", None)
    db.pop("description", None)
    fa, fb = _flat(da), _flat(db)
    return sorted(k for k in set(fa) | set(fb) if fa.get(k) != fb.get(k))


def open_run(cfg: RunConfig, path: str | os.PathLike, *, quiet: bool = False) -> Any:
    """The run in ``path`` if it was made for the same data and model as ``cfg``, else a new one there.

    A run found keeps its own stage settings and checkpoints (the widgets change stages that
    have to change, retraining only those); a run made for other data, model or seed is
    replaced by a new one with ``cfg``.
    """
    from .pipeline import Run
    from .runs import RunDir

    path = Path(path)
    say = (lambda *a: None) if quiet else print
    if (path / "config.yaml").exists():
        try:
            saved = RunDir.open(path).config()
        except SartailError as exc:
            saved = None
            say(f"{path} holds a run that cannot be read ({exc}); starting a new one there")
        if saved is not None:
            diff = config_differences(saved, cfg)
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

    def on_stage_start(self, stage: Any, info: dict[str, Any]) -> None:
        self.t0 = time.perf_counter()
        print(f"training stage {stage.name}: {stage.epochs} epochs on {info['chips']:,} chips of "
              f"{len(info['classes'])} classes", flush=True)

    def on_epoch_end(self, record: dict[str, Any]) -> None:
        val = record.get("val_balanced")
        v = f", validation balanced accuracy {100 * val:.1f}%" if val is not None else ""
        print(f"  epoch {record['epoch']}: loss {record['train_loss']:.3f}{v} "
              f"({time.perf_counter() - self.t0:.0f} s)", flush=True)


def ensure_stage(run: Any, name: str, *, quiet: bool = False) -> Any:
    """Train the stages of ``run`` up to ``name`` that are not done yet (nothing if all are)."""
    names = [s.name for s in run.cfg.stages]
    idx = names.index(run.cfg.stage(name).name)
    if run.completed() > idx:
        if not quiet:
            print(f"stage {name} is done in {run.dir.path} (found its checkpoint)")
        return run
    todo = names[run.completed(): idx + 1]
    if not quiet:
        print(f"not found in {run.dir.path}: {', '.join(todo)}; training {'it' if len(todo) == 1 else 'them'} now")
    run.fit(until=name, callbacks=[] if quiet else [EpochPrinter()])
    return run


def restart_stage(run: Any, name: str) -> list[str]:
    """Forget stage ``name`` and every later stage of ``run`` (checkpoints, metrics), to train them anew.

    Earlier stages are kept. Returns the names of the finished or started stages discarded.
    """
    names = [s.name for s in run.cfg.stages]
    idx = names.index(run.cfg.stage(name).name)
    done = run.completed()
    partial = _partial(run)
    lost = names[idx:done] + ([names[done]] if partial and done >= idx else [])
    if idx == 0:
        for i, st in enumerate(run.cfg.stages):
            run.dir.stage_checkpoint(i, st.name).unlink(missing_ok=True)
        from .runs import LAST

        (run.dir.checkpoints / LAST).unlink(missing_ok=True)
        (run.dir.path / "results.json").unlink(missing_ok=True)
        run.dir.truncate_metrics(0)
        run.model = None
        run.results = {}
    elif done >= idx:
        run.reset_to(names[idx - 1])
    return lost


def _partial(run: Any) -> bool:
    """Whether the stage after the finished ones has started (a mid-stage checkpoint exists)."""
    from .runs import LAST

    return run.completed() < len(run.cfg.stages) and (run.dir.checkpoints / LAST).exists()


def changed_config(run: Any, name: str, changes: Mapping[str, Any]) -> RunConfig:
    """``run``'s config with dotted ``changes`` applied to stage ``name`` (validated, not applied)."""
    return config_from_dict(apply_overrides(run.cfg.to_dict(), {f"stages.{name}.{k}": v for k, v in changes.items()}))


def stage_settings(cfg: RunConfig, name: str) -> dict[str, Any]:
    """A stage of ``cfg`` as a plain dict, without its description."""
    d = next(s for s in cfg.to_dict()["stages"] if s["name"] == name)
    d.pop("description", None)
    return d


def apply_stage_changes(run: Any, name: str, changes: Mapping[str, Any]) -> str:
    """Make stage ``name`` of ``run`` follow ``changes``; returns what has to happen.

    ``"trained"``: the stage is done with exactly these settings; ``"resume"``: it is part way
    through (or not started) with them; ``"changed"``: the settings changed, so the stage and
    the later ones were discarded and the stage reconfigured.
    """
    new = changed_config(run, name, changes)
    same = stage_settings(new, name) == stage_settings(run.cfg, name)
    idx = [s.name for s in run.cfg.stages].index(name)
    if same:
        return "trained" if run.completed() > idx else "resume"
    if run.completed() > idx or (run.completed() == idx and _partial(run)):
        restart_stage(run, name)
    run.update_stage(name, **dict(changes))
    return "changed"


# ------------------------------------------------------------------------------ results
def evaluate_stage(run: Any, name: str) -> dict[str, Any]:
    """Test-set metrics of one finished stage of ``run`` (as in ``results.json``), without finishing the run."""
    from .metrics import evaluate_logits
    from .pipeline import stage_view
    from .stages import predict_logits

    names = [s.name for s in run.cfg.stages]
    i = names.index(run.cfg.stage(name).name)
    path = run.dir.stage_checkpoint(i, name)
    if not path.exists():
        raise RunError(f"stage {name!r} has not finished in {run.dir.path}")
    stage = run.cfg.stages[i]
    model = run.load_model(path)
    test = stage_view(run.data.test, stage)
    counts = stage_view(run.data.train, stage).class_counts().tolist()
    logits = predict_logits(model, test, run.context())
    m = evaluate_logits(logits, test.labels, test.class_names, train_counts=counts, groups=run.cfg.shots)
    m["classes_seen"] = list(test.class_names)
    m["removed"] = [c for c in run.data.train.class_names if c not in test.class_names]
    return m


def stage_results(run: Any, stages: Sequence[str] | None = None) -> dict[str, Any]:
    """Test results of the finished stages of ``run`` in the shape of ``results.json``.

    For a run whose stages are all done this is ``run.test()`` (which also writes
    ``results.json`` and the predictions); otherwise the named (default: finished) stages
    are scored one by one.
    """
    names = [s.name for s in run.cfg.stages]
    done = names[: run.completed()]
    wanted = list(stages) if stages is not None else done
    if len(done) == len(names):
        res = run.test()
        res["stages"] = {s: res["stages"][s] for s in wanted}
        return res
    return {"recipe": run.cfg.recipe, "seed": run.cfg.seed, "data": run.data.summary(),
            "stages": {s: evaluate_stage(run, s) for s in wanted}}


def stage_labels(results: Mapping[str, Any]) -> dict[str, str]:
    """Legend labels of the three-stage stages: '1 rough', '2 residual', '3a balanced', '3b classifier'."""
    return {s: STAGE_TITLES.get(s, s) for s in results["stages"]}


def accuracy_table(results: Mapping[str, Any]) -> Any:
    """Top-1, balanced, many / medium / few-shot accuracy and ECE of every stage in ``results`` (%)."""
    rows = []
    for stage, m in results["stages"].items():
        row = {"stage": STAGE_TITLES.get(stage, stage), "classes": len(m["classes_seen"])}
        for k in ("top1", "balanced", "macro_f1", "many_shot", "medium_shot", "few_shot"):
            v = m.get(k)
            row[k.replace("_shot", "-shot").replace("top1", "top-1").replace("macro_f1", "macro-F1")] = \
                None if v is None else round(100 * v, 1)
        row["ECE"] = None if m.get("ece") is None else round(m["ece"], 3)
        rows.append(row)
    return _frame(rows, index="stage")


def tail_report(results: Mapping[str, Any], stage: str, head: int = 0) -> Any:
    """How much of each tail class a stage predicts as class ``head`` (Markdown).

    The tail is the few-shot group (fewer training chips than ``shots.few``), or the half of
    the classes with the fewest chips when that group is empty.
    """
    m = results["stages"][stage]
    names = results["data"]["classes"]
    counts = results["data"]["train_counts"]
    seen = m["classes_seen"]
    head_name = names[head]
    if head_name not in seen:
        return _markdown(f"Stage {stage} does not see class {head} ({head_name}).")
    cm = m["confusion"]
    col = seen.index(head_name)
    groups = m.get("shot_groups") or {}
    tail = [c for c in seen if groups.get(c) == "few"]
    if not tail:
        tail = sorted((c for c in seen if c != head_name), key=lambda c: counts[names.index(c)])[: max(1, len(seen) // 2)]
    lines = []
    sunk, total = 0, 0
    for c in tail:
        r = seen.index(c)
        n = sum(cm[r])
        if not n:
            continue
        sunk += cm[r][col]
        total += n
        acc = m["per_class"].get(c)
        top = max(range(len(seen)), key=lambda j: cm[r][j])
        lines.append(f"| {c} | {counts[names.index(c)]:,} | {100 * cm[r][col] / n:.0f}% | "
                     f"{'–' if acc is None else f'{100 * acc:.0f}%'} | {seen[top]} ({100 * cm[r][top] / n:.0f}%) |")
    share = 100 * sunk / total if total else math.nan
    text = (f"**{STAGE_NAMES.get(stage, stage)}** predicts class {head} (*{head_name}*) for **{share:.0f}%** of the "
            f"test chips of the {len(tail)} tail classes (those with the fewest training chips):\n\n"
            f"| tail class | training chips | predicted as {head_name} | accuracy | most often predicted as |\n"
            "|---|---:|---:|---:|---|\n" + "\n".join(lines))
    return _markdown(text)


def _markdown(text: str) -> Any:
    try:
        from IPython.display import Markdown

        return Markdown(text)
    except ImportError:  # pragma: no cover
        return text


def training_curves(run: Any, stages: Sequence[str] | None = None) -> Any:
    """Loss and validation curves of the (named) stages of ``run`` from its ``metrics.jsonl``."""
    from . import plots

    recs = [r for r in run.dir.metrics() if "train_loss" in r and (stages is None or r.get("stage") in stages)]
    return plots.training_curves(recs, synthetic=bool(run.data.train.synthetic))


def confusion(results: Mapping[str, Any], stage: str, *, head: int | None = 0) -> Any:
    """The normalised confusion matrix of one stage, class ``head``'s column framed."""
    from . import plots

    m = results["stages"][stage]
    return plots.confusion_matrix(m["confusion"], m["classes_seen"], all_classes=results["data"]["classes"],
                                  highlight=head, synthetic=bool(results["data"].get("synthetic")),
                                  title=f"{STAGE_NAMES.get(stage, stage)}: test-set confusion (%)")


def publish(fig: Any, name: str, P: Mapping[str, Any]) -> Any:
    """Save ``fig`` as PNG, SVG and PDF in ``P["FIGURES"]`` when that is set; return it for display."""
    folder = P.get("FIGURES")
    if folder:
        from .plots import save_figure

        save_figure(fig, Path(folder) / name)
    return fig


METHOD_LABELS = {"crt": "cRT", "lws": "LWS", "tau_norm": "tau-norm"}


# ------------------------------------------------------------------------------ comparing recipes
class Comparison:
    """The test results of several recipes over several seeds, with their table and figures."""

    def __init__(self, results: Mapping[str, list[dict[str, Any]]], shots: Any = None) -> None:
        self.results = {k: list(v) for k, v in results.items()}
        first = next(iter(self.results.values()))[0]
        self.class_names = first["data"]["classes"]
        self.synthetic = bool(first["data"].get("synthetic"))
        self.shots = shots
        self.train_counts = [float(sum(c) / len(c)) for c in zip(*(r["data"]["train_counts"] for rs in
                                                                       self.results.values() for r in rs))]

    def table(self) -> Any:
        """Mean +- std over seeds of the final test metrics per recipe (accuracies in %)."""
        from .compare import summarize_runs

        rows, _ = summarize_runs(self.results)
        out = []
        for row in rows:
            r: dict[str, Any] = {"recipe": row["recipe"], "seeds": row["n"]}
            for k, label in (("top1", "top-1"), ("balanced", "balanced"), ("macro_f1", "macro-F1"),
                             ("many_shot", "many-shot"), ("medium_shot", "medium-shot"), ("few_shot", "few-shot"),
                             ("ece", "ECE")):
                mean, std = row[k]["mean"], row[k]["std"]
                if mean is None:
                    r[label] = "–"
                elif k == "ece":
                    r[label] = f"{mean:.3f}" + (f" ± {std:.3f}" if row["n"] > 1 else "")
                else:
                    r[label] = f"{100 * mean:.1f}" + (f" ± {100 * std:.1f}" if row["n"] > 1 else "")
            out.append(r)
        return _frame(out, index="recipe")

    def per_class(self) -> dict[str, dict[str, list[float | None]]]:
        """``{recipe: {class: [accuracy of every seed]}}`` of the final stages."""
        return {k: {c: [r["final"]["per_class"].get(c) for r in rs] for c in self.class_names}
                for k, rs in self.results.items()}

    def plot_per_class(self, **kw: Any) -> Any:
        from . import plots
        from .metrics import ShotGroups

        groups = (self.shots or ShotGroups()).assign([round(c) for c in self.train_counts])
        return plots.accuracy_heatmap(self.per_class(), self.class_names, counts=[round(c) for c in self.train_counts],
                                      synthetic=self.synthetic, shot_groups=groups,
                                      title=kw.pop("title", "Per-class test accuracy (%), mean over seeds"), **kw)

    def plot_per_class_bars(self, recipes: Sequence[str] | None = None, **kw: Any) -> Any:
        """Per-class bars (mean +- std over seeds) of a few recipes: by default the seed, ``ce`` and ``two_stage``."""
        from . import plots

        pc = self.per_class()
        if recipes is None:
            recipes = [r for r in ("three_stage", "ce", "two_stage") if r in pc]
            if len(recipes) < 2:
                recipes = list(pc)[:3]
        pick = {k: pc[k] for k in recipes}
        return plots.per_class_accuracy(pick, self.class_names, counts=[round(c) for c in self.train_counts],
                                        synthetic=self.synthetic,
                                        title=kw.pop("title", "Per-class test accuracy (mean ± std over seeds)"), **kw)

    def plot_shots(self, **kw: Any) -> Any:
        from . import plots

        return plots.shot_accuracy({k: [r["final"] for r in rs] for k, rs in self.results.items()},
                                   groups=self.shots, synthetic=self.synthetic, **kw)

    def plot_reliability(self, **kw: Any) -> Any:
        from . import plots

        return plots.reliability_diagram({k: [r["final"] for r in rs] for k, rs in self.results.items()},
                                         synthetic=self.synthetic, **kw)


def compare_recipes(recipes: Sequence[str], P: Mapping[str, Any], *, seeds: Sequence[int] | None = None,
                    root: str | os.PathLike | None = None, reuse: Sequence[str | os.PathLike] = (),
                    quiet: bool = False) -> Comparison:
    """Train (or find) every recipe for every seed on the same data and collect the test results.

    Runs live in ``root/<recipe>/seed-<seed>`` (default ``RUN_DIR/compare``); a finished run
    with the same config is read back, not retrained, and stages identical to those of a run
    already done (or of ``reuse``, e.g. the notebooks' ``three_stage`` run) are copied, not
    retrained. The recipes of one seed share their chips.
    """
    from .pipeline import Run, prepare_data

    recipes = list(dict.fromkeys(recipes))
    if not recipes:
        raise ConfigError("choose at least one recipe to compare")
    seeds = list(seeds if seeds is not None else P.get("SEEDS", [0]))
    if not seeds:
        raise ConfigError("give at least one seed")
    root = Path(root) if root is not None else Path(P.get("RUN_DIR", "runs")) / "compare"
    say = (lambda *a: None) if quiet else (lambda *a: print(*a, flush=True))
    results: dict[str, list[dict[str, Any]]] = {r: [] for r in recipes}
    data_cache: dict[str, Any] = {}
    done_dirs: list[Path] = [Path(p) for p in reuse]
    shots = None
    t_all = time.perf_counter()
    for seed in seeds:
        for recipe in recipes:
            cfg = make_config(recipe, {**P, "SEED": seed})
            shots = cfg.shots
            path = root / recipe / f"seed-{seed}"
            t0 = time.perf_counter()
            res = _finished_results(path, cfg)
            if res is not None:
                say(f"{recipe:>13} seed {seed}: found in {path}")
            else:
                key = json.dumps([cfg.to_dict()["data"], seed], sort_keys=True)
                if key not in data_cache:
                    data_cache[key] = prepare_data(cfg, progress=False)
                run = Run.create(cfg, path, overwrite=True, progress=False, data=data_cache[key],
                                 reuse=[d for d in done_dirs if d != path])
                res = run.fit_and_test()
                say(f"{recipe:>13} seed {seed}: balanced accuracy {100 * res['final']['balanced']:.1f}% "
                    f"({time.perf_counter() - t0:.0f} s)")
            results[recipe].append(res)
            done_dirs.append(path)
    say(f"{len(recipes)} recipes x {len(seeds)} seed(s) in {time.perf_counter() - t_all:.0f} s")
    return Comparison(results, shots)


def _finished_results(path: Path, cfg: RunConfig) -> dict[str, Any] | None:
    from .runs import RunDir

    try:
        rd = RunDir.open(path)
        saved = rd.config()
        if config_differences(saved, cfg, stages=True):
            return None
        return rd.results()
    except SartailError:
        return None
