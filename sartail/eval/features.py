"""What the body has learnt: its features of chips, 2-D layouts of them, and numbers that say how well they separate.

A :class:`~sartail.models.Classifier` is a body (chips to feature vectors, the penultimate
layer) and a head. :func:`model_outputs` runs a model over chips once (eval mode, no
gradients, in batches) and keeps both the features and the logits. :func:`compare_stages`
takes the features of the same chips after several stages and gives a :class:`FeatureViews`:

- a 2-D layout per stage and method, made comparable across stages: PCA is fitted *once*, on
  the features of all stages pooled (each centred and scaled to unit spread), so every stage
  is drawn in the same projection; t-SNE
  (scikit-learn) and UMAP (``umap-learn``, optional) start every stage from that shared PCA
  layout with the same seed, and each stage's layout is then rotated (no scaling) onto the
  first stage's (orthogonal Procrustes), since t-SNE and UMAP layouts have no orientation;
- numbers computed in the full feature space, not in the picture: the ratio of between-class
  to within-class scatter (:func:`scatter_ratio`, a Fisher criterion) and leave-one-out k-NN
  accuracy (:func:`knn_predictions`), each overall and per class group (many / medium / few
  training chips, :class:`sartail.config.components.ShotGroups`).

>>> import torch
>>> x = torch.tensor([[0.0, 0], [0, 1], [10, 0], [10, 1]])
>>> y = torch.tensor([0, 0, 1, 1])
>>> round(scatter_ratio(x, y), 1)          # class means 10 apart, spread 0.5 around them
100.0
>>> knn_predictions(x, y, k=1).tolist()
[0, 0, 1, 1]
"""
from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from sartail.config.components import ShotGroups
from sartail.data.chipset import ChipSet
from sartail.errors import ConfigError
from sartail.models import Classifier

from .embedding import METHODS, check_method, embed_stages, umap_available

GROUPS = ("many", "medium", "few")


# ------------------------------------------------------------------------------ running a model
@dataclass(frozen=True)
class Outputs:
    """A model's features ``[N, D]`` (the body's output) and logits ``[N, K]`` for ``N`` chips.

    ``head_class_ids`` are the original class ids of the ``K`` logit columns (a stage that
    removed classes has fewer columns than the data has classes).
    """

    features: torch.Tensor
    logits: torch.Tensor
    head_class_ids: tuple[int, ...]

    def predictions(self) -> torch.Tensor:
        """The predicted original class id of every chip (``int64 [N]``)."""
        ids = torch.tensor(self.head_class_ids, dtype=torch.int64)
        return ids[self.logits.argmax(1)] if len(self.logits) else torch.zeros(0, dtype=torch.int64)

    def confidences(self) -> torch.Tensor:
        """The softmax probability of the predicted class (``float32 [N]``)."""
        return self.logits.softmax(1).max(1).values if len(self.logits) else torch.zeros(0)


def _device(model: Classifier) -> torch.device:
    p = next(iter(model.parameters()), None)
    return p.device if p is not None else torch.device("cpu")


@torch.no_grad()
def model_outputs(model: Classifier, chips: ChipSet, *, batch_size: int = 256) -> Outputs:
    """Features and logits of ``model`` for every chip of ``chips``, in order.

    The model runs in eval mode (BatchNorm statistics, no dropout) without gradients, in
    batches of ``batch_size``; its train / eval modes are restored afterwards.
    """
    if batch_size < 1:
        raise ConfigError(f"batch_size must be >= 1, got {batch_size}")
    if not hasattr(model, "features") or not hasattr(model, "head"):
        raise TypeError(f"{type(model).__name__} is not a sartail Classifier (it needs .features and .head)")
    modes = {m: m.training for m in model.modules()}
    model.eval()
    dev = _device(model)
    feats, logits = [], []
    try:
        for start in range(0, len(chips), batch_size):
            x = chips.pixels(torch.arange(start, min(start + batch_size, len(chips)))).to(dev).float()
            f = model.features(x)
            feats.append(f.float().cpu())
            logits.append(model.head(f).float().cpu())
    finally:
        for m, mode in modes.items():
            m.training = mode
    head_ids = tuple(int(c) for c in model.head.class_ids.tolist())
    dim = int(getattr(model.body, "out_features", 0))
    f_all = torch.cat(feats) if feats else torch.zeros(0, dim)
    l_all = torch.cat(logits) if logits else torch.zeros(0, len(head_ids))
    return Outputs(f_all, l_all, head_ids)


def extract_features(model: Classifier, chips: ChipSet, *, batch_size: int = 256) -> torch.Tensor:
    """The body's features (penultimate layer) of every chip, ``float32 [N, D]`` (see :func:`model_outputs`)."""
    return model_outputs(model, chips, batch_size=batch_size).features


def sample_chips(chips: ChipSet, max_chips: int | None, *, seed: int = 0) -> ChipSet:
    """At most ``max_chips`` chips of ``chips``, as evenly over the classes as they allow (a view).

    Every class gives up to ``max_chips // classes`` chips (drawn with ``seed``); classes with
    fewer give all they have and the spare places go to the others. Positions stay in order.
    ``None`` keeps every chip.
    """
    if max_chips is None or len(chips) <= max_chips:
        return chips
    if max_chips < 1:
        raise ConfigError(f"max_chips must be >= 1 (or None for all chips), got {max_chips}")
    g = np.random.default_rng(seed)
    labels = chips.labels.numpy()
    pools = [g.permutation(np.flatnonzero(labels == c)) for c in range(chips.num_classes)]
    take = [0] * len(pools)
    left = max_chips
    while left > 0:  # round robin: one more chip from every class that has one
        progressed = False
        for c, pool in enumerate(pools):
            if left and take[c] < pool.size:
                take[c] += 1
                left -= 1
                progressed = True
        if not progressed:
            break
    chosen = np.sort(np.concatenate([p[:t] for p, t in zip(pools, take)]))
    return chips.take(torch.as_tensor(chosen, dtype=torch.int64))


# ------------------------------------------------------------------------------ numbers
def _as_2d(features: torch.Tensor | np.ndarray) -> torch.Tensor:
    x = torch.as_tensor(np.asarray(features) if not isinstance(features, torch.Tensor) else features)
    if x.ndim != 2:
        raise ValueError(f"features must be a matrix [chips, dims], got shape {tuple(x.shape)}")
    return x.double()


def class_scatter(features: torch.Tensor | np.ndarray, labels: torch.Tensor | np.ndarray,
                  num_classes: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per class: squared distance of its mean to the mean of all class means, and mean squared spread.

    Returns ``(between [C], within [C])`` (NaN for a class with no chips). Every class counts
    once, whatever its number of chips, as in balanced accuracy.
    """
    x = _as_2d(features)
    y = torch.as_tensor(np.asarray(labels)).long().reshape(-1)
    if y.numel() != x.shape[0]:
        raise ValueError(f"{x.shape[0]} feature rows but {y.numel()} labels")
    c = int(num_classes if num_classes is not None else (int(y.max()) + 1 if y.numel() else 0))
    means = torch.full((c, x.shape[1]), float("nan"), dtype=torch.float64)
    within = np.full(c, np.nan)
    for k in range(c):
        sel = y == k
        if sel.any():
            means[k] = x[sel].mean(0)
            within[k] = float(((x[sel] - means[k]) ** 2).sum(1).mean())
    present = ~torch.isnan(means[:, 0]) if c else torch.zeros(0, dtype=torch.bool)
    centre = means[present].mean(0) if present.any() else torch.zeros(x.shape[1], dtype=torch.float64)
    between = ((means - centre) ** 2).sum(1).numpy()
    return between, within


def scatter_ratio(features: torch.Tensor | np.ndarray, labels: torch.Tensor | np.ndarray,
                  classes: Sequence[int] | None = None, num_classes: int | None = None) -> float:
    """Between-class over within-class scatter (a Fisher criterion, ``tr S_B / tr S_W``), classes weighted equally.

    ``sum_c ||mu_c - mu||^2 / sum_c mean_{i in c} ||x_i - mu_c||^2`` over the classes in
    ``classes`` (default: all with chips), ``mu`` the mean of all class means. Large when
    classes form tight clusters far apart; about ``1 / n`` per class when the labels are
    random. It does not change when all features are scaled by one factor. NaN without classes
    or without spread.
    """
    between, within = class_scatter(features, labels, num_classes)
    idx = np.arange(between.size) if classes is None else np.asarray(list(classes), dtype=int)
    idx = idx[(idx < between.size)] if idx.size else idx
    b, w = between[idx], within[idx]
    ok = np.isfinite(b) & np.isfinite(w)
    if not ok.any() or w[ok].sum() <= 0:
        return math.nan
    return float(b[ok].sum() / w[ok].sum())


def knn_predictions(features: torch.Tensor | np.ndarray, labels: torch.Tensor | np.ndarray, k: int = 5) -> torch.Tensor:
    """Leave-one-out k-nearest-neighbour predictions (Euclidean) of every chip from the others.

    A chip gets the label most of its ``k`` nearest other chips have; a tie goes to the
    tied label of the nearest neighbour. Deterministic.
    """
    x = _as_2d(features)
    y = torch.as_tensor(np.asarray(labels)).long().reshape(-1)
    n = x.shape[0]
    if y.numel() != n:
        raise ValueError(f"{n} feature rows but {y.numel()} labels")
    if k < 1:
        raise ConfigError(f"k must be >= 1, got {k}")
    if n < 2:
        raise ValueError(f"k-NN needs at least 2 chips, got {n}")
    k = min(k, n - 1)
    d = torch.cdist(x, x)
    d.fill_diagonal_(float("inf"))
    order = torch.from_numpy(np.argsort(d.numpy(), axis=1, kind="stable")[:, :k])  # equal distances: by position
    neighbour_labels = y[order]  # [n, k], nearest first
    c = int(y.max()) + 1
    votes = torch.zeros(n, c, dtype=torch.float64)
    weight = 1.0 + 1e-6 * torch.arange(k, 0, -1, dtype=torch.float64)  # the nearest breaks ties
    votes.scatter_add_(1, neighbour_labels, weight.expand(n, k).contiguous())
    return votes.argmax(1)


@dataclass(frozen=True)
class FeatureScores:
    """How well one stage's features separate the classes (computed in the full feature space).

    ``scatter`` / ``knn``: overall values; ``*_groups``: per many / medium / few-shot group
    (``None`` for a group without classes); ``*_per_class``: by class name. ``knn`` is the
    balanced (mean per-class) leave-one-out k-NN accuracy, ``knn_top1`` the plain one.
    """

    stage: str
    chips: int
    dims: int
    scatter: float
    scatter_groups: dict[str, float | None]
    scatter_per_class: dict[str, float | None]
    knn: float
    knn_top1: float
    knn_groups: dict[str, float | None]
    knn_per_class: dict[str, float | None]
    k: int

    def to_dict(self) -> dict[str, Any]:
        return {k: _clean(v) for k, v in self.__dict__.items()}


def _clean(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: _clean(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_clean(x) for x in v]
    if isinstance(v, np.ndarray):
        return _clean(v.tolist())
    if isinstance(v, (float, np.floating)):
        return None if math.isnan(float(v)) else float(v)
    if isinstance(v, np.integer):
        return int(v)
    return v


def _nan_none(x: float) -> float | None:
    return None if x is None or math.isnan(x) else float(x)


def feature_scores(features: torch.Tensor | np.ndarray, labels: torch.Tensor | np.ndarray,
                   class_names: Sequence[str], shot_groups: Sequence[str], *, k: int = 5,
                   stage: str = "") -> FeatureScores:
    """Scatter ratio and k-NN accuracy of ``features``, overall, per class and per shot group.

    ``shot_groups`` gives ``many`` / ``medium`` / ``few`` for each class (e.g.
    ``ShotGroups().assign(train_counts)``).
    """
    x = _as_2d(features)
    y = torch.as_tensor(np.asarray(labels)).long().reshape(-1)
    names = list(class_names)
    if len(shot_groups) != len(names):
        raise ValueError(f"{len(shot_groups)} shot groups for {len(names)} classes")
    between, within = class_scatter(x, y, len(names))
    per_class_scatter = {n: _nan_none(b / w) if w > 0 else None for n, b, w in zip(names, between, within)}
    pred = knn_predictions(x, y, k)
    recall = {}
    for c, n in enumerate(names):
        sel = y == c
        recall[n] = float((pred[sel] == c).double().mean()) if sel.any() else None
    groups_s: dict[str, float | None] = {}
    groups_k: dict[str, float | None] = {}
    for g in GROUPS:
        members = [c for c, s in enumerate(shot_groups) if s == g and recall[names[c]] is not None]
        groups_s[g] = _nan_none(scatter_ratio(x, y, members, len(names))) if members else None
        vals = [v for c in members if (v := recall[names[c]]) is not None]
        groups_k[g] = float(np.mean(vals)) if vals else None
    present = [v for v in recall.values() if v is not None]
    return FeatureScores(stage=stage, chips=int(x.shape[0]), dims=int(x.shape[1]),
                         scatter=scatter_ratio(x, y, None, len(names)), scatter_groups=groups_s,
                         scatter_per_class=per_class_scatter, knn=float(np.mean(present)) if present else math.nan,
                         knn_top1=float((pred == y).double().mean()), knn_groups=groups_k, knn_per_class=recall,
                         k=min(k, int(x.shape[0]) - 1))


# ------------------------------------------------------------------------------ 2-D layouts


@dataclass(frozen=True)
class FeatureViews:
    """The features of the same chips after several stages: 2-D layouts and scores per stage.

    ``layouts[method][stage]`` is ``[N, 2]``; ``labels`` are the chips' classes (indices into
    ``class_names``); ``shot_groups`` the group of each class; ``scores[stage]`` the numbers.
    """

    stages: tuple[str, ...]
    class_names: tuple[str, ...]
    labels: np.ndarray
    shot_groups: tuple[str, ...]
    train_counts: tuple[int, ...] | None
    layouts: dict[str, dict[str, np.ndarray]]
    scores: dict[str, FeatureScores]
    seed: int
    synthetic: bool = False
    chip_ids: tuple[str, ...] = field(default=(), repr=False)

    @property
    def methods(self) -> tuple[str, ...]:
        return tuple(self.layouts)

    def rows(self) -> list[dict[str, Any]]:
        """One row per stage: scatter ratio and k-NN accuracy, overall and per group (for a table)."""
        out = []
        for s in self.stages:
            sc = self.scores[s]
            row: dict[str, Any] = {"stage": s, "scatter": sc.scatter}
            row.update({f"scatter_{g}": sc.scatter_groups[g] for g in GROUPS})
            row["knn"] = sc.knn
            row.update({f"knn_{g}": sc.knn_groups[g] for g in GROUPS})
            out.append(row)
        return out

    def to_dict(self, *, layouts: bool = False) -> dict[str, Any]:
        """Plain data: stages, classes, groups, scores (and the layouts with ``layouts=True``)."""
        d: dict[str, Any] = {
            "stages": list(self.stages), "class_names": list(self.class_names), "shot_groups": list(self.shot_groups),
            "train_counts": None if self.train_counts is None else list(self.train_counts), "seed": self.seed,
            "synthetic": self.synthetic, "chips": int(self.labels.size), "methods": list(self.methods),
            "scores": {s: self.scores[s].to_dict() for s in self.stages},
        }
        if layouts:
            d["labels"] = self.labels.tolist()
            d["chip_ids"] = list(self.chip_ids)
            d["layouts"] = {m: {s: v.tolist() for s, v in per.items()} for m, per in self.layouts.items()}
        return d

    def to_json(self, *, layouts: bool = False, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(layouts=layouts), indent=indent)


def compare_stages(features: Mapping[str, torch.Tensor | np.ndarray], labels: torch.Tensor | np.ndarray,
                   class_names: Sequence[str], *, train_counts: Sequence[int] | None = None,
                   groups: ShotGroups | None = None, methods: Sequence[str] = ("pca",), seed: int = 0, k: int = 5,
                   synthetic: bool = False, chip_ids: Sequence[str] = (), perplexity: float = 30.0) -> FeatureViews:
    """Layouts (one per method and stage) and scores of each stage's features of the same chips.

    ``features`` maps a stage name to ``[N, D]`` features (in the order to show them);
    ``train_counts`` sets the shot group of each class (without it every class is ``many``).
    """
    for m in methods:
        check_method(m)
    y = np.asarray(torch.as_tensor(np.asarray(labels)).long().reshape(-1))
    groups = groups or ShotGroups()
    shots = tuple(groups.assign(train_counts)) if train_counts is not None else ("many",) * len(class_names)
    scores = {s: feature_scores(f, y, class_names, shots, k=k, stage=s) for s, f in features.items()}
    lays = {m: embed_stages(features, m, seed=seed, perplexity=perplexity) for m in methods}
    return FeatureViews(stages=tuple(features), class_names=tuple(class_names), labels=y, shot_groups=shots,
                        train_counts=None if train_counts is None else tuple(int(c) for c in train_counts),
                        layouts=lays, scores=scores, seed=seed, synthetic=synthetic, chip_ids=tuple(chip_ids))


__all__ = [
    "METHODS",
    "FeatureScores",
    "FeatureViews",
    "Outputs",
    "class_scatter",
    "compare_stages",
    "embed_stages",
    "extract_features",
    "feature_scores",
    "knn_predictions",
    "model_outputs",
    "sample_chips",
    "scatter_ratio",
    "umap_available",
]
