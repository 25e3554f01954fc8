"""The removal-set sweep: ``three_stage`` with several sets of classes removed in stage 2, over seeds.

Stage 2 of the paper's recipe (``three_stage``) removes class 0; which classes to remove is its one free choice. The
sweep trains the recipe for several *removed sets* -- none, ``{0}``, the classes above a
share of the training chips, the ``k`` largest classes -- and for several seeds, through the
one sweep of :mod:`sartail.run.sweep`. Runs of one seed train on the same chips, and stage 1
(rough), which no removed set changes, is trained once per seed and copied into the others
(stage reuse). ``sartail sweep-removal`` and notebook 06 call :func:`sweep_removal`.
"""
from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import RunConfig, stage_role
from ..config.quick import REMOVES_ROLE
from ..data.splits import prepare_data
from ..errors import ConfigError
from ..eval.results import RunResults
from ..eval.summary import mean_ci
from .sweep import Planned, data_key, sweep

#: The metrics the removal sweep reports per removed set.
SWEEP_METRICS = ("balanced", "many_shot", "medium_shot", "few_shot")


def removal_sets(train_counts: Sequence[int], *, shares: Sequence[float] = (0.2,), tops: Sequence[int] = (2, 3),
                 none: bool = True, zero: bool = True,
                 extra: Mapping[str, Sequence[int]] | None = None) -> dict[str, tuple[int, ...]]:
    """Removed sets by label, from the training chips per class; equal sets are merged into one label.

    ``none`` (nothing removed), ``{0}`` (the paper's choice), ``>20%`` for each share (the
    classes holding more than that share of the training chips), ``top k`` for each ``k``
    (the ``k`` classes with most chips, ties by class id) and ``extra`` (label -> class ids,
    e.g. a picker's choice). A set that leaves fewer than two classes is refused.

    >>> removal_sets([700, 200, 60, 40], shares=(0.5,), tops=(1, 2))
    {'none': (), '{0} = >50% = top 1': (0,), 'top 2': (0, 1)}
    """
    n = len(train_counts)
    total = max(sum(int(c) for c in train_counts), 1)
    by_size = sorted(range(n), key=lambda c: (-int(train_counts[c]), c))
    wanted: list[tuple[str, tuple[int, ...]]] = []
    if none:
        wanted.append(("none", ()))
    if zero:
        wanted.append(("{0}", (0,)))
    for s in shares:
        if not 0 < s < 1:
            raise ConfigError(f"a share of the training chips must lie in (0, 1), got {s}")
        wanted.append((f">{100 * s:g}%", tuple(c for c in range(n) if int(train_counts[c]) / total > s)))
    for k in tops:
        if not 0 < int(k) < n:
            raise ConfigError(f"top k removes the k largest of {n} classes: k must be 1 to {n - 1}, got {k}")
        wanted.append((f"top {int(k)}", tuple(sorted(by_size[: int(k)]))))
    for label, classes in (extra or {}).items():
        bad = [c for c in classes if not 0 <= int(c) < n]
        if bad:
            raise ConfigError(f"removed set {label!r}: no class {bad} among the {n} classes (ids 0 to {n - 1})")
        wanted.append((label, tuple(sorted({int(c) for c in classes}))))
    out: dict[tuple[int, ...], list[str]] = {}
    for label, classes in wanted:
        if n - len(classes) < 2:
            raise ConfigError(f"removed set {label!r} = {list(classes)} leaves fewer than two of {n} classes")
        if label not in out.setdefault(classes, []):
            out[classes].append(label)
    return {" = ".join(labels): classes for classes, labels in out.items()}


def removing_stage(cfg: RunConfig) -> str:
    """The name of the stage whose removed classes the sweep sets (the ``residual`` role)."""
    for i, st in enumerate(cfg.stages):
        if stage_role(st, i) == REMOVES_ROLE:
            return st.name
    raise ConfigError(f"recipe {cfg.recipe!r} has no stage that removes classes (a {REMOVES_ROLE!r} stage)")


def _slug(label: str) -> str:
    first = label.split(" = ")[0]
    return first if first == "none" else "remove-" + (re.sub(r"[^0-9A-Za-z]+", "-", first).strip("-") or "set")


def removal_plan(cfg: RunConfig, sets: Mapping[str, Sequence[int]], seeds: Sequence[int],
                 root: str | os.PathLike) -> list[Planned]:
    """One run per seed and removed set, seed by seed (so each seed's stage 1 is trained once), in ``root/<set>/seed-<seed>``."""
    stage = removing_stage(cfg)
    if len(set(seeds)) != len(list(seeds)) or not seeds:
        raise ConfigError(f"give one or more distinct seeds, got {list(seeds)}")
    slugs = [_slug(lab) for lab in sets]
    if len(set(slugs)) != len(slugs):
        raise ConfigError(f"removed-set labels {list(sets)} give the same folder names {slugs}; rename one")
    return [Planned(label, dataclasses.replace(cfg, seed=int(seed)).with_stage(stage, remove=[int(c) for c in classes]),
                    Path(root) / slug / f"seed-{seed}")
            for seed in seeds for (label, classes), slug in zip(sets.items(), slugs)]


@dataclass(frozen=True)
class RemovalSweep:
    """The test results per removed set (its label -> results of each seed) and the classes of each set."""

    sets: dict[str, tuple[int, ...]]
    results: dict[str, list[RunResults]]
    class_names: tuple[str, ...]
    synthetic: bool
    level: float = 0.95

    def rows(self, metrics: Sequence[str] = SWEEP_METRICS) -> list[dict[str, Any]]:
        """Per removed set: its classes, seeds and, per metric, mean and the t-interval over seeds (None for one seed)."""
        out = []
        for label, classes in self.sets.items():
            runs = self.results.get(label, [])
            row: dict[str, Any] = {"removed": label, "classes": [self.class_names[c] for c in classes],
                                   "seeds": [r.seed for r in runs]}
            for m in metrics:
                mean, lo, hi, _ = mean_ci([getattr(r.final, m) for r in runs], self.level)
                row[m] = {"mean": mean, "lo": lo, "hi": hi}
            out.append(row)
        return out


def sweep_removal(cfg: RunConfig, seeds: Sequence[int], root: str | os.PathLike, *,
                  shares: Sequence[float] = (0.2,), tops: Sequence[int] = (2, 3),
                  extra: Mapping[str, Sequence[int]] | None = None, sets: Mapping[str, Sequence[int]] | None = None,
                  reuse: Sequence[str | os.PathLike] = (), keep_finished: bool = True, progress: bool = False,
                  say: Callable[[str], None] | None = None, level: float = 0.95) -> RemovalSweep:
    """Train (or find) ``cfg``'s recipe for every removed set and seed; collect the test results.

    The sets come from :func:`removal_sets` on the first seed's training chips (the long-tail
    profiles give every seed the same class counts), unless ``sets`` names them. Finished runs
    with the same config are read back; stages identical to those of an earlier run (of the
    sweep or of ``reuse``) are copied, so each seed trains stage 1 once.
    """
    first = dataclasses.replace(cfg, seed=int(seeds[0])) if seeds else cfg
    data = prepare_data(first, progress=progress)
    counts = [int(c) for c in data.train.class_counts().tolist()]
    chosen = {k: tuple(int(c) for c in v) for k, v in sets.items()} if sets is not None else \
        removal_sets(counts, shares=shares, tops=tops, extra=extra)
    plan = removal_plan(cfg, chosen, seeds, root)
    done = sweep(plan, overwrite=True, keep_finished=keep_finished, reuse=reuse, progress=progress, say=say,
                 datasets={data_key(first): data})
    return RemovalSweep(chosen, done.results, tuple(data.train.class_names), bool(data.train.synthetic), level)
