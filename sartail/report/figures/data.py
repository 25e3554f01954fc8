"""Figures of chip sets: the class histogram, a gallery of chips, pixel statistics by class."""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from .style import DOUBLE, GREY, SINGLE, _figure, _set_class_xticks, _short, _wrap, colors, mark_synthetic, style


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
        for sf, block, head in zip(subs, blocks, heads):  # type: ignore[arg-type]  # stubs narrower than the values used
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
        palette = colors(chips.num_classes)
        cols = [palette[c] for c in present]  # a class keeps its colour when others are missing
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
