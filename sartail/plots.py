"""Publication-ready figures with matplotlib and seaborn, in one consistent, colour-blind-safe style.

Every function returns a :class:`matplotlib.figure.Figure` (nothing is shown or saved
implicitly); :func:`save_figure` writes any figure as PNG, SVG and PDF. Figures of synthetic
data say so in their corner, so that nobody mistakes them for results on real SAR.
"""
from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

if os.environ.get("MPLBACKEND") is None and not os.environ.get("DISPLAY"):
    try:  # inside IPython the inline backend is already chosen; elsewhere render off-screen
        get_ipython  # type: ignore[name-defined]  # noqa: B018
    except NameError:
        matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
from matplotlib.figure import Figure

from .atomic import atomic_open

PALETTE = "colorblind"
SYNTHETIC_NOTE = "synthetic SAR-like chips, not real data"
STYLE = {
    "figure.dpi": 100,
    "savefig.dpi": 300,
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "legend.fontsize": 8,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "pdf.fonttype": 42,
    "svg.fonttype": "none",
}


def style() -> Any:
    """A context manager with the kit's figure style (seaborn ticks, colour-blind palette)."""
    return plt.rc_context({**sns.axes_style("ticks"), **STYLE})


def colors(n: int) -> list[tuple[float, float, float]]:
    return list(sns.color_palette(PALETTE, n))


def mark_synthetic(fig: Figure, synthetic: bool) -> None:
    """Write 'synthetic ...' in the figure's lower right corner when ``synthetic``."""
    if synthetic:
        fig.text(0.995, 0.005, SYNTHETIC_NOTE, ha="right", va="bottom", fontsize=7, color="0.35", style="italic")


def save_figure(fig: Figure, path: str | os.PathLike, formats: Sequence[str] = ("png", "svg", "pdf"),
                dpi: int = 300) -> list[Path]:
    """Save ``fig`` as ``path`` with each suffix in ``formats`` (atomically); returns the paths."""
    stem = Path(path)
    if stem.suffix.lstrip(".") in ("png", "svg", "pdf"):
        stem = stem.with_suffix("")
    out = []
    for fmt in formats:
        target = stem.with_suffix(f".{fmt}")
        with atomic_open(target, "wb") as fh:
            fig.savefig(fh, format=fmt, dpi=dpi, bbox_inches="tight")
        out.append(target)
    return out


def _short(names: Sequence[str], width: int = 14) -> list[str]:
    return [n if len(n) <= width else n[: width - 1] + "…" for n in names]


# ------------------------------------------------------------------------------ data
def class_histogram(counts: Sequence[int], class_names: Sequence[str], *, log: bool = True,
                    title: str | None = None, synthetic: bool = False, ax: Any = None) -> Figure:
    """Chips per class as bars (log scale by default), titled with the imbalance ratio."""
    counts = [int(c) for c in counts]
    nz = [c for c in counts if c > 0]
    ratio = max(nz) / min(nz) if nz else float("nan")
    with style():
        fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(6.4, 3.2), layout="constrained")
        x = np.arange(len(counts))
        ax.bar(x, counts, color=colors(1)[0])
        for xi, c in zip(x, counts):
            ax.text(xi, c, f"{c:,}", ha="center", va="bottom", fontsize=7)
        ax.set_xticks(x, _short(class_names), rotation=35, ha="right")
        if log and nz:
            ax.set_yscale("log")
        ax.set_ylabel("chips" + (" (log scale)" if log else ""))
        ax.set_title(title or f"{sum(counts):,} chips, imbalance ratio {ratio:,.0f}")
        mark_synthetic(fig, synthetic)
    return fig


# ------------------------------------------------------------------------------ results
def per_class_accuracy(results: Mapping[str, Mapping[str, float | None]], class_names: Sequence[str], *,
                       title: str = "Per-class accuracy", synthetic: bool = False,
                       counts: Sequence[int] | None = None) -> Figure:
    """Grouped bars: per-class accuracy of several stages or runs.

    ``results`` maps a label (stage or run) to ``{class name: accuracy or None}``; a class a
    stage did not see (``None``) is left empty and marked 'not in stage'.
    """
    labels = list(results)
    k = len(labels)
    with style():
        fig, ax = plt.subplots(figsize=(max(6.4, 0.75 * len(class_names) * max(k, 2) / 2), 3.4), layout="constrained")
        x = np.arange(len(class_names))
        width = 0.8 / max(k, 1)
        for j, (label, col) in enumerate(zip(labels, colors(k))):
            vals = [results[label].get(c) for c in class_names]
            ys = [np.nan if v is None else v for v in vals]
            xs = x - 0.4 + width * (j + 0.5)
            ax.bar(xs, ys, width, label=label, color=col)
            for xi, v in zip(xs, vals):
                if v is None:
                    ax.text(xi, 0.02, "not in stage", rotation=90, ha="center", va="bottom", fontsize=6, color="0.4")
        names = list(_short(class_names))
        if counts is not None:
            names = [f"{n}\n(n={c:,})" for n, c in zip(names, counts)]
        ax.set_xticks(x, names, rotation=35 if counts is None else 0, ha="right" if counts is None else "center",
                      fontsize=7)
        ax.set_ylim(0, 1.05)
        ax.set_ylabel("accuracy (recall)")
        ax.set_title(title)
        ax.legend(ncols=min(k, 4), loc="upper right", frameon=False)
        mark_synthetic(fig, synthetic)
    return fig


def confusion_matrix(cm: Sequence[Sequence[int]] | np.ndarray, class_names: Sequence[str], *,
                     normalize: bool = True, title: str = "Confusion matrix", synthetic: bool = False,
                     ax: Any = None) -> Figure:
    """A heatmap of a confusion matrix, rows normalised to recall (true class in rows)."""
    cm = np.asarray(cm, dtype=float)
    data = cm / np.maximum(cm.sum(1, keepdims=True), 1) if normalize else cm
    with style():
        if ax is None:
            size = 1.4 + 0.42 * len(class_names)
            fig, ax = plt.subplots(figsize=(size + 1.0, size), layout="constrained")
        else:
            fig = ax.figure
        sns.heatmap(data, ax=ax, cmap="viridis", vmin=0, vmax=1 if normalize else None, square=True,
                    annot=len(class_names) <= 12, fmt=".2f" if normalize else ".0f", annot_kws={"fontsize": 6},
                    xticklabels=_short(class_names), yticklabels=_short(class_names),
                    cbar_kws={"label": "fraction of true class" if normalize else "chips", "shrink": 0.8})
        ax.set_xlabel("predicted class")
        ax.set_ylabel("true class")
        ax.set_title(title)
        ax.tick_params(axis="x", rotation=45)
        for t in ax.get_xticklabels():
            t.set_ha("right")
        mark_synthetic(fig, synthetic)
    return fig


def confusion_matrices(cms: Mapping[str, Any], class_names: Mapping[str, Sequence[str]] | Sequence[str], *,
                       synthetic: bool = False) -> Figure:
    """Several normalised confusion matrices side by side (one per stage or run)."""
    labels = list(cms)
    n = len(labels)
    cols = min(n, 2) if n > 1 else 1
    rows = math.ceil(n / cols)
    with style():
        fig, axes = plt.subplots(rows, cols, figsize=(5.6 * cols, 5.0 * rows), layout="constrained", squeeze=False)
        for ax, label in zip(axes.flat, labels):
            names = class_names[label] if isinstance(class_names, Mapping) else class_names
            confusion_matrix(cms[label], names, title=label, ax=ax)
        for ax in list(axes.flat)[n:]:
            ax.set_visible(False)
        mark_synthetic(fig, synthetic)
    return fig


def stage_comparison(results: Mapping[str, Any], *, synthetic: bool | None = None) -> Figure:
    """Per-class test accuracy of every stage of a run, from its ``results.json`` dict."""
    names = results["data"]["classes"]
    per = {stage: {c: m["per_class"].get(c) for c in names} for stage, m in results["stages"].items()}
    syn = results["data"].get("synthetic", False) if synthetic is None else synthetic
    return per_class_accuracy(per, names, title=f"Per-class test accuracy by stage ({results['recipe']})",
                              synthetic=syn, counts=results["data"]["train_counts"])


def stage_confusions(results: Mapping[str, Any]) -> Figure:
    """The confusion matrix of every stage of a run, from its ``results.json`` dict."""
    cms = {stage: m["confusion"] for stage, m in results["stages"].items()}
    names = {stage: m["classes_seen"] for stage, m in results["stages"].items()}
    return confusion_matrices(cms, names, synthetic=results["data"].get("synthetic", False))


def training_curves(records: Sequence[Mapping[str, Any]], *, metrics: Sequence[str] = ("train_loss", "val_balanced"),
                    synthetic: bool = False) -> Figure:
    """Loss and validation curves over the epochs of every stage (stages shaded in turn)."""
    recs = [r for r in records if "train_loss" in r]
    with style():
        fig, axes = plt.subplots(1, len(metrics), figsize=(4.2 * len(metrics), 3.0), layout="constrained", squeeze=False)
        stages = list(dict.fromkeys(r["stage"] for r in recs))
        cols = dict(zip(stages, colors(max(len(stages), 1))))
        for ax, metric in zip(axes.flat, metrics):
            x0 = 0
            for stage in stages:
                rs = [r for r in recs if r["stage"] == stage and r.get(metric) is not None]
                xs = [x0 + r["epoch"] for r in rs]
                ax.plot(xs, [r[metric] for r in rs], marker="o", ms=3, color=cols[stage], label=stage)
                x0 += max((r["epoch"] for r in recs if r["stage"] == stage), default=0)
            ax.set_xlabel("epoch (all stages)")
            ax.set_ylabel(metric.replace("_", " "))
        axes.flat[0].legend(frameon=False)
        mark_synthetic(fig, synthetic)
    return fig


def write_run_figures(results: Mapping[str, Any], records: Sequence[Mapping[str, Any]], folder: str | os.PathLike,
                      formats: Sequence[str] = ("png", "svg", "pdf")) -> list[Path]:
    """The standard figures of a finished run: per-class accuracy by stage, confusions, curves."""
    folder = Path(folder)
    out = []
    syn = bool(results["data"].get("synthetic"))
    for name, fig in (("per_class_accuracy", stage_comparison(results)), ("confusion_matrices", stage_confusions(results)),
                      ("training_curves", training_curves(records, synthetic=syn))):
        out += save_figure(fig, folder / name, formats)
        plt.close(fig)
    return out
