"""Training curves: loss and validation metrics over the epochs of every stage, of one run or of several over seeds."""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib
import numpy as np
from matplotlib.figure import Figure

from .style import DOUBLE, _figure, _legend_cols, colors, mark_synthetic, markers, style

METRIC_LABELS = {
    "train_loss": "training loss",
    "val_loss": "validation loss",
    "val_balanced": "validation balanced accuracy",
    "val_top1": "validation top-1 accuracy",
    "train_acc": "training accuracy",
    "lr": "learning rate",
}


def draw_training_curves(fig: Figure, records: Sequence[Mapping[str, Any]], *,
                         metrics: Sequence[str] = ("train_loss", "val_balanced"),
                         steps: Sequence[tuple[float, float, str]] = (), epochs: Mapping[str, int] | None = None) -> None:
    """Draw training curves on ``fig`` (no pyplot; used by :func:`training_curves` and live plots).

    ``records`` are epoch records (``metrics.jsonl``); ``steps`` optional ``(epoch position,
    loss, stage)`` points of every step (drawn faintly under the training loss); ``epochs``
    the planned epochs per stage, so a live plot keeps its x axis while training.
    """
    recs = [r for r in records if "train_loss" in r]
    stages = list(dict.fromkeys([*(r["stage"] for r in recs), *(s for _, _, s in steps), *(epochs or {})]))
    spans: dict[str, tuple[float, float]] = {}
    x0 = 0.0
    for st in stages:
        done = max((r["epoch"] for r in recs if r["stage"] == st), default=0)
        planned = (epochs or {}).get(st, 0)
        seen = max((x for x, _, s in steps if s == st), default=0.0)
        length = max(done, planned, math.ceil(seen), 1)
        spans[st] = (x0, x0 + length)
        x0 += length
    cols = dict(zip(stages, colors(max(len(stages), 1))))
    axes = fig.subplots(1, len(metrics), squeeze=False)[0]
    for ax, metric in zip(axes, metrics):
        for k, st in enumerate(stages):
            a, b = spans[st]
            if len(stages) > 1 and k % 2 == 1:
                ax.axvspan(a, b, color="0.95", lw=0, zorder=0)
            if metric == "train_loss":
                pts = [(spans[st][0] + x, y) for x, y, s in steps if s == st]
                if pts:
                    ax.plot(*zip(*pts), color=cols[st], lw=0.6, alpha=0.35, zorder=1)
            rs = [r for r in recs if r["stage"] == st and r.get(metric) is not None]
            if rs:
                ax.plot([a + r["epoch"] for r in rs], [r[metric] for r in rs], marker="o", ms=2.5, color=cols[st],
                        label=st, zorder=2)
        if len(stages) > 1:
            for st in stages:
                a, b = spans[st]
                ax.text((a + b) / 2, 1.0, st, transform=ax.get_xaxis_transform(), ha="center", va="bottom",
                        fontsize=6.5, color=cols[st])
        ax.set_xlim(0, max(x0, 1))
        ax.set_xlabel("epoch" + (" (stages in turn)" if len(stages) > 1 else ""))
        _metric_axes(ax, metric)
        ax.set_axisbelow(True)


def _metric_axes(ax: Any, metric: str) -> None:
    """The y label of ``metric`` (accuracies as % from 0 to 100), whole epochs, a light grid."""
    ax.set_ylabel(METRIC_LABELS.get(metric, metric.replace("_", " ")))
    if metric.startswith("val_") and metric != "val_loss" or metric == "train_acc":
        ax.set_ylim(0, 1)
        ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    ax.grid(axis="y", color="0.92", lw=0.6)


def training_curves(records: Sequence[Mapping[str, Any]], *, metrics: Sequence[str] = ("train_loss", "val_balanced"),
                    synthetic: bool = False, steps: Sequence[tuple[float, float, str]] = (),
                    epochs: Mapping[str, int] | None = None, width: float = DOUBLE) -> Figure:
    """Loss and validation curves over the epochs of every stage (stages shaded in turn)."""
    with style():
        fig = _figure(width, 2.5)
        draw_training_curves(fig, records, metrics=metrics, steps=steps, epochs=epochs)
        mark_synthetic(fig, synthetic)
    return fig


def _mean_curve(runs: Sequence[Sequence[Mapping[str, Any]]], metric: str) -> tuple[list[float], list[float], list[float]]:
    """Epoch positions (stages end to end), mean and std over runs of ``metric`` at each of them."""
    by_pos: dict[tuple[int, int], list[float]] = {}
    for recs in runs:
        for r in recs:
            if r.get(metric) is not None and "epoch" in r:
                by_pos.setdefault((int(r.get("stage_index", 0)), int(r["epoch"])), []).append(float(r[metric]))
    lengths: dict[int, int] = {}
    for s, e in by_pos:
        lengths[s] = max(lengths.get(s, 0), e)
    offset = {s: sum(lengths[t] for t in lengths if t < s) for s in lengths}
    xs: list[float] = []
    means: list[float] = []
    stds: list[float] = []
    for (s, e), vals in sorted(by_pos.items()):
        xs.append(offset[s] + e)
        means.append(float(np.mean(vals)))
        stds.append(float(np.std(vals, ddof=1)) if len(vals) > 1 else 0.0)
    return xs, means, stds


def mean_curves(runs: Mapping[str, Sequence[Sequence[Mapping[str, Any]]]], *,
                metrics: Sequence[str] = ("train_loss", "val_balanced"), synthetic: bool = False,
                width: float = DOUBLE) -> Figure:
    """Training curves of several recipes over seeds: the mean line and a +- std band per recipe.

    ``runs`` maps a label to the epoch records (``metrics.jsonl``) of each of its seeds; the
    stages of a recipe follow each other on the x axis.
    """
    with style():
        fig = _figure(width, 2.5 if width > 5 else 2.2 * len(metrics))
        axes = fig.subplots(1 if width > 5 else len(metrics), len(metrics) if width > 5 else 1, squeeze=False).ravel()
        for ax, metric in zip(axes, metrics):
            for (label, recs), col, mk in zip(runs.items(), colors(len(runs)), markers(len(runs))):
                xs, mean, std = _mean_curve(recs, metric)
                ax.plot(xs, mean, color=col, marker=mk, ms=2.5, label=f"{label} (n={len(recs)})")
                ax.fill_between(xs, np.subtract(mean, std), np.add(mean, std), color=col, alpha=0.2, lw=0)
            ax.set_xlabel("epoch (stages end to end)")
            _metric_axes(ax, metric)
        handles, labels = axes[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside upper center", ncols=_legend_cols(labels, width), frameon=False,
                   title="mean ± std over seeds (n)")
        mark_synthetic(fig, synthetic)
    return fig
