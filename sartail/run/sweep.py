"""The one sweep of recipes x seeds: shared chips, stage reuse, finished runs kept, a summary.

``sartail run`` (several recipes or seeds), ``sartail demo`` and notebook 04 all go through
:func:`sweep`. The caller says which configs go where (:class:`Planned`); the sweep trains
them in that order, lets the runs of one data config and seed share their chips, copies
stages that an earlier run of the sweep (or of ``reuse``) trained identically, and collects
the test results per recipe.
"""
from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..atomic import write_json
from ..config import RunConfig, config_differences
from ..data.splits import Splits, prepare_data
from ..errors import SartailError
from ..eval.results import RunResults
from ..eval.summary import summarize_runs
from .budget import (
    CONTROL_NAME,
    CONTROL_RECIPE,
    body_presentations,
    equal_budget_control,
    resolve_budget,
    stage_lengths,
)
from .run import Run
from .rundir import CONFIG, RunDir


@dataclass(frozen=True)
class Planned:
    """One run of a sweep: its recipe name (the summary's row), config and folder."""

    name: str
    cfg: RunConfig
    path: Path


@dataclass
class SweepResult:
    """Test results per recipe name, in the order of the plan, and the folders of the runs."""

    results: dict[str, list[RunResults]] = field(default_factory=dict)
    paths: list[Path] = field(default_factory=list)

    def summary(self) -> list[dict[str, Any]]:
        """Mean and std over seeds of the final test metrics per recipe (see :func:`~sartail.eval.summary.summarize_runs`)."""
        return summarize_runs(self.results)

    def write_summary(self, path: str | os.PathLike) -> Path:
        write_json(path, self.summary())
        return Path(path)


def data_key(cfg: RunConfig) -> str:
    """Runs with equal keys train on the very same chips (same data config and seed)."""
    return json.dumps([cfg.to_dict()["data"], cfg.seed], sort_keys=True)


def finished_results(path: Path, cfg: RunConfig) -> RunResults | None:
    """The results of a finished run in ``path`` made with exactly ``cfg`` (descriptions aside), else ``None``."""
    try:
        rd = RunDir.open(path)
        if config_differences(rd.config(), cfg, stages=True):
            return None
        return rd.results()
    except SartailError:
        return None


def control_path(path: Path) -> Path:
    """Where the equal-budget control of a run in ``path`` goes: ``ROOT/ce@equal/seed-N`` beside ``ROOT/RECIPE/seed-N``."""
    return path.parent.parent / CONTROL_NAME / path.name if path.name.startswith("seed-") else path.parent / CONTROL_NAME


def resolved_plan(plan: Iterable[Planned], datasets: dict[str, Splits], *, control: bool = False,
                  progress: bool = True) -> list[Planned]:
    """The plan with every config's budget floor resolved on its data, plus the equal-budget controls.

    With ``control``, each data config and seed with a recipe other than ``ce`` gets a run
    ``ce@equal`` (folder: :func:`control_path`): ``ce`` for as
    many body presentations as the longest recipe of that seed gives its body (see
    :func:`~sartail.run.budget.equal_budget_control`). Chips are prepared once per data key.
    """
    out: list[Planned] = []
    groups: dict[str, list[Planned]] = {}
    for item in plan:
        key = data_key(item.cfg)
        if key not in datasets:
            datasets[key] = prepare_data(item.cfg, progress=progress)
        resolved = Planned(item.name, resolve_budget(item.cfg, datasets[key]), item.path)
        out.append(resolved)
        groups.setdefault(key, []).append(resolved)
    if control:
        for key, items in groups.items():
            if all(i.cfg.recipe == CONTROL_RECIPE for i in items) or any(i.name == CONTROL_NAME for i in items):
                continue
            data = datasets[key]
            target = max(body_presentations(i.cfg, stage_lengths(i.cfg, data)) for i in items)
            ce = [i.cfg for i in items if i.cfg.recipe == CONTROL_RECIPE]
            cfg = equal_budget_control(ce[0] if ce else items[0].cfg, target, data)
            out.append(Planned(CONTROL_NAME, cfg, control_path(items[0].path)))
    return out


def sweep(plan: Iterable[Planned], *, overwrite: bool = False, resume: bool = False, keep_finished: bool = False,
          reuse: Sequence[str | os.PathLike] = (), progress: bool = True, control: bool = False,
          on_start: Callable[[Run], None] | None = None, on_done: Callable[[Run, RunResults], None] | None = None,
          say: Callable[[str], None] | None = None, datasets: Mapping[str, Splits] | None = None) -> SweepResult:
    """Train (or find) every planned run and collect its test results.

    Args:
        overwrite: replace a run folder that exists (else it is refused).
        resume: go on with a run whose folder holds a config (an interrupted sweep).
        keep_finished: read back a finished run made with the same config instead of training it.
        control: add the equal-budget ``ce`` control of every seed (see :func:`resolved_plan`).
        reuse: more run folders whose identically trained stages are copied, not retrained.
        on_start, on_done: called with each run before it trains, and with it and its results after.
        say: where one line per run goes (which run, found or its balanced accuracy and time).
        datasets: chips the caller prepared already, by :func:`data_key` (else each is prepared once here).
    """
    out = SweepResult()
    done: list[Path] = [Path(p) for p in reuse]
    datasets = dict(datasets or {})
    for item in resolved_plan(plan, datasets, control=control, progress=progress):
        t0 = time.perf_counter()
        seed = item.cfg.seed
        results = finished_results(item.path, item.cfg) if keep_finished else None
        if results is not None:
            if say:
                say(f"{item.name:>13} seed {seed}: found in {item.path}")
        else:
            key = data_key(item.cfg)
            kw: dict[str, Any] = {"reuse": [d for d in done if d != item.path], "progress": progress,
                                  "data": datasets.get(key)}
            if resume and (item.path / CONFIG).exists():
                run = Run.resume(item.path, **kw)
            else:
                run = Run.create(item.cfg, item.path, overwrite=overwrite, **kw)
            datasets[key] = run.data
            if on_start:
                on_start(run)
            results = run.fit_and_test()
            if on_done:
                on_done(run, results)
            if say:
                say(f"{item.name:>13} seed {seed}: balanced accuracy {100 * results.final.balanced:.1f}% "
                    f"({time.perf_counter() - t0:.0f} s)")
        out.results.setdefault(item.name, []).append(results)
        out.paths.append(item.path)
        done.append(item.path)
    return out
