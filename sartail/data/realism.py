"""How much two chip sets look alike: per-chip SAR statistics, distances and discriminators.

Used to measure how realistic the embedded synthetic chips are against real ones (MAVOC's
826 test chips), but any two chip sets can be compared:

- :func:`chip_statistics`: one row of statistics per chip that characterise SAR magnitude
  chips (brightness, spread, exactly-zero pixels and zero-padded border lines, the local
  coefficient of variation of the speckle, the spatial autocorrelation, bright scatterers);
- :func:`grey_level_distances`: Wasserstein-1 and Kolmogorov-Smirnov distances between the
  two sets' pooled grey-level histograms;
- :func:`statistics_discriminator` (from :mod:`sartail.data.discriminators`): a logistic regression or gradient boosting on the
  per-chip statistics, trained to tell set A from set B on half of the chips and tested on
  the other half (ROC AUC; 0.5 = indistinguishable, 1.0 = always told apart);
- :func:`cnn_discriminator`: the same with a small CNN on the pixels (a harder check);
- :func:`compare_chipsets` / :func:`compare_specs`: all of it as one :class:`RealismReport`.

>>> import numpy as np
>>> stats = chip_statistics(np.full((2, 8, 8), 100, dtype=np.uint8))
>>> float(stats["mean"][0]), float(stats["local_cv"][0]), float(stats["zero_share"][0])
(100.0, 0.0, 0.0)
"""
from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch

from ..errors import DataError
from .chipset import ChipSet
from .discriminators import cnn_discriminator, equal_draw, statistics_discriminator
from .pixels import as_pixel_array

#: The per-chip statistics, in the order of :func:`chip_statistics`'s columns.
STATISTICS: tuple[str, ...] = (
    "mean", "std", "median", "p01", "p99", "skewness", "zero_share", "zero_border_lines", "local_cv",
    "acf1_x", "acf1_y", "acf_length", "roughness", "peaks", "peak_contrast", "dark_share",
)
#: Lags (pixels) over which the autocorrelation length is looked for.
MAX_LAG = 12


def _box_mean(x: np.ndarray, k: int) -> np.ndarray:
    """Mean over every 'valid' ``k x k`` window of ``x`` [N, H, W] (a summed-area table)."""
    c = np.pad(x, ((0, 0), (1, 0), (1, 0))).cumsum(1).cumsum(2)
    s = c[:, k:, k:] - c[:, :-k, k:] - c[:, k:, :-k] + c[:, :-k, :-k]
    return s / (k * k)


def _acf(d: np.ndarray, axis: int, lags: int) -> np.ndarray:
    """Autocorrelation of the mean-free chips ``d`` [N, H, W] along ``axis`` at lags 0..``lags``.

    Each lag is the mean product of pixel pairs that far apart over the chip's variance (1 at
    lag 0); a constant chip gives 0 at every lag.
    """
    var = (d * d).mean((1, 2))
    out = np.empty((d.shape[0], lags + 1))
    out[:, 0] = 1.0
    n = d.shape[axis]
    for k in range(1, lags + 1):
        if k >= n:
            out[:, k] = 0.0
            continue
        a = d[:, :-k, :] if axis == 1 else d[:, :, :-k]
        b = d[:, k:, :] if axis == 1 else d[:, :, k:]
        out[:, k] = (a * b).mean((1, 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        out[:, 1:] /= var[:, None]
    out[var == 0, 1:] = 0.0
    return out


def _crossing(acf: np.ndarray, level: float = math.exp(-1)) -> np.ndarray:
    """The first lag (linearly interpolated) where each row of ``acf`` falls below ``level``."""
    below = acf < level
    first = np.where(below.any(1), below.argmax(1), acf.shape[1] - 1)
    rows = np.arange(acf.shape[0])
    hi, lo = acf[rows, np.maximum(first - 1, 0)], acf[rows, first]
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.where(hi > lo, (hi - level) / (hi - lo), 0.0)
    return np.where(below.any(1), first - 1 + np.clip(frac, 0, 1), float(acf.shape[1] - 1))


def _border_lines(arr: np.ndarray) -> np.ndarray:
    """Number of all-zero rows and columns reaching in from each of the four edges, summed."""
    zero_rows = (arr == 0).all(2)  # [N, H]
    zero_cols = (arr == 0).all(1)  # [N, W]

    def run(mask: np.ndarray) -> np.ndarray:  # length of the all-true run from index 0
        return np.where(mask.all(1), mask.shape[1], mask.argmin(1))

    total = run(zero_rows) + run(zero_rows[:, ::-1]) + run(zero_cols) + run(zero_cols[:, ::-1])
    # an all-zero chip counts each line once
    return np.minimum(total, arr.shape[1] + arr.shape[2])


def chip_statistics(chips: ChipSet | np.ndarray | torch.Tensor, *, window: int = 5) -> dict[str, np.ndarray]:
    """Per-chip statistics of SAR magnitude chips (grey levels as stored), one array each.

    ``mean``, ``std``, ``median``, ``p01``/``p99`` (percentiles), ``skewness`` of the grey
    levels; ``zero_share`` (exactly-0 pixels) and ``zero_border_lines`` (all-zero rows and
    columns reaching in from the edges: zero padding); ``local_cv`` (mean over ``window`` x
    ``window`` windows of local std / local mean: the speckle's coefficient of variation);
    ``acf1_x``/``acf1_y`` (autocorrelation at one pixel along rows / columns) and
    ``acf_length`` (lags until the autocorrelation, averaged over both axes, falls below 1/e);
    ``roughness`` (mean absolute difference of neighbouring pixels over the std);
    ``peaks`` (3 x 3 local maxima brighter than mean + 2.5 std: bright scatterers),
    ``peak_contrast`` (the brightest pixel above the median, in stds) and ``dark_share``
    (pixels darker than mean - 1.5 std: shadow). A constant chip gets 0 for every ratio.
    """
    arr = as_pixel_array(chips).astype(np.float64)
    n = arr.shape[0]
    flat = arr.reshape(n, -1)
    mean = flat.mean(1)
    std = flat.std(1)
    safe = np.where(std > 0, std, 1.0)
    d = arr - mean[:, None, None]
    q = np.percentile(flat, [1, 50, 99], axis=1)
    skew = np.where(std > 0, (d.reshape(n, -1) ** 3).mean(1) / safe**3, 0.0)
    window = min(window, *arr.shape[1:])
    m = _box_mean(arr, window)
    m2 = _box_mean(arr * arr, window)
    local_sd = np.sqrt(np.clip(m2 - m * m, 0, None))
    local_cv = np.where(m > 0, local_sd / np.where(m > 0, m, 1.0), 0.0).reshape(n, -1).mean(1)
    acf_x, acf_y = _acf(d, 2, MAX_LAG), _acf(d, 1, MAX_LAG)
    length = _crossing((acf_x + acf_y) / 2)
    length = np.where(std > 0, length, 0.0)
    rough = (np.abs(np.diff(arr, axis=2)).mean((1, 2)) + np.abs(np.diff(arr, axis=1)).mean((1, 2))) / 2
    # 3 x 3 local maxima (plateaus count once per pixel) above mean + 2.5 std
    pad = np.pad(arr, ((0, 0), (1, 1), (1, 1)), constant_values=-np.inf)
    h, w = arr.shape[1:]
    neigh = np.max(np.stack([pad[:, 1 + dy:1 + dy + h, 1 + dx:1 + dx + w]
                             for dy in (-1, 0, 1) for dx in (-1, 0, 1) if dy or dx]), 0)
    is_peak = (arr >= neigh) & (arr > (mean + 2.5 * std)[:, None, None]) & (std > 0)[:, None, None]
    return {
        "mean": mean,
        "std": std,
        "median": q[1],
        "p01": q[0],
        "p99": q[2],
        "skewness": skew,
        "zero_share": (flat == 0).mean(1),
        "zero_border_lines": _border_lines(arr).astype(np.float64),
        "local_cv": local_cv,
        "acf1_x": acf_x[:, 1],
        "acf1_y": acf_y[:, 1],
        "acf_length": length,
        "roughness": np.where(std > 0, rough / safe, 0.0),
        "peaks": is_peak.reshape(n, -1).sum(1).astype(np.float64),
        "peak_contrast": np.where(std > 0, (flat.max(1) - q[1]) / safe, 0.0),
        "dark_share": np.where(std > 0, (flat < (mean - 1.5 * std)[:, None]).mean(1), 0.0),
    }


def statistics_matrix(stats: Mapping[str, np.ndarray]) -> np.ndarray:
    """The statistics as a feature matrix ``[N, len(STATISTICS)]`` (columns in that order)."""
    return np.stack([np.asarray(stats[k], dtype=np.float64) for k in STATISTICS], 1)


def grey_histogram(chips: ChipSet | np.ndarray | torch.Tensor) -> np.ndarray:
    """The pooled 256-bin histogram of grey levels (counts of 0..255) of all chips."""
    arr = as_pixel_array(chips)
    if arr.dtype != np.uint8:
        raise DataError(f"grey-level histograms need uint8 chips, got {arr.dtype}")
    return np.bincount(arr.reshape(-1), minlength=256).astype(np.int64)


def grey_level_distances(hist_a: np.ndarray, hist_b: np.ndarray) -> dict[str, float]:
    """Wasserstein-1 (in grey levels) and Kolmogorov-Smirnov distance between two histograms.

    Both come from scipy on the grey levels 0..255 weighted by the counts: the KS statistic
    is the largest gap between the two cumulative distributions (two-sample KS for ties).
    """
    from scipy.stats import wasserstein_distance

    a, b = np.asarray(hist_a, dtype=np.float64), np.asarray(hist_b, dtype=np.float64)
    if a.shape != (256,) or b.shape != (256,) or a.sum() <= 0 or b.sum() <= 0:
        raise DataError("grey-level histograms must be 256 non-negative counts with a positive total")
    levels = np.arange(256, dtype=np.float64)
    w1 = float(wasserstein_distance(levels, levels, a, b))
    ks = float(np.abs(np.cumsum(a) / a.sum() - np.cumsum(b) / b.sum()).max())
    return {"wasserstein1": w1, "ks": ks}


def per_statistic_ks(stats_a: Mapping[str, np.ndarray], stats_b: Mapping[str, np.ndarray]) -> dict[str, float]:
    """The two-sample KS statistic (scipy) between the two sets' distributions of each statistic."""
    from scipy.stats import ks_2samp

    return {k: float(ks_2samp(stats_a[k], stats_b[k]).statistic) for k in STATISTICS}


def _summary(values: np.ndarray) -> dict[str, float]:
    v = np.asarray(values, dtype=np.float64)
    p = np.percentile(v, [5, 50, 95])
    return {"mean": float(v.mean()), "std": float(v.std()), "p05": float(p[0]), "median": float(p[1]),
            "p95": float(p[2])}


@dataclass
class RealismReport:
    """Two chip sets compared: summaries, distances and discriminator AUCs (A = 0, B = 1).

    ``stats_a`` / ``stats_b`` (per-chip statistics) and ``hist_a`` / ``hist_b`` (pooled
    grey-level counts) are kept for figures but left out of :meth:`to_json`.
    """

    name_a: str
    name_b: str
    n_a: int
    n_b: int
    chip_size_a: tuple[int, int]
    chip_size_b: tuple[int, int]
    grey_wasserstein1: float
    grey_ks: float
    summary_a: dict[str, dict[str, float]]
    summary_b: dict[str, dict[str, float]]
    statistic_ks: dict[str, float]
    zero_border_chips_a: float
    zero_border_chips_b: float
    discriminators: dict[str, dict[str, Any]]
    synthetic_a: bool = False
    synthetic_b: bool = False
    stats_a: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    stats_b: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    hist_a: np.ndarray = field(default_factory=lambda: np.zeros(256, np.int64), repr=False)
    hist_b: np.ndarray = field(default_factory=lambda: np.zeros(256, np.int64), repr=False)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for k in ("stats_a", "stats_b", "hist_a", "hist_b"):
            out.pop(k)
        out["chip_size_a"], out["chip_size_b"] = list(self.chip_size_a), list(self.chip_size_b)
        return out

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    def table(self) -> list[list[str]]:
        """Rows ``[statistic, A (mean), B (mean), KS]`` for printing."""
        return [[k, f"{self.summary_a[k]['mean']:.3f}", f"{self.summary_b[k]['mean']:.3f}",
                 f"{self.statistic_ks[k]:.2f}"] for k in STATISTICS]


def compare_chipsets(a: ChipSet, b: ChipSet, *, name_a: str | None = None, name_b: str | None = None,
                     cnn: bool = True, cnn_epochs: int = 15, repeats: int = 3, max_chips: int | None = None,
                     seed: int = 0) -> RealismReport:
    """Compare chip sets ``a`` and ``b`` on every statistic, distance and discriminator.

    Statistics, histograms and distances use every chip; the discriminators use equally many
    chips of each set (the smaller set's size, at most ``max_chips``), drawn with ``seed``.
    ``cnn=False`` skips the CNN discriminator (its entry is then absent).
    """
    if not len(a) or not len(b):
        raise DataError(f"both chip sets need chips, got {len(a)} and {len(b)}")
    px_a, px_b = as_pixel_array(a), as_pixel_array(b)
    stats_a, stats_b = chip_statistics(px_a), chip_statistics(px_b)
    hist_a, hist_b = grey_histogram(px_a), grey_histogram(px_b)
    dist = grey_level_distances(hist_a, hist_b)
    pos_a, pos_b = equal_draw(len(a), len(b), max_chips, seed)
    fa, fb = statistics_matrix(stats_a)[pos_a], statistics_matrix(stats_b)[pos_b]
    disc = {m: statistics_discriminator(fa, fb, model=m, repeats=repeats, seed=seed) for m in ("logistic", "boosting")}
    if cnn:
        disc["cnn"] = cnn_discriminator(px_a[pos_a], px_b[pos_b], epochs=cnn_epochs, seed=seed)
    return RealismReport(
        name_a=name_a or a.source or "A", name_b=name_b or b.source or "B", n_a=len(a), n_b=len(b),
        chip_size_a=a.chip_size, chip_size_b=b.chip_size,
        grey_wasserstein1=dist["wasserstein1"], grey_ks=dist["ks"],
        summary_a={k: _summary(v) for k, v in stats_a.items()},
        summary_b={k: _summary(v) for k, v in stats_b.items()},
        statistic_ks=per_statistic_ks(stats_a, stats_b),
        zero_border_chips_a=float((stats_a["zero_border_lines"] > 0).mean()),
        zero_border_chips_b=float((stats_b["zero_border_lines"] > 0).mean()),
        discriminators=disc, synthetic_a=a.synthetic, synthetic_b=b.synthetic,
        stats_a=stats_a, stats_b=stats_b, hist_a=hist_a, hist_b=hist_b,
    )


def load_for_comparison(spec: str, *, size: int = 56, progress: bool = True) -> ChipSet:
    """The chips of a data spec, as compared: for ``synthetic[:options]`` the **balanced test
    set** (80 chips per class by default, as MAVOC's near-balanced test chips; change it with
    ``test_per_class=N``), for any other spec the chips it loads at ``size`` px."""
    from .sources import load, parse_spec
    from .sources.synthetic import make_synthetic, parse_synthetic_args

    kind, rest = parse_spec(spec)
    if kind == "synthetic":
        opts: dict[str, Any] = {"size": size, **parse_synthetic_args(rest)}
        if "scale" not in opts and "counts" not in opts:
            opts["scale"] = 0.0005  # the training set is not compared: make it small
        return make_synthetic(progress=progress, **opts)[1]  # type: ignore[arg-type]
    return load(spec, size=size, progress=progress)


def compare_specs(spec_a: str, spec_b: str, *, size: int = 56, cnn: bool = True, seed: int = 0,
                  progress: bool = True, **options: Any) -> tuple[RealismReport, ChipSet, ChipSet]:
    """Load two data specs (see :func:`load_for_comparison`) and compare them; returns the
    report and both chip sets (for figures)."""
    a = load_for_comparison(spec_a, size=size, progress=progress)
    b = load_for_comparison(spec_b, size=size, progress=progress)
    return compare_chipsets(a, b, name_a=spec_a, name_b=spec_b, cnn=cnn, seed=seed, **options), a, b


def format_report(report: RealismReport) -> str:
    """The report as plain text: distances, discriminator AUCs and the statistics table."""
    lines = [f"A: {report.name_a} ({report.n_a} chips{', synthetic' if report.synthetic_a else ''})",
             f"B: {report.name_b} ({report.n_b} chips{', synthetic' if report.synthetic_b else ''})",
             f"grey levels: Wasserstein-1 {report.grey_wasserstein1:.2f}, KS {report.grey_ks:.3f}",
             (f"chips with a zero-padded border: A {100 * report.zero_border_chips_a:.1f} %, "
              f"B {100 * report.zero_border_chips_b:.1f} %")]
    for name, d in report.discriminators.items():
        lines.append(f"discriminator {name:8s} ROC AUC {d['auc']:.3f} +- {d['auc_std']:.3f} "
                     f"({len(d['folds'])} held-out halves of {d['n_per_set']} chips per set; 0.5 = indistinguishable)")
    width = max(len(k) for k in STATISTICS)
    lines.append(f"{'statistic':{width}s}  {'A mean':>9s}  {'B mean':>9s}  KS")
    for row in report.table():
        lines.append(f"{row[0]:{width}s}  {row[1]:>9s}  {row[2]:>9s}  {row[3]}")
    return "\n".join(lines)

