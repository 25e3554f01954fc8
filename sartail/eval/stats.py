"""Paired statistics for multi-seed comparisons: a recipe against ``ce`` over the same seeds.

Seed ``i`` of the recipe and seed ``i`` of ``ce`` share their data split and long-tailed
subset, so their difference is the quantity to test (the seed-to-seed spread of the subset
cancels in it). :func:`paired_difference` gives the mean difference, its 95 % Student-t
confidence interval, the paired t-test's p-value and, from 6 seeds on, Wilcoxon's
signed-rank p-value.

>>> d = paired_difference([0.80, 0.78, 0.83], [0.75, 0.74, 0.77])
>>> round(d.mean, 4), d.n, d.significant
(0.05, 3, True)
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

WILCOXON_MIN_N = 6  # below this, the exact signed-rank test cannot reach p < 0.05 (two-sided)


@dataclass(frozen=True)
class PairedDifference:
    """``recipe - baseline`` over ``n`` paired seeds.

    Attributes:
        n: number of pairs.
        mean: mean paired difference.
        std: standard deviation of the differences (``None`` for ``n == 1``).
        ci_low, ci_high: the ``level`` Student-t confidence interval of the mean (``None`` for ``n == 1``).
        p_ttest: two-sided paired t-test p-value (``None`` for ``n == 1``; 0 or 1 when every
            difference is the same non-zero or zero value).
        p_wilcoxon: two-sided Wilcoxon signed-rank p-value (``None`` below ``WILCOXON_MIN_N`` pairs).
        significant: the interval excludes 0 (``False`` when there is no interval).
        note: why a field is missing, in words.
    """

    n: int
    mean: float
    std: float | None
    ci_low: float | None
    ci_high: float | None
    p_ttest: float | None
    p_wilcoxon: float | None
    significant: bool
    level: float = 0.95
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def describe(self, scale: float = 100.0, unit: str = "") -> str:
        """E.g. ``+5.2 [+1.3, +9.1], p=0.02`` or ``+5.2 (1 seed: no interval)``."""
        m = f"{scale * self.mean:+.1f}{unit}"
        if self.ci_low is None or self.ci_high is None:
            return f"{m} ({self.note})"
        star = "" if self.significant else ", n.s."
        return f"{m} [{scale * self.ci_low:+.1f}, {scale * self.ci_high:+.1f}], p={self.p_ttest:.3g}{star}"


def paired_difference(recipe: Sequence[float], baseline: Sequence[float], level: float = 0.95) -> PairedDifference:
    """Mean of ``recipe[i] - baseline[i]`` with its Student-t interval and paired tests."""
    a, b = [float(v) for v in recipe], [float(v) for v in baseline]
    if len(a) != len(b):
        raise ValueError(f"paired scores need the same seeds: {len(a)} recipe scores against {len(b)} baseline scores")
    if not a:
        raise ValueError("no paired scores: run at least one seed of the recipe and of the baseline")
    if not 0 < level < 1:
        raise ValueError(f"confidence level must lie in (0, 1), got {level!r}")
    bad = [v for v in a + b if not math.isfinite(v)]
    if bad:
        raise ValueError(f"scores must be finite numbers, got {bad[0]!r}")
    d = [x - y for x, y in zip(a, b)]
    n = len(d)
    mean = sum(d) / n
    if n == 1:
        return PairedDifference(1, mean, None, None, None, None, None, False, level,
                                "1 seed: no confidence interval or test; run more seeds")
    from scipy import stats as _st  # here, not at import: scipy.stats costs the CLI half a second to load

    std = math.sqrt(sum((v - mean) ** 2 for v in d) / (n - 1))
    half = _st.t.ppf(0.5 + level / 2, n - 1) * std / math.sqrt(n)
    if std == 0:  # every pair differs by the same amount: the interval is a point
        p = 1.0 if mean == 0 else 0.0
    else:
        p = float(2 * _st.t.sf(abs(mean) / (std / math.sqrt(n)), n - 1))
    note = ""
    p_w = None
    if n >= WILCOXON_MIN_N and any(v != 0 for v in d):
        p_w = float(_st.wilcoxon(d).pvalue)
    elif n < WILCOXON_MIN_N:
        note = f"Wilcoxon needs >= {WILCOXON_MIN_N} seeds"
    low, high = mean - half, mean + half
    return PairedDifference(n, mean, std, low, high, p, p_w, bool(low > 0 or high < 0), level, note)


__all__ = ["WILCOXON_MIN_N", "PairedDifference", "paired_difference"]
