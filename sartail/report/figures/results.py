"""Figures of test results: per-class accuracy by run or stage, heatmaps, accuracy by shot group, reliability."""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from ...eval.metrics import pool_reliability
from ...eval.results import RunResults, metric
from .style import (
    ALERT,
    DOUBLE,
    SHOT_GROUPS,
    _class_ticks,
    _figure,
    _fill,
    _fit_height,
    _legend_cols,
    _mean_std,
    _pct,
    _set_class_xticks,
    _text_color,
    _yerr,
    colors,
    mark_synthetic,
    style,
)


def _accuracy_axis(ax: Any, ylabel: str, title: str) -> None:
    """A 0-100 % accuracy axis with light horizontal grid lines and a left-aligned title."""
    ax.set_ylim(0, 1)
    ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    ax.set_ylabel(ylabel)
    ax.grid(axis="y", color="0.9", lw=0.6, zorder=0)
    ax.set_axisbelow(True)
    ax.set_title(_fill(title, ax.figure.get_figwidth() - 0.8, 9), loc="left")  # wrapped to stay on the canvas


def per_class_accuracy(results: Mapping[str, Mapping[str, Any]], class_names: Sequence[str], *,
                       title: str = "Per-class accuracy", synthetic: bool = False,
                       counts: Sequence[int] | None = None, show_mean: bool = True,
                       width: float = DOUBLE) -> Figure:
    """Grouped bars: per-class accuracy of several stages or runs.

    ``results`` maps a label (stage or run) to ``{class name: accuracy}``, where an accuracy
    is a number, ``None`` (the stage did not see that class: its bar is left out and marked
    'not in stage') or a list of numbers (several seeds: the bar is their mean, with the
    standard deviation as an error bar). ``counts`` adds each class's training chips under
    its name. With ``show_mean`` the legend gives each series' balanced accuracy (the mean
    over the classes it saw).
    """
    labels = list(results)
    k = len(labels)
    with style():
        fig = _figure(width, 2.9)
        ax = fig.add_subplot()
        x = np.arange(len(class_names))
        bw = 0.84 / max(k, 1)
        handles = []
        for j, (label, col) in enumerate(zip(labels, colors(k))):
            stats = [_mean_std(results[label].get(c)) for c in class_names]
            ys = np.array([m for m, _ in stats])
            es = np.array([s for _, s in stats])
            xs = x - 0.42 + bw * (j + 0.5)
            mean = np.nanmean(ys) if np.isfinite(ys).any() else math.nan
            name = f"{label} ({100 * mean:.1f}%)" if show_mean and not math.isnan(mean) else label
            bars = ax.bar(xs, np.nan_to_num(ys, nan=0.0), bw * 0.92, color=col, label=name, zorder=2)
            for b, y in zip(bars, ys):
                if math.isnan(y):
                    b.set_visible(False)
            handles.append(Patch(facecolor=col, label=name))
            if np.isfinite(es).any():
                ax.errorbar(xs, ys, yerr=_yerr(ys, es), fmt="none", ecolor="0.15", elinewidth=0.6,
                            capsize=1.2, capthick=0.6, zorder=3)
            for xi, c in zip(xs, class_names):
                if results[label].get(c) is None:
                    ax.text(xi, 0.015, "not in stage", rotation=90, ha="center", va="bottom", fontsize=5.5,
                            color="0.35", zorder=3)
        _set_class_xticks(ax, class_names, counts)
        ax.set_xlim(-0.55, len(class_names) - 0.45)
        _accuracy_axis(ax, "test accuracy (recall)", title)
        leg_title = "balanced accuracy in brackets" if show_mean else None
        fig.legend(handles=handles, loc="outside upper right", frameon=False, title=leg_title, alignment="right",
                   ncols=_legend_cols([str(h.get_label()) for h in handles], width))
        mark_synthetic(fig, synthetic)
    return fig


def accuracy_heatmap(results: Mapping[str, Mapping[str, Any]], class_names: Sequence[str], *,
                     counts: Sequence[int] | None = None, title: str = "Per-class test accuracy (%)",
                     synthetic: bool = False, shot_groups: Sequence[str] | None = None) -> Figure:
    """Per-class accuracy of many runs as a table-like heatmap (rows: runs, columns: classes).

    Values as in :func:`per_class_accuracy` (numbers, ``None`` or lists over seeds: the mean
    is shown). A last column gives the balanced accuracy. ``shot_groups`` (``many`` /
    ``medium`` / ``few`` per class) labels the columns above.
    """
    labels = list(results)
    data = np.array([[_mean_std(results[r].get(c))[0] for c in class_names] for r in labels], dtype=float)
    if data.size == 0:
        data = data.reshape(len(labels), len(class_names))
    bal = np.array([np.nanmean(row) if np.isfinite(row).any() else np.nan for row in data])
    full = np.concatenate([data, bal[:, None]], axis=1)
    cols = [*class_names, "balanced"]
    with style():
        fig = _figure(DOUBLE, 0.24 * len(labels) + 1.45)
        ax = fig.add_subplot()
        cmap = matplotlib.colormaps["viridis"].with_extremes(bad="0.92")
        im = ax.imshow(np.ma.masked_invalid(full), cmap=cmap, vmin=0, vmax=1, aspect="auto")
        for i in range(full.shape[0]):
            for j in range(full.shape[1]):
                v = full[i, j]
                rgb = cmap(v)[:3] if not math.isnan(v) else (0.92,) * 3
                ax.text(j, i, _pct(v), ha="center", va="center", fontsize=6.5, color=_text_color(rgb),
                        fontweight="bold" if j == full.shape[1] - 1 else "normal")
        ax.axvline(len(class_names) - 0.5, color="white", lw=2.5)
        ticks = _class_ticks(class_names, counts, width=11) + ["balanced"]
        ax.set_xticks(np.arange(len(cols)), ticks, fontsize=6)
        ax.set_yticks(np.arange(len(labels)), labels)
        ax.tick_params(length=0)
        for s in ax.spines.values():
            s.set_visible(False)
        if shot_groups is not None:
            top = ax.secondary_xaxis("top")
            top.set_xticks(np.arange(len(class_names)), [f"{s}" for s in shot_groups], fontsize=6, color="0.35")
            top.tick_params(length=0)
            top.spines["top"].set_visible(False)
        ax.set_title(title, loc="left")
        cb = fig.colorbar(im, ax=ax, shrink=0.9, pad=0.01, aspect=15)
        cb.ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
        cb.outline.set_visible(False)
        mark_synthetic(fig, synthetic)
    return fig


def stage_comparison(results: RunResults, *, synthetic: bool | None = None,
                     stages: Sequence[str] | None = None, labels: Mapping[str, str] | None = None,
                     title: str | None = None) -> Figure:
    """Per-class test accuracy of the stages of a run, from its :class:`~sartail.eval.results.RunResults`.

    ``stages`` picks and orders stages (default: all); ``labels`` renames them in the legend.
    """
    names = results.class_names
    stages = list(stages or results.stages)
    labels = dict(labels or {})
    per = {labels.get(s, s): {c: results.stages[s].per_class.get(c) for c in names} for s in stages}
    syn = results.synthetic if synthetic is None else synthetic
    return per_class_accuracy(per, names, title=title or f"Per-class test accuracy by stage ({results.recipe})",
                              synthetic=syn, counts=results.data["train_counts"])


def _shot_stats(value: Any, group: str) -> tuple[float, float]:
    runs = value if isinstance(value, Sequence) and not isinstance(value, Mapping) else [value]
    return _mean_std([metric(r, group if group == "balanced" else f"{group}_shot") for r in runs])


def shot_accuracy(results: Mapping[str, Any], *, groups: Any = None, title: str = "Accuracy by class frequency",
                  synthetic: bool = False, width: float = DOUBLE, balanced: bool = False) -> Figure:
    """Many / medium / few-shot test accuracy of several runs as grouped bars.

    ``results`` maps a label to a metrics dict (with ``many_shot``, ``medium_shot``,
    ``few_shot``, as in ``results.json``) or to a list of them (seeds: mean +- std).
    ``groups`` (a :class:`sartail.config.ShotGroups`) names the thresholds under the bars;
    ``balanced`` adds the balanced accuracy (over all classes) as the first group of bars.
    """
    labels = list(results)
    k = len(labels)
    with style():
        fig = _figure(width, 2.6)
        ax = fig.add_subplot()
        bw = 0.84 / max(k, 1)
        shown = [*(["balanced"] if balanced else []), *SHOT_GROUPS]
        x = np.arange(len(shown))
        handles: list[Patch] = []
        for j, (label, col) in enumerate(zip(labels, colors(k))):
            stats = [_shot_stats(results[label], g) for g in shown]
            ys = np.array([m for m, _ in stats])
            es = np.array([s for _, s in stats])
            xs = x - 0.42 + bw * (j + 0.5)
            bars = ax.bar(xs, np.nan_to_num(ys), bw * 0.92, color=col, zorder=2)
            handles.append(Patch(facecolor=col, label=label))
            for b, y, xi in zip(bars, ys, xs):
                if math.isnan(y):
                    b.set_visible(False)
                    ax.text(xi, 0.015, "no class", rotation=90, ha="center", va="bottom", fontsize=5.5, color="0.35")
            if np.isfinite(es).any():
                ax.errorbar(xs, ys, yerr=_yerr(ys, es), fmt="none", ecolor="0.15", elinewidth=0.6,
                            capsize=1.2, capthick=0.6, zorder=3)
        if groups is not None:
            names = [f"many-shot\n(> {groups.many} training chips)",
                     f"medium-shot\n({groups.few}–{groups.many} chips)", f"few-shot\n(< {groups.few} chips)"]
        else:
            names = ["many-shot", "medium-shot", "few-shot"]
        ax.set_xticks(x, [*(["balanced\n(all classes)"] if balanced else []), *names])
        ax.tick_params(axis="x", length=0)
        _accuracy_axis(ax, "mean per-class test accuracy", title)
        if width < 5:  # one column: the legend above, so the groups keep the width
            fig.legend(handles=handles, loc="outside upper center", frameon=False,
                       ncols=_legend_cols([str(h.get_label()) for h in handles], width))
        else:
            fig.legend(handles=handles, loc="outside right upper", frameon=False)
        mark_synthetic(fig, synthetic)
    return fig


def reliability_diagram(results: Mapping[str, Any], *, ncols: int | None = None, synthetic: bool = False,
                        title: str | None = "Reliability diagrams (test set)", width: float = DOUBLE) -> Figure:
    """Reliability diagrams: accuracy against confidence in bins, one panel per run.

    ``results`` maps a label to a metrics dict with ``reliability`` (and ``ece``), to a list
    of such dicts (seeds: their bins are pooled, the ECE given as mean +- std), or to a list
    of bins. Bars are the accuracy of each confidence bin, the hatched part the gap to the
    diagonal (perfect calibration); the shade of a bar grows with the number of chips in it.
    """
    labels = list(results)
    n = len(labels)
    ncols = ncols or min(n, 4)
    nrows = math.ceil(n / ncols)
    panel = min(2.1, (width - 0.3) / ncols)
    acc_col, gap_col = colors(2)[1], ALERT
    with style():
        fig = _figure(panel * ncols + 0.3, (panel + 0.45) * nrows + 0.6, layout="compressed")
        axes = fig.subplots(nrows, ncols, squeeze=False, sharex=True, sharey=True)
        for ax, label in zip(axes.flat, labels):
            bins, eces = pool_reliability(results[label])
            ece, ece_sd = _mean_std(eces)
            total = sum(b["count"] for b in bins) or 1
            for b in bins:
                if not b["count"]:
                    continue
                w = b["hi"] - b["lo"]
                alpha = 0.35 + 0.65 * min(1.0, 8 * b["count"] / total)
                ax.bar(b["lo"], b["accuracy"], w, align="edge", color=acc_col, alpha=alpha, edgecolor="white", lw=0.4)
                mid = (b["lo"] + b["hi"]) / 2
                lo, hi = sorted((b["accuracy"], mid))
                ax.bar(b["lo"], hi - lo, w, bottom=lo, align="edge", facecolor="none", edgecolor=gap_col, hatch="////",
                       lw=0.5)
            ax.plot([0, 1], [0, 1], ls="--", color="0.3", lw=0.8)
            ax.set_xlim(0, 1)
            ax.set_ylim(0, 1)
            ax.set_xticks([0, 0.5, 1], ["0", "0.5", "1"])
            ax.set_yticks([0, 0.5, 1], ["0", "0.5", "1"])
            ax.set_aspect("equal")
            sd = f" ± {ece_sd:.3f}" if not math.isnan(ece_sd) else ""
            ax.set_title(f"{label}\nECE {ece:.3f}{sd}", fontsize=7.5)
        for ax in axes[-1]:
            ax.set_xlabel("confidence")
        for ax in axes[:, 0]:
            ax.set_ylabel("accuracy")
        for i, ax in enumerate(axes.flat):
            if i >= n:
                ax.set_visible(False)
            elif i + ncols >= n and ax not in axes[-1]:  # nothing drawn below it: it keeps its x labels
                ax.tick_params(labelbottom=True)
                ax.set_xlabel("confidence")
        handles = [Patch(facecolor=acc_col, label="accuracy in bin"),
                   Patch(facecolor="none", edgecolor=gap_col, hatch="////", label="gap to calibrated")]
        narrow = fig.get_figwidth() < 5  # one column: the key on the left, one entry a line, beside the synthetic note
        fig.legend(handles=handles, loc="outside lower left" if narrow else "outside lower center", ncols=1 if narrow else 2,
                   frameon=False)
        if title:
            fig.suptitle(title)
        mark_synthetic(fig, synthetic)
        _fit_height(fig)
    return fig
