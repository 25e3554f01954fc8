"""The removal-set sweep's figure: balanced and many / medium / few-shot accuracy per removed set, with intervals."""
from __future__ import annotations

import textwrap
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from ...run.removal import SWEEP_METRICS, RemovalSweep
from .style import DOUBLE, _figure, colors, mark_synthetic, style

METRIC_NAMES = {"balanced": "balanced", "many_shot": "many-shot", "medium_shot": "medium-shot", "few_shot": "few-shot"}


def _set_tick(label: str, classes: list[str]) -> str:
    names = ", ".join(classes) if classes else "nothing removed"
    return textwrap.fill(label, 16) + "\n" + textwrap.fill(f"({names})", 18)


def removal_figure(result: RemovalSweep, *, title: str | None = None) -> Figure:
    """Mean test accuracy over seeds per removed set (x) for each metric, with its t-interval as error bar.

    A metric without a value (no class in that shot group) is left out; one seed gives points
    without bars. The tick under each set names its removed classes.
    """
    rows = result.rows(SWEEP_METRICS)
    x = np.arange(len(rows))
    n_seeds = max((len(r["seeds"]) for r in rows), default=0)
    with style():
        fig = _figure(DOUBLE, 2.9)
        ax = fig.add_subplot()
        w = 0.6 / len(SWEEP_METRICS)
        for j, (m, col) in enumerate(zip(SWEEP_METRICS, colors(len(SWEEP_METRICS)))):
            xs, ys, lo, hi = [], [], [], []
            for i, r in enumerate(rows):
                v = r[m]
                if v["mean"] is None:
                    continue
                xs.append(x[i] - 0.3 + w * (j + 0.5))
                ys.append(v["mean"])
                lo.append(v["mean"] - (v["lo"] if v["lo"] is not None else v["mean"]))
                hi.append((v["hi"] if v["hi"] is not None else v["mean"]) - v["mean"])
            if not xs:
                continue
            ax.errorbar(xs, ys, yerr=[lo, hi], fmt="o-" if m == "balanced" else "o", color=col, ms=4 if m == "balanced" else 3,
                        lw=1.2 if m == "balanced" else 0, elinewidth=0.8, capsize=2, label=METRIC_NAMES[m], zorder=3)
        ax.set_xticks(x, [_set_tick(r["removed"], r["classes"]) for r in rows], fontsize=6.5)
        ax.tick_params(axis="x", length=0)
        ax.set_ylim(0, 1.02)
        ax.yaxis.set_major_formatter(lambda v, _: f"{100 * v:.0f}%")
        ax.grid(axis="y", color="0.9", lw=0.6, zorder=0)
        ax.set_ylabel("test accuracy (mean per class)")
        ax.set_xlabel("classes removed in stage 2")
        ci = f"{100 * result.level:.0f}% t-interval over {n_seeds} seeds" if n_seeds > 1 else "one seed: no interval"
        ax.set_title(title or f"What removing classes in stage 2 changes ({ci})", loc="left")
        fig.legend(loc="outside right upper", frameon=False)
        mark_synthetic(fig, result.synthetic)
    return fig


def removal_table(result: RemovalSweep) -> list[dict[str, Any]]:
    """The numbers of :func:`removal_figure`, one flat row per removed set (percentages, 1 decimal)."""
    def pct(v: float | None) -> float | None:
        return None if v is None else round(100 * v, 1)

    return [{"removed": r["removed"], "classes": ", ".join(r["classes"]) or "-", "seeds": len(r["seeds"]),
             **{f"{METRIC_NAMES[m]} %": pct(r[m]["mean"]) for m in SWEEP_METRICS},
             **{f"{METRIC_NAMES[m]} CI": None if r[m]["lo"] is None else f"{pct(r[m]['lo'])}-{pct(r[m]['hi'])}"
                for m in SWEEP_METRICS}} for r in result.rows(SWEEP_METRICS)]
