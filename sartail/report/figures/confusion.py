"""Confusion-matrix figures: one matrix, several side by side, every stage of a run."""
from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib
import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle

from ...eval.results import RunResults
from .style import ALERT, DOUBLE, _figure, _fit_height, _legend_cols, _text_color, mark_synthetic, style

#: Class names up to this long are tick labels as they are; longer ones are wrapped or numbered.
TICK_WIDTH = 15


def class_ticks(names: Sequence[str], *, numbered: bool = False, width: int = TICK_WIDTH) -> list[str]:
    """Tick labels that never cut a class name: the names, long ones wrapped at word breaks, or numbers.

    >>> class_ticks(["sedan", "pickup truck w/ trailer"])
    ['sedan', 'pickup truck w/\\ntrailer']
    >>> class_ticks(["sedan", "bus"], numbered=True)
    ['0', '1']
    """
    if numbered:
        return [str(i) for i in range(len(names))]
    return [n if len(n) <= width else "\n".join(textwrap.wrap(n, width, break_long_words=False)) or n for n in names]


def needs_key(names: Sequence[str], width: int = TICK_WIDTH) -> bool:
    """Whether some class name is too long for a small panel's ticks (it then gets a number and a key)."""
    return any(len(n) > width for n in names)


def _add_key(fig: Figure, names: Sequence[str]) -> None:
    """A key under the figure: the number of each class and its full name."""
    handles = [Line2D([], [], ls="none", label=f"{i}  {n}") for i, n in enumerate(names)]
    ncols = _legend_cols([str(h.get_label()) for h in handles], fig.get_figwidth(), 6.5)
    fig.legend(handles=handles, loc="outside lower center", ncols=ncols, frameon=False, fontsize=6.5,
               handlelength=0, handletextpad=0, columnspacing=1.4, title="classes", title_fontsize=6.5)


def _draw_confusion(ax: Any, cm: np.ndarray, names: Sequence[str], *, normalize: bool, annotate: bool | None,
                    highlight: int | None, cmap: Any, vmax: float | None, numbered: bool = False) -> Any:
    cm = np.asarray(cm, dtype=float)
    if normalize:
        rows = np.nansum(cm, axis=1, keepdims=True)
        data = np.where(rows > 0, cm / np.where(rows > 0, rows, 1), np.nan)
        data = np.where(np.isnan(cm), np.nan, data)
    else:
        data = cm
    n = len(names)
    im = ax.imshow(np.ma.masked_invalid(data), cmap=cmap, vmin=0, vmax=1 if normalize else vmax,
                   interpolation="nearest")
    fig = ax.figure
    if annotate is None:  # annotate when a cell is big enough for two digits
        bbox = ax.get_position()
        annotate = (fig.get_figwidth() * bbox.width / max(n, 1)) >= 0.17 or n <= 6
    if annotate:
        size = 6 if n <= 10 else 5
        for i in range(n):
            for j in range(n):
                v = data[i, j]
                if math.isnan(v):
                    continue
                if normalize and round(100 * v) == 0:
                    continue  # empty cells stay quiet
                txt = f"{100 * v:.0f}" if normalize else f"{v:.0f}"
                ax.text(j, i, txt, ha="center", va="center", fontsize=size, color=_text_color(cmap(im.norm(v))[:3]))
    for i in range(n):  # classes the stage did not see: hatched, labelled
        if np.isnan(cm[i]).all():
            ax.add_patch(Rectangle((-0.5, i - 0.5), n, 1, facecolor="0.92", edgecolor="0.75", hatch="////", lw=0))
            ax.add_patch(Rectangle((i - 0.5, -0.5), 1, n, facecolor="0.92", edgecolor="0.75", hatch="////", lw=0))
    if highlight is not None and 0 <= highlight < n:
        ax.add_patch(Rectangle((highlight - 0.5, -0.5), 1, n, fill=False, edgecolor=ALERT, lw=1.6,
                               clip_on=False, zorder=5))
    ticks = class_ticks(names, numbered=numbered)
    if numbered:
        ax.set_xticks(np.arange(n), ticks)
    else:
        ax.set_xticks(np.arange(n), names, rotation=45, ha="right", rotation_mode="anchor")  # one line each: no clash
    ax.set_yticks(np.arange(n), ticks)
    ax.tick_params(length=0)
    for s in ax.spines.values():
        s.set_visible(False)
    ax.set_xlabel("predicted class")
    return im


def _align(cm: Any, names: Sequence[str], full: Sequence[str]) -> np.ndarray:
    """``cm`` (over ``names``) placed in the ``full`` class space; rows/columns of absent classes are NaN."""
    cm = np.asarray(cm, dtype=float)
    out = np.full((len(full), len(full)), np.nan)
    idx = [list(full).index(n) for n in names]
    out[np.ix_(idx, idx)] = cm
    return out


def confusion_figure(cm: Sequence[Sequence[int]] | np.ndarray, class_names: Sequence[str], *,
                     normalize: bool = True, title: str = "Confusion matrix", synthetic: bool = False,
                     ax: Any = None, highlight: int | None = None, annotate: bool | None = None,
                     all_classes: Sequence[str] | None = None, colorbar: bool = True) -> Figure:
    """A heatmap of a confusion matrix, rows normalised to recall in % (true class in rows).

    ``highlight`` frames one predicted-class column (e.g. class 0, where the tail sinks).
    ``all_classes`` places the matrix in a larger class space: classes the stage did not see
    are hatched grey, so matrices of different stages line up.
    """
    names = list(class_names)
    data = np.asarray(cm, dtype=float)
    if all_classes is not None and list(all_classes) != names:
        data, names = _align(data, names, all_classes), list(all_classes)
    with style():
        own = ax is None
        if ax is None:
            size = min(DOUBLE, 1.2 + 0.32 * len(names))
            fig = _figure(size + 0.55, size + 0.4, layout="compressed")
            ax = fig.add_subplot()
        else:
            fig = ax.figure
        cmap = matplotlib.colormaps["viridis"].with_extremes(bad="0.92")
        im = _draw_confusion(ax, data, names, normalize=normalize, annotate=annotate, highlight=highlight, cmap=cmap,
                             vmax=None)
        ax.set_ylabel("true class")
        ax.set_title(title)
        if colorbar:
            cb = fig.colorbar(im, ax=ax, shrink=0.8, pad=0.02, aspect=25)
            cb.set_label("% of the true class" if normalize else "chips")
            if normalize:
                cb.ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{100 * v:.0f}"))
            cb.outline.set_visible(False)
        mark_synthetic(fig, synthetic)
        if own:
            _fit_height(fig)
    return fig


def confusion_matrices(cms: Mapping[str, Any], class_names: Mapping[str, Sequence[str]] | Sequence[str], *,
                       synthetic: bool = False, ncols: int | None = None, all_classes: Sequence[str] | None = None,
                       highlight: int | None = None, title: str | None = None, width: float = DOUBLE) -> Figure:
    """Several normalised confusion matrices side by side (one per stage or run), one colour bar.

    ``class_names`` is one list for all, or a mapping label -> the classes of that matrix;
    matrices over fewer classes are placed in ``all_classes`` (default: the union, in order)
    with the missing classes hatched, so rows and columns line up across panels. With two or
    more panels and a class name too long for the ticks, classes are numbered and a key under
    the figure gives the full names.
    """
    labels = list(cms)
    n = len(labels)
    per = {lab: list(class_names[lab] if isinstance(class_names, Mapping) else class_names) for lab in labels}
    if all_classes is None:
        all_classes = []
        for lab in labels:
            for c in per[lab]:
                if c not in all_classes:
                    all_classes.append(c)
        if isinstance(class_names, Mapping):
            longest = max(per.values(), key=len)
            if set(all_classes) == set(longest):
                all_classes = longest
    ncols = ncols or (n if n <= 3 else 2)
    nrows = math.ceil(n / ncols)
    panel = min(3.3, (width - 0.6) / ncols)
    numbered = ncols > 1 and needs_key(all_classes)
    with style():
        fig = _figure(panel * ncols + 0.6, (panel + 0.9) * nrows + 0.3, layout="compressed")
        axes = fig.subplots(nrows, ncols, squeeze=False)
        cmap = matplotlib.colormaps["viridis"].with_extremes(bad="0.92")
        im = None
        for i, (ax, lab) in enumerate(zip(axes.flat, labels)):
            data = _align(cms[lab], per[lab], all_classes)
            im = _draw_confusion(ax, data, all_classes, normalize=True, annotate=panel / len(all_classes) >= 0.2,
                                 highlight=highlight, cmap=cmap, vmax=None, numbered=numbered)
            ax.set_title(lab)
            if i % ncols == 0:
                ax.set_ylabel("true class")
            else:
                ax.set_yticklabels([])
        for ax in list(axes.flat)[n:]:
            ax.set_visible(False)
        if im is not None:
            cb = fig.colorbar(im, ax=axes, shrink=0.7, pad=0.01, aspect=30)
            cb.set_label("% of the true class")
            cb.ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{100 * v:.0f}"))
            cb.outline.set_visible(False)
        if numbered:
            _add_key(fig, all_classes)
        if title:
            fig.suptitle(title)
        mark_synthetic(fig, synthetic)
        _fit_height(fig)
    return fig


def stage_confusions(results: RunResults, *, stages: Sequence[str] | None = None,
                     labels: Mapping[str, str] | None = None, ncols: int | None = None,
                     highlight: int | None = None) -> Figure:
    """The confusion matrix of the stages of a run (default: all), from its :class:`~sartail.eval.results.RunResults`."""
    stages = list(stages or results.stages)
    labels = dict(labels or {})
    cms = {labels.get(s, s): results.stages[s].confusion for s in stages}
    names = {labels.get(s, s): results.stages[s].classes_seen for s in stages}
    return confusion_matrices(cms, names, synthetic=results.synthetic, ncols=ncols,
                              all_classes=results.class_names, highlight=highlight)
