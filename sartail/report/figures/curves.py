"""Training curves: loss and validation metrics over the epochs of every stage."""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib
from matplotlib.figure import Figure

from .style import DOUBLE, _figure, colors, mark_synthetic, style

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
        ax.set_ylabel(METRIC_LABELS.get(metric, metric.replace("_", " ")))
        if metric.startswith("val_") and metric != "val_loss" or metric == "train_acc":
            ax.set_ylim(0, 1)
            ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
        ax.grid(axis="y", color="0.92", lw=0.6)
        ax.set_axisbelow(True)


def training_curves(records: Sequence[Mapping[str, Any]], *, metrics: Sequence[str] = ("train_loss", "val_balanced"),
                    synthetic: bool = False, steps: Sequence[tuple[float, float, str]] = (),
                    epochs: Mapping[str, int] | None = None, width: float = DOUBLE) -> Figure:
    """Loss and validation curves over the epochs of every stage (stages shaded in turn)."""
    with style():
        fig = _figure(width, 2.5)
        draw_training_curves(fig, records, metrics=metrics, steps=steps, epochs=epochs)
        mark_synthetic(fig, synthetic)
    return fig
