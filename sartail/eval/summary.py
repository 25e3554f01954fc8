"""Mean and standard deviation over seeds: the one place the kit aggregates runs."""
from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from typing import Any

from .results import RunResults
from .stats import PairedDifference, paired_difference

#: The baselines every recipe is paired with: plain ``ce`` and the equal-budget control.
BASELINES = ("ce", "ce@equal")

#: The final-stage metrics that multi-seed summaries report.
METRICS = ("top1", "balanced", "macro_f1", "many_shot", "medium_shot", "few_shot", "ece")


def mean_std(values: Sequence[float | None]) -> tuple[float | None, float | None, int]:
    """Mean, sample standard deviation (0.0 for a single value) and count of the finite ``values``.

    >>> mean_std([0.5, None, 0.7])[0], mean_std([0.5])[1], mean_std([None])
    (0.6, 0.0, (None, None, 0))
    """
    vals = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    if not vals:
        return None, None, 0
    return statistics.fmean(vals), (statistics.stdev(vals) if len(vals) > 1 else 0.0), len(vals)


def summarize_runs(results: Mapping[str, Sequence[RunResults]],
                   metrics: Sequence[str] = METRICS) -> list[dict[str, Any]]:
    """Per recipe: its seeds, run count, ``{"mean", "std"}`` of every final test metric, and
    ``vs`` the paired balanced-accuracy difference to each baseline present (``vs["ce"]``,
    ``vs["ce@equal"]``: see :func:`paired_against`), the selection and budget notes of its runs.

    ``results`` maps a recipe to the results of its runs.
    """
    rows = []
    for recipe, runs in results.items():
        row: dict[str, Any] = {"recipe": recipe, "seeds": [r.seed for r in runs], "n": len(runs)}
        for m in metrics:
            mean, std, _ = mean_std([getattr(r.final, m) for r in runs])
            row[m] = {"mean": mean, "std": std}
        row["vs"] = {b: d.to_json() for b in BASELINES if b != recipe and b in results
                     for d in [paired_against(runs, results[b])] if d is not None}
        row["budget"] = sorted({r.budget for r in runs if r.budget})
        row["selected"] = {st: sorted({r.selected[st] for r in runs if st in r.selected})
                           for st in (runs[0].selected if runs else {})}
        rows.append(row)
    return rows


def mean_ci(values: Sequence[float | None], level: float = 0.95) -> tuple[float | None, float | None, float | None, int]:
    """Mean and Student-t confidence interval (``lo``, ``hi``) of the finite ``values``, and their count.

    One value has no interval (``lo = hi = None``). The interval is ``mean +- t * s / sqrt(n)``
    with ``t`` the ``(1 + level) / 2`` quantile of Student's t with ``n - 1`` degrees of freedom.

    >>> m, lo, hi, n = mean_ci([0.5, 0.6, 0.7])
    >>> round(m, 2), round(lo, 3), round(hi, 3), n
    (0.6, 0.352, 0.848, 3)
    >>> mean_ci([0.5])
    (0.5, None, None, 1)
    """
    from scipy import stats

    mean, std, n = mean_std(values)
    if mean is None or n < 2 or std is None:
        return mean, None, None, n
    half = float(stats.t.ppf((1 + level) / 2, n - 1)) * std / math.sqrt(n)
    return mean, mean - half, mean + half, n


def paired_against(runs: Sequence[RunResults], baseline: Sequence[RunResults],
                   metric: str = "balanced") -> PairedDifference | None:
    """``runs - baseline`` in ``metric`` over the seeds both have (``None`` when they share none)."""
    base = {r.seed: getattr(r.final, metric) for r in baseline}
    pairs = [(getattr(r.final, metric), base[r.seed]) for r in runs if r.seed in base]
    pairs = [(a, b) for a, b in pairs if a is not None and b is not None]
    if not pairs:
        return None
    return paired_difference([a for a, _ in pairs], [b for _, b in pairs])
