"""Classification metrics for long-tailed data, all derived from one confusion matrix.

``evaluate_logits`` gives top-1, balanced (mean per-class) accuracy, per-class accuracy,
many / medium / few-shot group accuracy (by training counts), macro-F1, the confusion matrix,
expected calibration error (ECE) and the reliability curve. The numbers agree with
scikit-learn's (see the tests); the work is done in torch so that it is fast on big sets.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import torch

from ..config import ShotGroups
from .results import StageMetrics, metric


def confusion_matrix(targets: torch.Tensor, preds: torch.Tensor, num_classes: int) -> torch.Tensor:
    """``cm[i, j]`` = chips of true class ``i`` predicted as ``j`` (``int64 [C, C]``)."""
    targets = targets.reshape(-1).long().cpu()
    preds = preds.reshape(-1).long().cpu()
    idx = targets * num_classes + preds
    return torch.bincount(idx, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def _safe_div(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    out = torch.full_like(a, float("nan"), dtype=torch.float64)
    ok = b > 0
    out[ok] = a[ok].double() / b[ok].double()
    return out


def per_class_accuracy(cm: torch.Tensor) -> torch.Tensor:
    """Recall of every class (``nan`` for a class with no chips)."""
    return _safe_div(cm.diag(), cm.sum(1))


def balanced_accuracy(cm: torch.Tensor) -> float:
    """Mean per-class accuracy over the classes that have chips (scikit-learn's definition)."""
    acc = per_class_accuracy(cm)
    acc = acc[~acc.isnan()]
    return float(acc.mean()) if acc.numel() else float("nan")


def macro_f1(cm: torch.Tensor) -> float:
    """Mean F1 over classes present in the targets or predictions (F1 = 0 where undefined)."""
    tp = cm.diag().double()
    support = cm.sum(1).double()
    predicted = cm.sum(0).double()
    denom = support + predicted
    present = denom > 0
    f1 = torch.where(denom > 0, 2 * tp / denom.clamp_min(1e-12), torch.zeros_like(tp))
    return float(f1[present].mean()) if present.any() else float("nan")


def calibration(probs: torch.Tensor, targets: torch.Tensor, bins: int = 15) -> dict[str, Any]:
    """Expected calibration error over ``bins`` equal-width confidence bins, and its curve."""
    conf, pred = probs.max(1)
    correct = (pred == targets).double()
    edges = torch.linspace(0, 1, bins + 1, dtype=torch.float64)
    which = torch.bucketize(conf.double(), edges[1:-1], right=True)
    curve = []
    for b in range(bins):
        sel = which == b
        k = int(sel.sum())
        if k:
            acc_b = float(correct[sel].mean())
            conf_b = float(conf[sel].double().mean())
        else:
            acc_b = conf_b = None  # type: ignore[assignment]
        curve.append({"lo": float(edges[b]), "hi": float(edges[b + 1]), "count": k, "accuracy": acc_b,
                      "confidence": conf_b})
    return {"ece": ece_of_bins(curve), "reliability": curve}


def summarize(
    cm: torch.Tensor,
    class_names: Sequence[str],
    *,
    train_counts: Sequence[int] | None = None,
    groups: ShotGroups = ShotGroups(),
) -> dict[str, Any]:
    """Top-1, balanced accuracy, macro-F1, per-class and many/medium/few from a confusion matrix."""
    total = int(cm.sum())
    acc = per_class_accuracy(cm)
    out: dict[str, Any] = {
        "n": total,
        "top1": float(cm.diag().sum()) / total if total else float("nan"),
        "balanced": balanced_accuracy(cm),
        "macro_f1": macro_f1(cm),
        "per_class": {name: _num(a) for name, a in zip(class_names, acc.tolist())},
        "confusion": cm.tolist(),
    }
    if train_counts is not None:
        shots = groups.assign(train_counts)
        for g in ("many", "medium", "few"):
            vals = [a for a, s in zip(acc.tolist(), shots) if s == g and not math.isnan(a)]
            out[f"{g}_shot"] = sum(vals) / len(vals) if vals else None
        out["shot_groups"] = dict(zip(class_names, shots))
    return out


def _num(x: float) -> float | None:
    return None if math.isnan(x) else x


def evaluate_logits(
    logits: torch.Tensor,
    targets: torch.Tensor,
    class_names: Sequence[str],
    *,
    train_counts: Sequence[int] | None = None,
    groups: ShotGroups = ShotGroups(),
    bins: int = 15,
) -> dict[str, Any]:
    """All metrics for ``logits [N, C]`` against integer ``targets [N]``."""
    logits = logits.float().cpu()
    targets = targets.long().cpu()
    c = len(class_names)
    if logits.ndim != 2 or logits.shape[1] != c:
        raise ValueError(f"logits of shape {tuple(logits.shape)} do not match {c} classes")
    preds = logits.argmax(1)
    cm = confusion_matrix(targets, preds, c)
    out = summarize(cm, class_names, train_counts=train_counts, groups=groups)
    probs = logits.softmax(1)
    out.update(calibration(probs, targets, bins))
    if targets.numel():
        out["loss"] = float(torch.nn.functional.cross_entropy(logits, targets))
    return out


def ece_of_bins(bins: Sequence[Mapping[str, Any]]) -> float:
    """Expected calibration error of reliability bins (``count``, ``accuracy``, ``confidence`` each)."""
    total = sum(b["count"] for b in bins) or 1
    return sum(b["count"] / total * abs(b["accuracy"] - b["confidence"]) for b in bins if b["count"])


def pool_reliability(value: Any) -> tuple[list[dict[str, Any]], list[float]]:
    """Pool the reliability bins of one or several metric dicts (or a bin list); returns (bins, ECE of each run).

    Runs given as bins only get the ECE of the pooled bins.
    """
    several = isinstance(value, Sequence) and not isinstance(value, Mapping) and value and \
        not (isinstance(value[0], Mapping) and "lo" in value[0])
    curves, eces = [], []
    for r in (value if several else [value]):
        if isinstance(r, (Mapping, StageMetrics)):
            curves.append(metric(r, "reliability"))
            if metric(r, "ece") is not None:
                eces.append(metric(r, "ece"))
        else:
            curves.append(list(r))
    pooled = []
    for b in range(len(curves[0])):
        n = sum(c[b]["count"] for c in curves)
        acc = sum(c[b]["count"] * (c[b]["accuracy"] or 0.0) for c in curves) / n if n else math.nan
        conf = sum(c[b]["count"] * (c[b]["confidence"] or 0.0) for c in curves) / n if n else math.nan
        pooled.append({"lo": curves[0][b]["lo"], "hi": curves[0][b]["hi"], "count": n, "accuracy": acc,
                       "confidence": conf})
    if not eces:  # bins only: compute ECE from the pooled bins
        eces = [ece_of_bins(pooled)]
    return pooled, eces
