"""Figures of what each stage changes: feature layouts, saliency on SAR chips, target/shadow/clutter shares, error galleries.

Each takes the results of :mod:`sartail.eval.features`, :mod:`sartail.eval.saliency` or
:mod:`sartail.eval.gallery` and returns a :class:`matplotlib.figure.Figure` in the kit's style,
marked "synthetic" when the chips are. The one-line views on a run are in :mod:`sartail.report.insight`.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib
import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle
from matplotlib.ticker import PercentFormatter

from ...data.chipset import ChipSet
from ...eval import features as F
from ...eval import gallery as G
from ...eval import saliency as S
from .style import ALERT, DOUBLE, GREY, _figure, _fill, _wrap, colors, mark_synthetic, markers, style

GROUP_LABELS = {"all": "all classes", "many": "many-shot", "medium": "medium-shot", "few": "few-shot"}
METHOD_TITLES = {"pca": "PCA", "tsne": "t-SNE", "umap": "UMAP", "gradcam": "Grad-CAM", "occlusion": "occlusion"}
#: Colours of the regions of a segmentation (target, shadow, clutter).
REGION_COLORS = {"target": (0.90, 0.38, 0.0), "shadow": (0.0, 0.45, 0.70), "clutter": (0.72, 0.72, 0.72)}


def _label(stage: str, labels: Mapping[str, str] | None) -> str:
    return (labels or {}).get(stage, stage)


def _pct(v: float | None) -> str:
    return "–" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{100 * v:.0f}%"


# ------------------------------------------------------------------------------ feature views
def _limits(layouts: Sequence[np.ndarray], pad: float = 0.05) -> tuple[tuple[float, float], tuple[float, float]]:
    allp = np.concatenate(layouts)
    lo, hi = allp.min(0), allp.max(0)
    span = np.maximum(hi - lo, 1e-9)
    lo, hi = lo - pad * span, hi + pad * span
    return (float(lo[0]), float(hi[0])), (float(lo[1]), float(hi[1]))


def feature_figure(views: F.FeatureViews, *, methods: Sequence[str] | None = None,
                   labels: Mapping[str, str] | None = None, title: str | None = None) -> Figure:
    """The 2-D layouts of each stage (columns) and method (rows), then the scores by class group.

    Every panel of a method shares its axis limits; each class has its own colour and marker
    (the legend gives its shot group; few-shot classes are drawn large, outlined, on top). Under
    the layouts: leave-one-out k-NN accuracy and the between / within-class scatter ratio of
    each stage, for all classes and per group, computed in the full feature space.
    """
    methods = list(methods or views.methods)
    stages = list(views.stages)
    names = views.class_names
    cols, marks = colors(len(names)), markers(len(names))
    ncols = len(stages)
    legend_w = 1.45
    panel = min(2.3, (DOUBLE - legend_w) / ncols)
    with style():
        fig = _figure(panel * ncols + legend_w, panel * len(methods) + 2.1)
        top, bottom = fig.subfigures(2, 1, height_ratios=[panel * len(methods), 1.9])  # type: ignore[misc]
        axes = top.subplots(len(methods), ncols, squeeze=False)
        order = np.argsort([{"many": 0, "medium": 1, "few": 2}[views.shot_groups[c]] for c in views.labels],
                           kind="stable")
        for r, m in enumerate(methods):
            xl, yl = _limits([views.layouts[m][s] for s in stages])
            for j, s in enumerate(stages):
                ax = axes[r, j]
                xy = views.layouts[m][s][order]
                lab = views.labels[order]
                for c in np.unique(lab):  # one colour and marker per class; tail classes large, outlined, on top
                    sel = lab == c
                    big = views.shot_groups[c] == "few"
                    ax.scatter(xy[sel, 0], xy[sel, 1], color=cols[c], marker=marks[c], s=14 if big else 7,
                               linewidths=0.4 if big else 0, edgecolors="black" if big else "none",
                               alpha=0.9 if big else 0.65, zorder=3 if big else 2, rasterized=True)
                ax.set_xlim(xl)
                ax.set_ylim(yl)
                ax.set_xticks([])
                ax.set_yticks([])
                sc = views.scores[s]
                ax.text(0.02, 0.02, f"k-NN {_pct(sc.knn)} · ratio {sc.scatter:.2f}", transform=ax.transAxes,
                        fontsize=6, color="0.2", va="bottom", ha="left", zorder=4,
                        bbox={"facecolor": "white", "alpha": 0.7, "lw": 0, "pad": 1})
                if r == 0:
                    ax.set_title(_label(s, labels))
                if j == 0:
                    ax.set_ylabel(METHOD_TITLES.get(m, m))
        handles = [Line2D([], [], ls="none", marker=marks[c], color=cols[c],
                          markeredgecolor="black" if views.shot_groups[c] == "few" else cols[c], markeredgewidth=0.4,
                          markersize=5, label=_wrap(f"{n} ({views.shot_groups[c]})", 16)) for c, n in enumerate(names)]
        top.legend(handles=handles, loc="outside right upper", frameon=False, fontsize=6, handletextpad=0.3,
                   labelspacing=0.35)
        _score_bars(bottom, views, labels)
        if title:
            fig.suptitle(title)
        mark_synthetic(fig, views.synthetic)
    return fig


def _score_bars(sf: Any, views: F.FeatureViews, labels: Mapping[str, str] | None) -> None:
    a1, a2 = sf.subplots(1, 2)
    groups = ["all", *[g for g in F.GROUPS if g in views.shot_groups]]
    stages = list(views.stages)
    x = np.arange(len(groups))
    bw = 0.8 / max(len(stages), 1)
    cols = [matplotlib.colormaps["Greys"](v) for v in np.linspace(0.35, 0.85, max(len(stages), 1))]  # light to dark
    for j, s in enumerate(stages):
        sc = views.scores[s]
        knn = [sc.knn if g == "all" else sc.knn_groups[g] for g in groups]
        rat = [sc.scatter if g == "all" else sc.scatter_groups[g] for g in groups]
        xs = x - 0.4 + bw * (j + 0.5)
        for ax, vals in ((a1, knn), (a2, rat)):
            ys = np.array([np.nan if v is None else v for v in vals], dtype=float)
            ax.bar(xs, np.nan_to_num(ys), bw * 0.92, color=cols[j], label=_label(s, labels), zorder=2)
    a1.set_ylim(0, 1)
    a1.yaxis.set_major_formatter(PercentFormatter(1.0))
    k = views.scores[stages[0]].k if stages else 5
    for ax, text in ((a1, f"k-NN accuracy in feature space (k={k}, leave one out)"),
                     (a2, "between / within-class scatter ratio")):
        room = sf.get_figure(root=True).get_figwidth() * 0.4 - 0.5  # an axes' width, less its labels
        ax.set_title(_fill(text, room, 7.5), loc="left", fontsize=7.5)
        ax.set_xticks(x, [GROUP_LABELS[g].replace("-", "\n").replace(" ", "\n") for g in groups], fontsize=6.5)
        ax.tick_params(axis="x", length=0)
        ax.grid(axis="y", color="0.9", lw=0.6, zorder=0)
        ax.set_axisbelow(True)
    a1.set_ylabel("balanced accuracy")
    a2.set_ylabel("ratio")
    sf.legend(handles=[Patch(facecolor=cols[j], label=_label(s, labels)) for j, s in enumerate(stages)],
              loc="outside right upper", frameon=False, fontsize=6)


# ------------------------------------------------------------------------------ saliency
def _stretch(pixels: np.ndarray) -> tuple[float, float]:
    lo, hi = np.percentile(pixels, [0.5, 99.5]) if pixels.size else (0.0, 255.0)
    return float(lo), float(max(hi, lo + 1))


def _segment_overlay(seg: np.ndarray) -> np.ndarray:
    rgba = np.zeros((*seg.shape, 4))
    for code, name in ((S.TARGET, "target"), (S.SHADOW, "shadow")):
        rgba[seg == code, :3] = REGION_COLORS[name]
        rgba[seg == code, 3] = 0.55
    return rgba


def _blank(ax: Any) -> None:
    ax.set_xticks([])
    ax.set_yticks([])
    for sp in ax.spines.values():
        sp.set_visible(False)


def saliency_figure(chips: ChipSet, attributions: Mapping[str, Mapping[str, S.Attributions]], *,
                    labels: Mapping[str, str] | None = None, title: str | None = None) -> Figure:
    """Attribution maps over the chips they explain: one row per chip, one column per stage and method.

    ``attributions[stage][method]`` holds the maps of ``chips`` (in order). The first column
    is the chip, the second its segmentation (target orange, shadow blue, the rest clutter);
    each map is drawn over the chip with the class it explains, the model's confidence and
    the shares of its positive attribution on target / shadow / clutter.
    """
    pairs = [(s, m) for s, per in attributions.items() for m in per]
    if not pairs:
        raise ValueError("no attribution maps to show")
    first = attributions[pairs[0][0]][pairs[0][1]]
    n = len(chips)
    px = chips.pixels().numpy()[:, 0].astype(float)
    lo, hi = _stretch(px)
    names = list(chips.class_names)
    by_id = {cid: nm for cid, nm in zip(chips.class_ids, chips.class_names)}
    ncols = 2 + len(pairs)
    cell = min(1.05, (DOUBLE - 0.9) / ncols)
    with style():
        fig = _figure(cell * ncols + 0.9, (cell + 0.42) * n + 0.5)
        axes = fig.subplots(n, ncols, squeeze=False, gridspec_kw={"wspace": 0.04, "hspace": 0.1})
        for i in range(n):
            for ax in axes[i]:
                _blank(ax)
                ax.imshow(px[i], cmap="gray", vmin=lo, vmax=hi, interpolation="nearest")
            axes[i, 0].set_ylabel(_wrap(names[int(chips.labels[i])], 12), rotation=0, ha="right", va="center",
                                  fontsize=6.5, labelpad=3)
            seg = first.segments[i]
            axes[i, 1].imshow(_segment_overlay(seg), interpolation="nearest")
            area = first.areas[i]
            axes[i, 1].set_xlabel(f"area {100 * area[0]:.0f}/{100 * area[1]:.0f}/{100 * area[2]:.0f}", fontsize=5.5,
                                  labelpad=1)
            for j, (s, m) in enumerate(pairs):
                a = attributions[s][m]
                ax = axes[i, 2 + j]
                mp = np.clip(a.maps[i], 0, None)
                top = float(mp.max())
                ax.imshow(mp, cmap="inferno", alpha=0.55, vmin=0, vmax=top if top > 0 else 1, interpolation="bilinear")
                ax.contour(seg == S.TARGET, levels=[0.5], colors=[REGION_COLORS["target"]], linewidths=0.5)
                sh = a.shares[i]
                shares = "no positive map" if not np.isfinite(sh).all() else \
                    f"{100 * sh[0]:.0f}/{100 * sh[1]:.0f}/{100 * sh[2]:.0f}"
                wrong = int(a.predicted[i]) != int(a.labels[i])
                ax.set_xlabel(f"{_wrap(by_id.get(int(a.targets[i]), str(a.targets[i])), 14)} {100 * a.confidence[i]:.0f}%"
                              f"\n{shares}", fontsize=5.5, labelpad=1, color=ALERT if wrong else "0.15")
        axes[0, 0].set_title("chip", fontsize=7)
        axes[0, 1].set_title("target / shadow", fontsize=7)
        for j, (s, m) in enumerate(pairs):
            axes[0, 2 + j].set_title(f"{_label(s, labels)}\n{METHOD_TITLES.get(m, m)}", fontsize=7)
        fig.suptitle(_fill(f"{title or 'Where the model looks'}\nunder each map: the class explained, its probability "
                           "and the % of positive attribution on target / shadow / clutter (red: a wrong prediction)",
                           fig.get_figwidth() - 0.1, 7), fontsize=7)
        mark_synthetic(fig, bool(chips.synthetic))
    return fig


def clutter_figure(checks: Mapping[str, S.ClutterCheck], *, labels: Mapping[str, str] | None = None,
                   title: str | None = None) -> Figure:
    """Share of positive attribution on target, shadow and clutter, per class, for each stage and method.

    One panel per method; per class one stacked bar per stage and, first and hatched, the
    regions' share of the area (what a map spread evenly over the chip would give).
    """
    stages = list(checks)
    first = checks[stages[0]]
    methods = list(first.methods)
    names = [*first.class_names, "all"]
    with style():
        fig = _figure(DOUBLE, 1.9 * len(methods) + 0.7)
        axes = fig.subplots(len(methods), 1, squeeze=False)[:, 0]
        nb = len(stages) + 1
        bw = 0.84 / nb
        x = np.arange(len(names))
        for ax, m in zip(axes, methods):
            for j in range(nb):
                xs = x - 0.42 + bw * (j + 0.5)
                bottom = np.zeros(len(names))
                for r in S.REGIONS:
                    if j == 0:
                        vals = [first.areas[c][r] if c != "all" else first.overall_area[r] for c in names]
                    else:
                        ck = checks[stages[j - 1]]
                        vals = [ck.shares[m][c][r] if c != "all" else ck.overall[m][r] for c in names]
                    v = np.array([0.0 if a is None else a for a in vals])
                    ax.bar(xs, v, bw * 0.9, bottom=bottom, color=REGION_COLORS[r], zorder=2,
                           hatch="////" if j == 0 else None, edgecolor="white" if j == 0 else "none", lw=0)
                    bottom += v
                if j:
                    for xi in xs:
                        ax.text(xi, 1.01, str(j), ha="center", va="bottom", fontsize=5, color="0.3")
            ax.set_ylim(0, 1.08)
            ax.set_yticks([0, 0.5, 1], ["0", "50%", "100%"])
            ax.set_xticks(x, [_wrap(n, 11) for n in names], fontsize=6)
            ax.tick_params(axis="x", length=0)
            ax.set_ylabel(f"{METHOD_TITLES.get(m, m)}\nshare of attribution")
            ax.axvline(len(names) - 1.5, color="0.6", lw=0.6)
        keys = [f"{j + 1}: {_label(s, labels)}" for j, s in enumerate(stages)]
        handles = [Patch(facecolor=REGION_COLORS[r], label=r) for r in S.REGIONS]
        handles.append(Patch(facecolor="white", edgecolor=GREY, hatch="////", label="area share"))
        fig.legend(handles=handles, loc="outside upper right", ncols=4, frameon=False, title="bars: " + ", ".join(keys),
                   alignment="right")
        fig.suptitle(title or "Does the model look at the target, its shadow or the clutter?", x=0.01, ha="left")
        mark_synthetic(fig, first.synthetic)
    return fig


# ------------------------------------------------------------------------------ error gallery
def gallery_figure(gallery: G.ErrorGallery, *, examples: int = 2, title: str | None = None) -> Figure:
    """The misclassified chips of a class, one per row, beside correct chips of its class and of the class taken.

    Each row: the misclassified chip (framed, with the class it was taken for and the
    confidence), then up to ``k`` correctly classified chips of its true class, then up to
    ``k = examples`` of the predicted class (most confident first, other ones on every row
    while there are). One grey scale for all chips.
    """
    chips = gallery.chips
    if chips is None:
        raise ValueError("this gallery holds no chips to draw")
    names = gallery.class_names
    k = max(1, min(examples, max([len(v) for v in gallery.examples.values()] + [1])))
    rows = max(len(gallery.errors), 1)
    shown = [e.position for e in gallery.errors] + [p.position for v in gallery.examples.values() for p in v]
    px_all = chips.pixels(torch.as_tensor(shown, dtype=torch.int64)).numpy()[:, 0].astype(float) if shown else np.zeros((0, 1, 1))
    lo, hi = _stretch(px_all)
    pix = dict(zip(shown, px_all))
    ncols = 1 + 2 * k
    cell = min(0.85, (DOUBLE - 0.3) / (ncols + 0.3))
    red = ALERT
    with style():
        fig = _figure(cell * (ncols + 0.3) + 0.3, (cell + 0.32) * rows + 0.75)
        axes = fig.subplots(rows, ncols, squeeze=False,
                            gridspec_kw={"wspace": 0.05, "hspace": 0.25,
                                         "width_ratios": [1.3] + [1] * (ncols - 1)})
        for ax in axes.flat:
            _blank(ax)
        if not gallery.errors:
            axes[0, 0].text(0.5, 0.5, "no misclassified chip", ha="center", va="center", transform=axes[0, 0].transAxes)
        for r, e in enumerate(gallery.errors):
            ax = axes[r, 0]
            ax.imshow(pix[e.position], cmap="gray", vmin=lo, vmax=hi, interpolation="nearest")
            ax.add_patch(Rectangle((0, 0), 1, 1, transform=ax.transAxes, fill=False, edgecolor=red, lw=2, clip_on=False))
            ax.set_xlabel(f"→ {_wrap(names[e.predicted], 16)}\n{100 * e.confidence:.0f}%", fontsize=6, color=red,
                          labelpad=1)
            for block, cls in ((0, gallery.cls), (1, e.predicted)):
                pool = gallery.examples.get(cls, ())
                for t in range(min(k, len(pool))):
                    p = pool[(r * k + t) % len(pool)]  # other chips on every row, while there are
                    a = axes[r, 1 + block * k + t]
                    a.imshow(pix[p.position], cmap="gray", vmin=lo, vmax=hi, interpolation="nearest")
                    a.set_xlabel(f"{_wrap(names[cls], 14)} {100 * p.confidence:.0f}%", fontsize=5.5, labelpad=1)
                if not gallery.examples.get(cls):
                    axes[r, 1 + block * k].text(0.5, 0.5, "none right", ha="center", va="center", fontsize=6,
                                                color="0.4", transform=axes[r, 1 + block * k].transAxes)
        axes[0, 0].set_title("misclassified", fontsize=7)
        if k:
            room = k * cell - 0.05
            axes[0, 1].set_title(_fill(f"correct: {names[gallery.cls]}", room, 7), fontsize=7, loc="left")
            axes[0, 1 + k].set_title(_fill("correct: the class it was taken for", room, 7), fontsize=7, loc="left")
        cname = names[gallery.cls]
        top = next(iter(gallery.confused_with.items()), None)
        most = f"; most often taken for {names[top[0]]} ({top[1]})" if top else ""
        stage = f"{gallery.stage}: " if gallery.stage else ""
        more = f", {len(gallery.errors)} shown" if len(gallery.errors) < gallery.n_errors else ""
        fig.suptitle(_fill(title or f"{stage}{gallery.n_errors} of {gallery.n_chips} chips of {cname} misclassified"
                           f"{more}{most}", fig.get_figwidth() - 0.1, 8), fontsize=8)
        mark_synthetic(fig, gallery.synthetic)
    return fig


__all__ = ["REGION_COLORS", "clutter_figure", "feature_figure", "gallery_figure", "saliency_figure"]
