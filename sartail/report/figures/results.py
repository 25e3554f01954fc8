"""Publication-ready figures with matplotlib and seaborn, in one consistent, colour-blind-safe style.

Every function returns a :class:`matplotlib.figure.Figure` and shows or saves nothing by
itself; :func:`save_figure` writes any figure as PNG, SVG and PDF at 300 dpi. Figures are made
without pyplot's global figure manager, so they are never shown twice in a notebook, never
pile up in memory, and can be drawn from a background thread (the live plot of
:class:`sartail.widgets.StagePanel`). Sizes follow a two-column paper: :data:`DOUBLE` (7 in)
wide for full-width figures, :data:`SINGLE` (3.4 in) for one column. Colours come from
seaborn's colour-blind palette, heatmaps use viridis. Figures of synthetic data say so in a
note under the axes, so that nobody mistakes them for results on real SAR.

>>> fig = class_histogram([400, 40, 4], ["sedan", "SUV", "bus"], synthetic=True)
>>> fig.axes[0].get_title()
'444 chips in 3 classes, imbalance ratio 100'
>>> is_marked_synthetic(fig)
True
"""
from __future__ import annotations

import io
import math
import os
import textwrap
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle

from .atomic import atomic_open

PALETTE = "colorblind"
SYNTHETIC_NOTE = "synthetic SAR-like chips, not real data"
#: Width in inches of a full-width (two-column) and of a one-column figure.
DOUBLE = 7.0
SINGLE = 3.4
GREY = "0.55"
STYLE = {
    "figure.dpi": 100,
    "savefig.dpi": 300,
    "font.size": 8,
    "axes.titlesize": 9,
    "axes.labelsize": 8,
    "legend.fontsize": 7,
    "legend.title_fontsize": 7,
    "xtick.labelsize": 7,
    "ytick.labelsize": 7,
    "figure.titlesize": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.linewidth": 0.7,
    "xtick.major.width": 0.7,
    "ytick.major.width": 0.7,
    "lines.linewidth": 1.4,
    "patch.linewidth": 0.5,
    "pdf.fonttype": 42,  # TrueType in PDF, editable text in SVG: journals ask for both
    "ps.fonttype": 42,
    "svg.fonttype": "none",
    "svg.hashsalt": "sartail",  # reproducible SVG ids
    "image.cmap": "viridis",
}
SHOT_GROUPS = ("many", "medium", "few")

_LOCK = threading.RLock()  # rcParams are global: one figure is styled at a time


@contextmanager
def style() -> Iterator[None]:
    """A context manager with the kit's figure style (seaborn ticks, colour-blind palette).

    It holds a lock, so that a figure drawn in a background thread (a live training plot)
    and one drawn in the notebook never mix their settings.
    """
    with _LOCK, matplotlib.rc_context({**sns.axes_style("ticks"), **STYLE}):
        yield


def colors(n: int) -> list[tuple[float, float, float]]:
    """``n`` colours of the colour-blind palette (it cycles after 10)."""
    base = list(sns.color_palette(PALETTE, 10))
    return [base[i % len(base)] for i in range(max(n, 0))]


def _figure(width: float, height: float, layout: str = "constrained") -> Figure:
    """A new figure with constrained layout, outside pyplot (call inside :func:`style`).

    ``layout="compressed"`` packs fixed-aspect axes (heatmaps, images) without gaps; the
    spare height is cropped when the figure is saved or shown (tight bounding box).
    """
    return Figure(figsize=(width, height), layout=layout)


def _fit_height(fig: Figure, margin: float = 0.12) -> None:
    """Trim the spare height of a figure of fixed-aspect axes (a compressed layout).

    Such axes take the width they are given and leave spare height above and below; this
    measures the content and sets the figure height to fit it, so that a note under the axes
    sits right under them.
    """
    from matplotlib.transforms import Bbox

    fig.draw_without_rendering()
    boxes = [a.get_tightbbox() for a in fig.axes if a.get_visible()]
    boxes += [t.get_window_extent() for t in (getattr(fig, "_suptitle", None),) if t is not None]
    legends = [leg.get_window_extent() for leg in fig.legends]
    boxes = [b for b in boxes + legends if b is not None and b.width > 0]
    if not boxes:
        return
    content = Bbox.union(boxes).height / fig.dpi
    note = 0.18 if is_marked_synthetic(fig) else 0.0
    target = content + note + margin
    if target < fig.get_figheight() - 0.05:
        fig.set_figheight(target)


def mark_synthetic(fig: Figure, synthetic: bool) -> None:
    """Add the note 'synthetic SAR-like chips, not real data' under the axes when ``synthetic``.

    With constrained layout the note is the figure's bottom label, so the layout makes room
    for it (it never overlaps tick labels); otherwise it is placed in the lower right corner.
    """
    if not synthetic or is_marked_synthetic(fig):
        return
    kw = {"fontsize": 6.5, "color": "0.35", "style": "italic"}
    engine = fig.get_layout_engine()
    if engine is not None and type(engine).__name__ == "ConstrainedLayoutEngine":
        fig.supxlabel(SYNTHETIC_NOTE, x=0.995, ha="right", **kw)
    else:
        fig.text(0.995, 0.005, SYNTHETIC_NOTE, ha="right", va="bottom", **kw)


def is_marked_synthetic(fig: Figure) -> bool:
    """Whether :func:`mark_synthetic` marked ``fig``."""
    texts = list(fig.texts) + [t for t in (getattr(fig, "_supxlabel", None),) if t is not None]
    return any(t.get_text() == SYNTHETIC_NOTE for t in texts)


def save_figure(fig: Figure, path: str | os.PathLike, formats: Sequence[str] = ("png", "svg", "pdf"),
                dpi: int = 300) -> list[Path]:
    """Save ``fig`` as ``path`` with each suffix in ``formats`` (atomically); returns the paths.

    PNG at ``dpi`` (300: print resolution), SVG with editable text, PDF with embedded
    TrueType fonts; no creation dates, so saving the same figure twice gives the same SVG and
    PDF bytes. A suffix on ``path`` (``.png``, ``.svg``, ``.pdf``) is dropped.
    """
    stem = Path(path)
    if stem.suffix.lstrip(".") in ("png", "svg", "pdf"):
        stem = stem.with_suffix("")
    stem.parent.mkdir(parents=True, exist_ok=True)
    meta = {"png": {"Software": "sartail"}, "svg": {"Date": None, "Creator": "sartail"},
            "pdf": {"CreationDate": None, "Creator": "sartail", "Producer": "sartail"}}
    out = []
    with style():
        for fmt in formats:
            target = stem.with_suffix(f".{fmt}")
            with atomic_open(target, "wb") as fh:
                fig.savefig(fh, format=fmt, dpi=dpi, bbox_inches="tight", pad_inches=0.03,
                            metadata=meta.get(fmt), facecolor="white")
            out.append(target)
    return out


def figure_png(fig: Figure, dpi: int = 96) -> bytes:
    """``fig`` as PNG bytes (for an ``ipywidgets.Image``); safe in a background thread."""
    buf = io.BytesIO()
    with style():
        fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight", pad_inches=0.03, facecolor="white")
    return buf.getvalue()


def _register_ipython() -> None:
    """In IPython / Jupyter, show figures as PNG (they are made outside pyplot, whose hooks would do it)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    ip = get_ipython()
    formatter = None if ip is None else ip.display_formatter.formatters.get("image/png")
    if formatter is not None:
        formatter.for_type(Figure, lambda fig: figure_png(fig, dpi=110))


_register_ipython()


# ------------------------------------------------------------------------------ helpers
def _short(names: Sequence[str], width: int = 14) -> list[str]:
    return [n if len(n) <= width else n[: width - 1] + "…" for n in names]


def _wrap(name: str, width: int = 12) -> str:
    return "\n".join(textwrap.wrap(str(name), width, break_long_words=True)) or str(name)


def _class_ticks(names: Sequence[str], counts: Sequence[int] | None = None, width: int = 12) -> list[str]:
    labels = [_wrap(n, width) for n in names]
    if counts is not None:
        labels = [f"{lab}\nn={int(c):,}" for lab, c in zip(labels, counts)]
    return labels


def _set_class_xticks(ax: Any, names: Sequence[str], counts: Sequence[int] | None = None) -> None:
    """Class names under the x axis: wrapped on two lines where there is room, else rotated."""
    x = np.arange(len(names))
    room = ax.figure.get_figwidth() * ax.get_position().width / max(len(names), 1)  # inches per class
    if len(names) <= 12 and room >= 0.5:
        ax.set_xticks(x, _class_ticks(names, counts), fontsize=6.5)
    else:  # many classes: one line each, rotated
        labels = _short(names, 16)
        if counts is not None:
            labels = [f"{n} ({int(c):,})" for n, c in zip(labels, counts)]
        ax.set_xticks(x, labels, rotation=40, ha="right", rotation_mode="anchor", fontsize=6.5)
    ax.tick_params(axis="x", length=0)


def _mean_std(value: Any) -> tuple[float, float]:
    """Mean and standard deviation of a number or a sequence of numbers (``None`` / NaN ignored)."""
    if value is None:
        return math.nan, math.nan
    if isinstance(value, (int, float, np.floating, np.integer)):
        v = float(value)
        return v, math.nan
    vals = [float(v) for v in value if v is not None and not (isinstance(v, float) and math.isnan(v))]
    if not vals:
        return math.nan, math.nan
    return float(np.mean(vals)), (float(np.std(vals, ddof=1)) if len(vals) > 1 else math.nan)


def _yerr(ys: np.ndarray, es: np.ndarray) -> np.ndarray:
    """Error bars of +- ``es`` around accuracies ``ys``, clipped to [0, 1] (an accuracy cannot leave it)."""
    es = np.where(np.isfinite(es), es, 0.0)
    ys = np.nan_to_num(ys)
    return np.stack([np.minimum(es, ys), np.minimum(es, 1.0 - ys)]).clip(min=0)


def _pct(x: float) -> str:
    return "–" if x is None or math.isnan(x) else f"{100 * x:.0f}"


def _text_color(rgb: Sequence[float]) -> str:
    r, g, b = rgb[:3]
    return "black" if 0.299 * r + 0.587 * g + 0.114 * b > 0.5 else "white"


# ------------------------------------------------------------------------------ data
def class_histogram(counts: Sequence[int], class_names: Sequence[str], *, log: bool = True,
                    title: str | None = None, synthetic: bool = False, ax: Any = None,
                    removed: Sequence[int | str] = (), reference: Sequence[int] | None = None,
                    reference_label: str = "available") -> Figure:
    """Chips per class as bars (log scale by default), titled with the imbalance ratio.

    ``removed`` classes (indices or names) are drawn hatched grey and left out of the totals
    in the title; ``reference`` counts (e.g. the pool a long-tailed subset was drawn from)
    are drawn as outlines behind the bars.
    """
    counts = [int(c) for c in counts]
    names = list(class_names)
    gone = {names.index(r) if isinstance(r, str) else int(r) for r in removed}
    kept = [c for i, c in enumerate(counts) if i not in gone and c > 0]
    ratio = max(kept) / min(kept) if kept else float("nan")
    with style():
        if ax is None:
            fig = _figure(max(SINGLE, min(DOUBLE, 0.62 * len(counts) + 1.0)), 2.6)
            ax = fig.add_subplot()
        else:
            fig = ax.figure
        x = np.arange(len(counts))
        base = colors(1)[0]
        if reference is not None:
            ax.bar(x, [int(r) for r in reference], 0.8, facecolor="none", edgecolor=GREY, linewidth=0.8,
                   linestyle="--", label=reference_label, zorder=1)
        cols = ["0.85" if i in gone else base for i in range(len(counts))]
        bars = ax.bar(x, counts, 0.8, color=cols, zorder=2, label="chips" if reference is not None else None)
        for i in gone:
            bars[i].set_hatch("////")
            bars[i].set_edgecolor(GREY)
        for xi, c in zip(x, counts):
            if c > 0:
                ax.text(xi, c * (1.08 if log else 1.0), f"{c:,}", ha="center", va="bottom", fontsize=6, zorder=3)
        _set_class_xticks(ax, names)
        if log and any(counts):
            ax.set_yscale("log")
            top = max(counts + [int(r) for r in (reference or [])])
            ax.set_ylim(0.8, top * 2.2)
        ax.set_ylabel("training chips" + (" (log scale)" if log else ""))
        if title is None:
            what = f"{sum(kept):,} chips in {len(kept)} classes"
            title = f"{what}, imbalance ratio {ratio:,.0f}" if kept else "no chips"
        ax.set_title(title)
        handles = []
        if reference is not None:
            handles = [Patch(facecolor=base, label="kept"),
                       Patch(facecolor="none", edgecolor=GREY, linestyle="--", label=reference_label)]
        if gone:
            handles.append(Patch(facecolor="0.85", edgecolor=GREY, hatch="////", label="removed"))
        if handles:
            if log and any(counts):
                ax.set_ylim(top=ax.get_ylim()[1] * 6)  # room for the legend above the bars
            ax.legend(handles=handles, frameon=False, loc="upper right", ncols=len(handles))
        mark_synthetic(fig, synthetic)
    return fig


def chip_gallery(chips: Any, per_class: int = 6, *, seed: int = 0, classes: Sequence[int] | None = None,
                 stretch: bool = True, title: str | None = None, synthetic: bool | None = None) -> Figure:
    """A gallery of chips, head classes beside tail classes.

    Classes are ordered by their number of chips; the larger half (the head) fills the left
    block, the smaller half (the tail) the right one, ``per_class`` random chips (``seed``)
    in a row each, labelled with the class name and its count. ``stretch`` maps the 0.5 and
    99.5 percentiles of all shown pixels to black and white (one scale for every chip, so
    brightness stays comparable).
    """
    counts = chips.class_counts().tolist()
    order = sorted(classes if classes is not None else range(chips.num_classes), key=lambda c: (-counts[c], c))
    order = [c for c in order if counts[c] > 0]
    g = np.random.default_rng(seed)
    picks: dict[int, list[np.ndarray]] = {}
    labels = chips.labels.numpy()
    for c in order:
        pos = np.flatnonzero(labels == c)
        chosen = np.sort(g.choice(pos, size=min(per_class, pos.size), replace=False))
        picks[c] = list(chips.pixels(np.asarray(chosen)).numpy()[:, 0])
    allpix = np.concatenate([np.stack(v).ravel() for v in picks.values()]) if picks else np.zeros(1)
    lo, hi = (np.percentile(allpix, [0.5, 99.5]) if stretch else (0, 255))
    hi = max(hi, lo + 1)
    half = math.ceil(len(order) / 2)
    blocks = [order[:half], order[half:]] if len(order) > 1 else [order]
    rows = max(len(b) for b in blocks)
    syn = chips.synthetic if synthetic is None else synthetic
    with style():
        label = 1.1  # inches for the class names left of each block
        cell = min(0.6, (DOUBLE - label * len(blocks)) / (1.08 * per_class * len(blocks)))
        fig = _figure(len(blocks) * (1.08 * per_class * cell + label), 1.08 * rows * cell + 0.75)
        subs = fig.subfigures(1, len(blocks), wspace=0.04) if len(blocks) == 2 else [fig]
        heads = ["head: most chips", "tail: fewest chips"]
        for sf, block, head in zip(subs, blocks, heads):
            axes = sf.subplots(rows, per_class, squeeze=False, gridspec_kw={"wspace": 0.04, "hspace": 0.06})
            for r in range(rows):
                for k in range(per_class):
                    ax = axes[r, k]
                    ax.set_xticks([])
                    ax.set_yticks([])
                    for s in ax.spines.values():
                        s.set_visible(False)
                    if r >= len(block):
                        ax.set_visible(False)
                        continue
                    c = block[r]
                    if k < len(picks[c]):
                        ax.imshow(picks[c][k], cmap="gray", vmin=lo, vmax=hi, interpolation="nearest")
                    if k == 0:
                        ax.set_ylabel(f"{_wrap(chips.class_names[c], 13)}\n{counts[c]:,}", rotation=0, ha="right",
                                      va="center", fontsize=6.5, labelpad=3)
            if len(blocks) == 2:
                sf.suptitle(head, fontsize=8, color="0.25")
        if title is not None:
            fig.suptitle(title)
        mark_synthetic(fig, syn)
    return fig


def pixel_statistics(chips: Any, *, max_per_class: int = 300, seed: int = 0, synthetic: bool | None = None) -> Figure:
    """Pixel statistics per class: the intensity distribution and each chip's mean brightness.

    Left: the histogram of pixel values of every class (density, log scale), which shows the
    speckle's long bright tail and the zero-padded border. Right: the mean brightness of
    each chip, by class (box plots), which tells whether brightness alone separates classes.
    At most ``max_per_class`` random chips of each class are used.
    """
    g = np.random.default_rng(seed)
    labels = chips.labels.numpy()
    present = [c for c in range(chips.num_classes) if (labels == c).any()]
    hists, means = {}, {}
    bins = np.arange(0, 257, 4)
    for c in present:
        pos = np.flatnonzero(labels == c)
        pos = np.sort(g.choice(pos, size=min(max_per_class, pos.size), replace=False))
        px = chips.pixels(np.asarray(pos)).numpy().astype(np.float32)
        hists[c] = np.histogram(px.ravel(), bins=bins, density=True)[0]
        means[c] = px.reshape(len(pos), -1).mean(1)
    syn = chips.synthetic if synthetic is None else synthetic
    with style():
        fig = _figure(DOUBLE, 2.8)
        a1, a2 = fig.subplots(1, 2, width_ratios=[1, 1.35])
        cols = colors(len(present))
        centres = (bins[:-1] + bins[1:]) / 2
        for c, col in zip(present, cols):
            a1.plot(centres, np.maximum(hists[c], 1e-7), color=col, lw=1.0, label=_short([chips.class_names[c]], 16)[0])
        a1.set_yscale("log")
        a1.set_ylim(bottom=max(1e-6, min(float(h[h > 0].min()) for h in hists.values()) / 2) if hists else 1e-6)
        a1.set_xlim(0, 255)
        a1.set_xlabel("pixel value (uint8)")
        a1.set_ylabel("density (log scale)")
        a1.set_title("Pixel values by class")
        a1.legend(ncols=2, frameon=False, fontsize=5.5, loc="lower left", handlelength=1.2, columnspacing=0.8)
        box = a2.boxplot([means[c] for c in present], positions=np.arange(len(present)), widths=0.6,
                         patch_artist=True, showfliers=True, flierprops={"markersize": 1.5, "alpha": 0.5},
                         medianprops={"color": "black", "lw": 1})
        for patch, col in zip(box["boxes"], cols):
            patch.set_facecolor(col)
            patch.set_alpha(0.85)
        _set_class_xticks(a2, [chips.class_names[c] for c in present])
        a2.set_ylabel("mean pixel value of a chip")
        a2.set_title("Chip brightness by class")
        mark_synthetic(fig, syn)
    return fig


def pixel_table(chips: Any, *, max_per_class: int = 300, seed: int = 0) -> list[dict[str, Any]]:
    """Per-class pixel statistics as rows: chips, mean, std, 1st / 99th percentile, zero share."""
    g = np.random.default_rng(seed)
    labels = chips.labels.numpy()
    counts = chips.class_counts().tolist()
    rows = []
    for c in range(chips.num_classes):
        pos = np.flatnonzero(labels == c)
        row: dict[str, Any] = {"class": chips.class_ids[c], "name": chips.class_names[c], "chips": counts[c]}
        if pos.size:
            pos = np.sort(g.choice(pos, size=min(max_per_class, pos.size), replace=False))
            px = chips.pixels(np.asarray(pos)).numpy().astype(np.float32).ravel()
            p1, p99 = np.percentile(px, [1, 99])
            row.update(mean=float(px.mean()), std=float(px.std()), p1=float(p1), p99=float(p99),
                       zero_share=float((px == 0).mean()))
        rows.append(row)
    return rows


# ------------------------------------------------------------------------------ results
def _accuracy_axis(ax: Any, ylabel: str, title: str) -> None:
    """A 0-100 % accuracy axis with light horizontal grid lines and a left-aligned title."""
    ax.set_ylim(0, 1)
    ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    ax.set_ylabel(ylabel)
    ax.grid(axis="y", color="0.9", lw=0.6, zorder=0)
    ax.set_axisbelow(True)
    ax.set_title(title, loc="left")


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
        fig.legend(handles=handles, loc="outside upper right", ncols=min(k, 4), frameon=False, title=leg_title,
                   alignment="right")
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


def _draw_confusion(ax: Any, cm: np.ndarray, names: Sequence[str], *, normalize: bool, annotate: bool | None,
                    highlight: int | None, cmap: Any, vmax: float | None) -> Any:
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
        ax.add_patch(Rectangle((highlight - 0.5, -0.5), 1, n, fill=False, edgecolor=colors(4)[3], lw=1.6,
                               clip_on=False, zorder=5))
    short = _short(names, 15)
    ax.set_xticks(np.arange(n), short, rotation=45, ha="right", rotation_mode="anchor")
    ax.set_yticks(np.arange(n), short)
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


def confusion_matrix(cm: Sequence[Sequence[int]] | np.ndarray, class_names: Sequence[str], *,
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
                       highlight: int | None = None, title: str | None = None) -> Figure:
    """Several normalised confusion matrices side by side (one per stage or run), one colour bar.

    ``class_names`` is one list for all, or a mapping label -> the classes of that matrix;
    matrices over fewer classes are placed in ``all_classes`` (default: the union, in order)
    with the missing classes hatched, so rows and columns line up across panels.
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
    panel = min(3.3, (DOUBLE - 0.6) / ncols)
    with style():
        fig = _figure(panel * ncols + 0.6, (panel + 0.9) * nrows + 0.3, layout="compressed")
        axes = fig.subplots(nrows, ncols, squeeze=False)
        cmap = matplotlib.colormaps["viridis"].with_extremes(bad="0.92")
        im = None
        for i, (ax, lab) in enumerate(zip(axes.flat, labels)):
            data = _align(cms[lab], per[lab], all_classes)
            im = _draw_confusion(ax, data, all_classes, normalize=True, annotate=panel / len(all_classes) >= 0.2,
                                 highlight=highlight, cmap=cmap, vmax=None)
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
        if title:
            fig.suptitle(title)
        mark_synthetic(fig, synthetic)
        _fit_height(fig)
    return fig


def stage_comparison(results: Mapping[str, Any], *, synthetic: bool | None = None,
                     stages: Sequence[str] | None = None, labels: Mapping[str, str] | None = None,
                     title: str | None = None) -> Figure:
    """Per-class test accuracy of the stages of a run, from its ``results.json`` dict.

    ``stages`` picks and orders stages (default: all); ``labels`` renames them in the legend.
    """
    names = results["data"]["classes"]
    stages = list(stages or results["stages"])
    labels = dict(labels or {})
    per = {labels.get(s, s): {c: results["stages"][s]["per_class"].get(c) for c in names} for s in stages}
    syn = results["data"].get("synthetic", False) if synthetic is None else synthetic
    return per_class_accuracy(per, names, title=title or f"Per-class test accuracy by stage ({results['recipe']})",
                              synthetic=syn, counts=results["data"]["train_counts"])


def stage_confusions(results: Mapping[str, Any], *, stages: Sequence[str] | None = None,
                     labels: Mapping[str, str] | None = None, ncols: int | None = None,
                     highlight: int | None = None) -> Figure:
    """The confusion matrix of the stages of a run (default: all), from its ``results.json`` dict."""
    stages = list(stages or results["stages"])
    labels = dict(labels or {})
    cms = {labels.get(s, s): results["stages"][s]["confusion"] for s in stages}
    names = {labels.get(s, s): results["stages"][s]["classes_seen"] for s in stages}
    return confusion_matrices(cms, names, synthetic=results["data"].get("synthetic", False), ncols=ncols,
                              all_classes=results["data"]["classes"], highlight=highlight)


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


def _shot_stats(value: Any, group: str) -> tuple[float, float]:
    runs = value if isinstance(value, Sequence) and not isinstance(value, Mapping) else [value]
    return _mean_std([r.get(f"{group}_shot") for r in runs])


def shot_accuracy(results: Mapping[str, Any], *, groups: Any = None, title: str = "Accuracy by class frequency",
                  synthetic: bool = False, width: float = DOUBLE) -> Figure:
    """Many / medium / few-shot test accuracy of several runs as grouped bars.

    ``results`` maps a label to a metrics dict (with ``many_shot``, ``medium_shot``,
    ``few_shot``, as in ``results.json``) or to a list of them (seeds: mean +- std).
    ``groups`` (a :class:`sartail.metrics.ShotGroups`) names the thresholds under the bars.
    """
    labels = list(results)
    k = len(labels)
    with style():
        fig = _figure(width, 2.6)
        ax = fig.add_subplot()
        bw = 0.84 / max(k, 1)
        x = np.arange(len(SHOT_GROUPS))
        handles: list[Patch] = []
        for j, (label, col) in enumerate(zip(labels, colors(k))):
            stats = [_shot_stats(results[label], g) for g in SHOT_GROUPS]
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
        ax.set_xticks(x, names)
        ax.tick_params(axis="x", length=0)
        _accuracy_axis(ax, "mean per-class test accuracy", title)
        fig.legend(handles=handles, loc="outside right upper", frameon=False)
        mark_synthetic(fig, synthetic)
    return fig


def _pool_reliability(value: Any) -> tuple[list[dict[str, Any]], float, float]:
    """Pool the reliability bins of one or several metric dicts (or bin lists); returns (bins, ece mean, std)."""
    runs = value if isinstance(value, Sequence) and not isinstance(value, Mapping) and value and \
        not ("lo" in value[0]) else [value]
    curves, eces = [], []
    for r in runs:
        if isinstance(r, Mapping):
            curves.append(r["reliability"])
            if r.get("ece") is not None:
                eces.append(r["ece"])
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
        total = sum(p["count"] for p in pooled) or 1
        eces = [sum(p["count"] / total * abs(p["accuracy"] - p["confidence"]) for p in pooled if p["count"])]
    m, s = _mean_std(eces)
    return pooled, m, s


def reliability_diagram(results: Mapping[str, Any], *, ncols: int | None = None, synthetic: bool = False,
                        title: str | None = "Reliability diagrams (test set)") -> Figure:
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
    panel = min(2.1, (DOUBLE - 0.3) / ncols)
    acc_col, gap_col = colors(4)[0], colors(4)[3]
    with style():
        fig = _figure(panel * ncols + 0.3, (panel + 0.45) * nrows + 0.6, layout="compressed")
        axes = fig.subplots(nrows, ncols, squeeze=False, sharex=True, sharey=True)
        for ax, label in zip(axes.flat, labels):
            bins, ece, ece_sd = _pool_reliability(results[label])
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
        for ax in list(axes.flat)[n:]:
            ax.set_visible(False)
        handles = [Patch(facecolor=acc_col, label="accuracy in bin"),
                   Patch(facecolor="none", edgecolor=gap_col, hatch="////", label="gap to calibrated")]
        fig.legend(handles=handles, loc="outside lower center", ncols=2, frameon=False)
        if title:
            fig.suptitle(title)
        mark_synthetic(fig, synthetic)
        _fit_height(fig)
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
    return out
