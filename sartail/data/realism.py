"""How much two chip sets look alike: per-chip SAR statistics, distances and discriminators.

Used to measure how realistic the embedded synthetic chips are against real ones (MAVOC's
826 test chips), but any two chip sets can be compared:

- :func:`chip_statistics`: one row of statistics per chip that characterise SAR magnitude
  chips (brightness, spread, exactly-zero pixels and zero-padded border lines, the local
  coefficient of variation of the speckle, the spatial autocorrelation, bright scatterers);
- :func:`grey_level_distances`: Wasserstein-1 and Kolmogorov-Smirnov distances between the
  two sets' pooled grey-level histograms;
- :func:`statistics_discriminator`: a logistic regression or gradient boosting on the
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

#: The per-chip statistics, in the order of :func:`chip_statistics`'s columns.
STATISTICS: tuple[str, ...] = (
    "mean", "std", "median", "p01", "p99", "skewness", "zero_share", "zero_border_lines", "local_cv",
    "acf1_x", "acf1_y", "acf_length", "roughness", "peaks", "peak_contrast", "dark_share",
)
#: Lags (pixels) over which the autocorrelation length is looked for.
MAX_LAG = 12


def _as_array(chips: ChipSet | np.ndarray | torch.Tensor) -> np.ndarray:
    """``uint8``/float pixels ``[N, H, W]`` of a chip set, tensor or array."""
    if isinstance(chips, ChipSet):
        arr = chips.pixels().numpy()
    elif isinstance(chips, torch.Tensor):
        arr = chips.numpy()
    else:
        arr = np.asarray(chips)
    if arr.ndim == 4:
        if arr.shape[1] != 1:
            raise DataError(f"chips must have one channel, got shape {arr.shape}")
        arr = arr[:, 0]
    if arr.ndim != 3 or min(arr.shape[1:]) < 4:
        raise DataError(f"chips must be [N, H, W] (or [N, 1, H, W]) of at least 4 x 4 px, got shape {arr.shape}")
    return arr


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
    arr = _as_array(chips).astype(np.float64)
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
    arr = _as_array(chips)
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


def _balanced_halves(n: int, repeats: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """``repeats`` x 2 (train, test) splits of ``2 n`` samples (``n`` of each set): each
    half holds half of each set; every split is used both ways."""
    from sklearn.model_selection import RepeatedStratifiedKFold

    y = np.r_[np.zeros(n), np.ones(n)]
    cv = RepeatedStratifiedKFold(n_splits=2, n_repeats=repeats, random_state=seed)
    return list(cv.split(np.zeros((2 * n, 1)), y))


def _equal_draw(n_a: int, n_b: int, max_chips: int | None, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Positions of an equal number of chips of each set (the smaller set's size, at most ``max_chips``)."""
    n = min(n_a, n_b, max_chips or n_a)
    if n < 4:
        raise DataError(f"at least 4 chips of each set are needed to compare them, got {n_a} and {n_b}")
    g = np.random.default_rng(seed)
    return np.sort(g.choice(n_a, n, replace=False)), np.sort(g.choice(n_b, n, replace=False))


def statistics_discriminator(features_a: np.ndarray, features_b: np.ndarray, *, model: str = "logistic",
                             repeats: int = 3, seed: int = 0) -> dict[str, Any]:
    """ROC AUC of a classifier telling set A (label 0) from set B (label 1) by per-chip features.

    The sets must hold equally many rows. Every split trains on half of each set and tests on
    the other half (and the other way round), ``repeats`` times: the AUC reported is the mean
    over those ``2 x repeats`` held-out halves. ``model`` is ``"logistic"`` (standardised
    logistic regression) or ``"boosting"`` (histogram gradient boosting). Non-finite features
    are set to 0.
    """
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    a, b = np.asarray(features_a, dtype=np.float64), np.asarray(features_b, dtype=np.float64)
    if a.ndim != 2 or a.shape != b.shape:
        raise DataError(f"two feature matrices of one shape [n, k] are needed, got {a.shape} and {b.shape}")
    if model not in ("logistic", "boosting"):
        raise DataError(f"model must be 'logistic' or 'boosting', got {model!r}")
    x = np.nan_to_num(np.concatenate([a, b]), nan=0.0, posinf=0.0, neginf=0.0)
    y = np.r_[np.zeros(len(a)), np.ones(len(b))]
    aucs = []
    for train, test in _balanced_halves(len(a), repeats, seed):
        if model == "logistic":
            clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000))
        else:
            clf = HistGradientBoostingClassifier(max_iter=200, learning_rate=0.1, random_state=seed)
        clf.fit(x[train], y[train])
        aucs.append(float(roc_auc_score(y[test], clf.predict_proba(x[test])[:, 1])))
    return {"model": model, "auc": float(np.mean(aucs)), "auc_std": float(np.std(aucs)), "folds": aucs,
            "n_per_set": len(a)}


class _SmallCNN(torch.nn.Module):
    """Three conv blocks and a linear read-out of the mean- and max-pooled features."""

    def __init__(self, width: int = 16) -> None:
        super().__init__()
        w = width
        self.body = torch.nn.Sequential(
            torch.nn.Conv2d(1, w, 3, padding=1), torch.nn.BatchNorm2d(w), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
            torch.nn.Conv2d(w, 2 * w, 3, padding=1), torch.nn.BatchNorm2d(2 * w), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
            torch.nn.Conv2d(2 * w, 2 * w, 3, padding=1), torch.nn.BatchNorm2d(2 * w), torch.nn.ReLU(),
        )
        self.head = torch.nn.Linear(4 * w, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = self.body(x)
        return self.head(torch.cat([f.mean((2, 3)), f.amax((2, 3))], 1)).squeeze(1)


def _centre_crop(arr: np.ndarray, h: int, w: int) -> np.ndarray:
    top, left = (arr.shape[1] - h) // 2, (arr.shape[2] - w) // 2
    return arr[:, top:top + h, left:left + w]


def cnn_discriminator(chips_a: ChipSet | np.ndarray | torch.Tensor, chips_b: ChipSet | np.ndarray | torch.Tensor, *,
                      epochs: int = 15, repeats: int = 1, seed: int = 0, width: int = 16) -> dict[str, Any]:
    """ROC AUC of a small CNN telling chips A (label 0) from chips B (label 1), pixels in.

    Equally many chips of each set; the halves are the same kind of split as
    :func:`statistics_discriminator`'s (train on half of each set, test on the other half,
    both ways, ``repeats`` times). Grey levels go in as they are (scaled to 0..1), so
    brightness counts; training flips and rotates the chips by multiples of 90 degrees.
    Chips of two sizes are centre-cropped to the smaller one. Runs on the CPU.
    """
    from sklearn.metrics import roc_auc_score

    a, b = _as_array(chips_a), _as_array(chips_b)
    if len(a) != len(b):
        raise DataError(f"the CNN discriminator needs equally many chips of each set, got {len(a)} and {len(b)}")
    h, w = min(a.shape[1], b.shape[1]), min(a.shape[2], b.shape[2])
    x = torch.from_numpy(np.concatenate([_centre_crop(a, h, w), _centre_crop(b, h, w)]).astype(np.float32) / 255.0)
    x = x.unsqueeze(1)
    y = torch.cat([torch.zeros(len(a)), torch.ones(len(b))])
    aucs = []
    for split, (train, test) in enumerate(_balanced_halves(len(a), repeats, seed)):
        g = torch.Generator().manual_seed(seed * 1000 + split)
        torch.manual_seed(seed * 1000 + split)
        net = _SmallCNN(width)
        opt = torch.optim.AdamW(net.parameters(), lr=3e-3, weight_decay=1e-4)
        steps = epochs * math.ceil(len(train) / 64)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps)
        tr = torch.from_numpy(train)
        net.train()
        for _ in range(epochs):
            order = tr[torch.randperm(len(tr), generator=g)]
            for start in range(0, len(order), 64):
                idx = order[start:start + 64]
                xb = x[idx]
                if torch.rand(1, generator=g) < 0.5:
                    xb = xb.flip(3)
                xb = torch.rot90(xb, int(torch.randint(0, 4, (1,), generator=g)), (2, 3))
                loss = torch.nn.functional.binary_cross_entropy_with_logits(net(xb), y[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
                sched.step()
        net.eval()
        with torch.no_grad():
            scores = torch.cat([net(x[torch.from_numpy(test[i:i + 256])]) for i in range(0, len(test), 256)])
        aucs.append(float(roc_auc_score(y[test].numpy(), scores.numpy())))
    return {"model": "cnn", "auc": float(np.mean(aucs)), "auc_std": float(np.std(aucs)), "folds": aucs,
            "n_per_set": len(a), "epochs": epochs}


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
    px_a, px_b = _as_array(a), _as_array(b)
    stats_a, stats_b = chip_statistics(px_a), chip_statistics(px_b)
    hist_a, hist_b = grey_histogram(px_a), grey_histogram(px_b)
    dist = grey_level_distances(hist_a, hist_b)
    pos_a, pos_b = _equal_draw(len(a), len(b), max_chips, seed)
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

