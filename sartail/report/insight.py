"""One-line views of what each stage of a run changes, for notebooks: each gives an :class:`Insight`.

An :class:`Insight` is a figure (:mod:`sartail.report.figures.model_views`) and the numbers behind
it (``.data``, with ``to_json()``); it shows itself as PNG in a notebook.

>>> view = feature_views(run, stages=["rough", "residual"], methods=("pca", "tsne"))   # doctest: +SKIP
>>> view.data.rows()                                     # scatter ratio and k-NN per stage  # doctest: +SKIP
>>> saliency_report(run, ["rough", "classifier"], n=4)                                 # doctest: +SKIP
>>> clutter_report(run, "classifier").data.summary()     # does my model look at the clutter?  # doctest: +SKIP
>>> error_gallery(run, "classifier")                     # the tail class's mistakes        # doctest: +SKIP
"""
from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from ..data.chipset import ChipSet
from ..errors import RunError
from ..eval import features as F
from ..eval import gallery as G
from ..eval import saliency as S
from ..models import Classifier
from ..run.run import Run
from .figures.model_views import clutter_figure, feature_figure, gallery_figure, saliency_figure
from .figures.style import FORMATS, figure_png, save_figure


# ------------------------------------------------------------------------------ one line per view
@dataclass(frozen=True)
class Insight:
    """A view: its figure and the numbers behind it (``data``). A notebook shows the figure."""

    figure: Figure
    data: Any

    def _repr_png_(self) -> bytes:
        return figure_png(self.figure, dpi=110)

    def save(self, path: str | os.PathLike, formats: Sequence[str] = FORMATS) -> list[Path]:
        """Save the figure as PNG, SVG and PDF (:func:`sartail.report.figures.save_figure`)."""
        return save_figure(self.figure, path, formats)


def _stage_list(run: Run, stages: str | Sequence[str] | None) -> list[str]:
    names = [s.name for s in run.cfg.stages]
    done = names[: run.completed()]
    if stages is None:
        if not done:
            raise RunError(f"no stage of the run in {run.dir.path} has finished yet")
        return done
    wanted = [stages] if isinstance(stages, str) else list(stages)
    for s in wanted:
        name = run.cfg.stage(s).name  # a ConfigError naming the valid stages for an unknown one
        if name not in done:
            raise RunError(f"stage {name!r} has not finished in {run.dir.path} (finished: {done or 'none'})")
    return [run.cfg.stage(s).name for s in wanted]


def stage_model(run: Run, stage: str) -> Classifier:
    """The model a finished stage of ``run`` left (loaded from its checkpoint, in eval mode)."""
    name = _stage_list(run, stage)[0]
    i = run.cfg.stage_index(name)
    model = run.load_model(run.dir.stage_checkpoint(i, name))
    return model.eval()


def _chip_set(run: Run, chips: str | ChipSet | Sequence[int]) -> ChipSet:
    if isinstance(chips, ChipSet):
        return chips
    if isinstance(chips, str):
        if chips not in ("test", "val", "train"):
            raise ValueError(f"chips must be 'test', 'val', 'train', a ChipSet or positions, got {chips!r}")
        return getattr(run.data, chips)
    return run.data.test.take(list(chips))


def _train_counts(run: Run) -> list[int]:
    return [int(c) for c in run.data.train.class_counts().tolist()]


def feature_views(run: Run, stages: Sequence[str] | None = None, *, chips: str | ChipSet = "test",
                  max_chips: int | None = 300, methods: Sequence[str] = ("pca", "tsne"), seed: int = 0, k: int = 5,
                  labels: Mapping[str, str] | None = None) -> Insight:
    """The body's features of the same chips after each stage: layouts and scores (:func:`feature_figure`).

    ``chips``: ``test`` (default), ``val``, ``train`` or a chip set; at most ``max_chips``
    of them, spread over the classes (:func:`sartail.eval.features.sample_chips`, ``seed``).
    Every chip is embedded by every stage, also those of classes a stage removed.
    """
    names = _stage_list(run, stages)
    sample = F.sample_chips(_chip_set(run, chips), max_chips, seed=seed)
    feats = {s: F.extract_features(stage_model(run, s), sample) for s in names}
    views = F.compare_stages(feats, sample.labels, sample.class_names, train_counts=_train_counts(run),
                             groups=run.cfg.shots, methods=methods, seed=seed, k=k, synthetic=bool(sample.synthetic),
                             chip_ids=sample.chip_ids)
    return Insight(feature_figure(views, labels=labels), views)


def pick_chips(chips: ChipSet, n: int, *, seed: int = 0, tail_first: bool = True,
               train_counts: Sequence[int] | None = None) -> ChipSet:
    """``n`` chips of different classes, the classes with the fewest training chips first (a view)."""
    order = list(range(chips.num_classes))
    if tail_first and train_counts is not None:
        order.sort(key=lambda c: (train_counts[chips.class_ids[c]], c))
    g = np.random.default_rng(seed)
    labels = chips.labels.numpy()
    pools = [g.permutation(np.flatnonzero(labels == c)) for c in order]
    picked: list[int] = []
    for rnd in range(max((p.size for p in pools), default=0)):  # one chip of every class in turn
        picked += [int(p[rnd]) for p in pools if rnd < p.size][: n - len(picked)]
        if len(picked) >= n:
            break
    return chips.take(picked)


def saliency_report(run: Run, stages: str | Sequence[str] | None = None, chips: str | ChipSet | Sequence[int] | None = None,
                    *, n: int = 4, methods: Sequence[str] = S.METHODS, target: str = "predicted", seed: int = 0,
                    labels: Mapping[str, str] | None = None) -> Insight:
    """Attribution maps of chosen chips for each stage and method (:func:`saliency_figure`).

    ``chips``: positions in the test set, a chip set, or ``None`` for ``n`` test chips of
    different classes, tail classes first. ``data`` is ``{stage: {method: Attributions}}``.
    """
    names = _stage_list(run, stages)
    sample = pick_chips(run.data.test, n, seed=seed, train_counts=_train_counts(run)) if chips is None \
        else _chip_set(run, chips)
    segs = np.stack([S.segment_chip(c) for c in sample.pixels().numpy()[:, 0]])
    atts: dict[str, dict[str, S.Attributions]] = {}
    for s in names:
        model = stage_model(run, s)
        if not _seen_mask(sample, model).all():
            gone = sorted({sample.class_names[int(c)] for c, ok in zip(sample.labels.tolist(), _seen_mask(sample, model))
                           if not ok})
            raise ValueError(f"stage {s!r} removed the class(es) {gone} of some chosen chips; choose other chips "
                             "or stages")
        atts[s] = {m: S.attribute(model, sample, m, target=target, segments=segs) for m in methods}
    return Insight(saliency_figure(sample, atts, labels=labels), atts)


def _seen_mask(chips: ChipSet, model: Any) -> np.ndarray:
    head = {int(c) for c in model.head.class_ids.tolist()}
    return np.array([chips.class_ids[int(c)] in head for c in chips.labels.tolist()], dtype=bool)


def _seen(chips: ChipSet, model: Any) -> ChipSet:
    mask = _seen_mask(chips, model)
    return chips if mask.all() else chips.take(np.flatnonzero(mask).tolist())


def clutter_report(run: Run, stages: str | Sequence[str] | None = None, *, chips: str | ChipSet = "test",
                   max_chips: int | None = 100, methods: Sequence[str] = S.METHODS, target: str = "predicted",
                   seed: int = 0, labels: Mapping[str, str] | None = None) -> Insight:
    """Does each stage's model look at the target, its shadow or the clutter? (:func:`clutter_figure`).

    ``data`` is ``{stage: ClutterCheck}``; ``data[stage].summary()`` says it in words. Chips of
    classes a stage removed are left out of that stage's check.
    """
    names = _stage_list(run, stages)
    sample = F.sample_chips(_chip_set(run, chips), max_chips, seed=seed)
    checks = {}
    for s in names:
        model = stage_model(run, s)
        checks[s] = S.clutter_check(model, _seen(sample, model), methods=methods, target=target, stage=s)
    if any(c.class_names != checks[names[0]].class_names for c in checks.values()):
        common = [n for n in sample.class_names if all(n in c.class_names for c in checks.values())]
        checks = {s: _restrict(c, common) for s, c in checks.items()}
    return Insight(clutter_figure(checks, labels=labels), checks)


def _restrict(check: S.ClutterCheck, names: Sequence[str]) -> S.ClutterCheck:
    return replace(check, class_names=tuple(names), shares={m: {n: v[n] for n in names} for m, v in check.shares.items()},
                   areas={n: check.areas[n] for n in names}, chips={n: check.chips[n] for n in names})


def error_gallery(run: Run, stage: str | None = None, cls: int | str | None = None, *, chips: str | ChipSet = "test",
                  max_errors: int = 6, examples: int = 2) -> Insight:
    """The misclassified chips of class ``cls`` (default: the tail class with errors) for a stage (:func:`gallery_figure`).

    ``stage`` defaults to the last finished one.
    """
    name = _stage_list(run, stage)[-1] if stage is None else _stage_list(run, stage)[0]
    gal = G.error_gallery(stage_model(run, name), _chip_set(run, chips), cls, train_counts=_train_counts(run),
                          max_errors=max_errors, examples=examples, stage=name)
    return Insight(gallery_figure(gal, examples=examples), gal)


__all__ = [
    "Insight",
    "clutter_figure",
    "clutter_report",
    "error_gallery",
    "feature_figure",
    "feature_views",
    "gallery_figure",
    "pick_chips",
    "saliency_figure",
    "saliency_report",
    "stage_model",
]
