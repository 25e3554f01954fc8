"""The leakage figure: how close each test chip's nearest training chip is, and per class how often it is a near-duplicate."""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
from matplotlib.figure import Figure

from ...data.leakage import Leakage
from .style import DOUBLE, GREY, _figure, _set_class_xticks, colors, mark_synthetic, style


def leakage_figure(results: Mapping[str, Leakage], *, references: Mapping[str, torch.Tensor] | None = None,
                   synthetic: bool = False, title: str | None = None) -> Figure:
    """Histograms of each test chip's best NCC with training (left) and the near-duplicate share per class (right).

    ``results`` maps a label (``"test fold vs training"``) to a :class:`~sartail.data.leakage.Leakage`;
    ``references`` are further score distributions drawn as grey outlines (e.g. chips against
    their own shifted noisy copies). The dashed line is the near-duplicate threshold.
    """
    if not results:
        raise ValueError("leakage_figure needs at least one result")
    labels = list(results)
    cols = colors(len(labels))
    first = results[labels[0]]
    names = list(first.class_names)
    with style():
        fig = _figure(DOUBLE, 3.2)
        left, right = fig.subplots(1, 2, width_ratios=[1, 1.25])
        bins = np.linspace(-0.2, 1.0, 61)
        for (name, ref), ls in zip((references or {}).items(), ("-", ":", "-.", "--")):
            left.hist(ref.numpy(), bins=bins, histtype="step", color=GREY, ls=ls, lw=1.0, density=True, label=name)
        for label, col in zip(labels, cols):
            r = results[label]
            left.hist(r.score[~r.score.isnan()].numpy(), bins=bins, histtype="stepfilled", alpha=0.45, color=col,
                      density=True, label=f"{label}: {100 * r.share:.1f} % near-duplicates")
        left.axvline(first.threshold, color="0.2", ls="--", lw=0.9, label=f"threshold {first.threshold:g}")
        lo = min(float(r.score.nan_to_num(1.0).min()) for r in results.values())
        left.set_xlim(max(-0.2, lo - 0.05), 1.0)
        left.set_xlabel(f"best NCC with a training chip ({first.shift} px shifts)")
        left.set_ylabel("density")
        x = np.arange(len(names))
        width = 0.8 / len(labels)
        for i, (label, col) in enumerate(zip(labels, cols)):
            shares = results[label].per_class()
            ys = [100 * shares.get(n, np.nan) for n in names]
            left_edge = x - 0.4 + width * (i + 0.5)
            right.bar(left_edge, ys, width, color=col, label=label)
        _set_class_xticks(right, names)
        right.set_ylabel("near-duplicates (%)")
        top = max([100 * v for r in results.values() for v in r.per_class().values()] + [1.0])
        right.set_ylim(0, top * 1.15)
        handles, names_ = left.get_legend_handles_labels()
        fig.legend(handles, names_, loc="outside lower center", ncols=2, frameon=False, fontsize=6.5)
        fig.suptitle(title or "Leakage: each test chip's most similar training chip")
        mark_synthetic(fig, synthetic)
    return fig


__all__ = ["leakage_figure"]
