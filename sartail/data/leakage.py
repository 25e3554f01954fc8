"""Leakage between chip sets: for every test chip, its most similar training chip.

Similarity is the normalised cross-correlation (NCC, the Pearson correlation of pixels) of
the test chip's centre crop with every training chip's crop at the same size, maximised over
small shifts (``shift`` px each way), so that a copy moved by a few pixels still scores near
1. A test chip whose best score reaches :data:`NEAR_DUPLICATE` has a near-duplicate in
training. On the 17-degree MSTAR chips (64 px, 3 px shifts) a chip's copy moved by 2 px with
noise of half its own contrast scores 0.91 or more, its nearest chip of another class at most
0.81 (0.78 at the 99th percentile), and its nearest other chip of the same class (a
neighbouring azimuth) 0.80 on average, 0.85 at the 95th percentile: the threshold counts
only pairs closer than any two chips of different classes and than 95 % of neighbouring looks
(benchmarks/history/2026-12-08-leakage.md).

>>> pixels = torch.randint(0, 256, (6, 1, 32, 32), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
>>> train = ChipSet.from_tensors(pixels, [0, 0, 0, 1, 1, 1], ["jeep", "tank"])
>>> leakage(train, train.take([0, 4])).share      # the test chips are training chips: both found
1.0
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from ..errors import DataError
from .chipset import ChipSet

#: The NCC from which a training chip counts as a near-duplicate of a test chip.
NEAR_DUPLICATE = 0.85
#: Shifts tried each way (px).
SHIFT = 3
_CHUNK_VALUES = 2_000_000  # training windows x pixels per matrix product (about 8 MB of floats per 1,000 queries)


def _standardise(x: torch.Tensor) -> torch.Tensor:
    """Rows of ``x`` with zero mean and unit norm (a flat row stays zero)."""
    x = x - x.mean(-1, keepdim=True)
    return x / x.norm(dim=-1, keepdim=True).clamp_min(1e-6)


def _centre(pixels: torch.Tensor, size: int) -> torch.Tensor:
    h, w = pixels.shape[-2:]
    if size > min(h, w):
        raise DataError(f"cannot cut {size} px crops from {h}x{w} chips")
    oy, ox = (h - size) // 2, (w - size) // 2
    return pixels[..., oy:oy + size, ox:ox + size].float()


def crop_size(a: ChipSet, b: ChipSet, shift: int = SHIFT) -> int:
    """The largest centre crop whose shifted copies stay inside the chips of both sets."""
    size = min(*a.chip_size, *b.chip_size) - 2 * shift
    if size < 8:
        raise DataError(f"chips of {a.chip_size} and {b.chip_size} px are too small for {shift} px shifts")
    return size


def queries(chips: ChipSet, size: int) -> torch.Tensor:
    """Standardised centre crops ``[N, size*size]`` of ``chips``."""
    return _standardise(_centre(chips.pixels(), size).reshape(len(chips), -1))


def _windows(pixels: torch.Tensor, size: int, shift: int) -> torch.Tensor:
    """Standardised ``size`` crops at every shift: ``[n * (2*shift+1)**2, size*size]``."""
    region = _centre(pixels, size + 2 * shift)
    cols = F.unfold(region, kernel_size=size)  # [n, size*size, shifts]
    return _standardise(cols.transpose(1, 2).reshape(-1, size * size))


def similarity(query: ChipSet, reference: ChipSet, *, shift: int = SHIFT, size: int | None = None,
               reduce: bool = True, progress: bool = False) -> tuple[torch.Tensor, torch.Tensor] | torch.Tensor:
    """Best NCC over shifts between every chip of ``query`` and of ``reference``.

    ``reduce=True`` returns ``(best score, index into reference)`` per query chip; ``False``
    returns the whole ``[len(query), len(reference)]`` matrix. The work is matrix products of
    standardised crops, chunked over ``reference`` (700 x 2,000 MSTAR chips: seconds on a core).
    """
    if not len(query) or not len(reference):
        raise DataError("leakage needs at least one chip on each side")
    size = crop_size(query, reference, shift) if size is None else int(size)
    q = queries(query, size)
    k = (2 * shift + 1) ** 2
    chunk = max(1, _CHUNK_VALUES // (k * size * size))
    best = torch.full((len(query),), -2.0)
    index = torch.zeros(len(query), dtype=torch.int64)
    parts = []
    for start in tqdm(range(0, len(reference), chunk), desc="similarity", disable=not progress, leave=False):
        w = _windows(reference.pixels(slice(start, start + chunk)), size, shift)
        s = (q @ w.T).reshape(len(query), -1, k).amax(-1)
        if not reduce:
            parts.append(s)
            continue
        v, i = s.max(1)
        better = v > best
        best = torch.where(better, v, best)
        index = torch.where(better, i + start, index)
    return torch.cat(parts, 1) if not reduce else (best, index)


@dataclass(frozen=True)
class Leakage:
    """The nearest training chip of every test chip, and the share that are near-duplicates.

    Attributes:
        score: ``float [N]`` best NCC of each test chip with any training chip.
        index: ``int64 [N]`` position of that training chip in the training set.
        labels: ``int64 [N]`` the test chips' labels; ``same_class``: whether the nearest chip shares it.
        class_names: the test set's class names.
        threshold: the near-duplicate threshold used; ``shift``, ``size``: the shifts (px) and crop searched.
        within_class: whether only training chips of the test chip's class were searched
            (``score`` is NaN for a test chip whose class has none).
    """

    score: torch.Tensor
    index: torch.Tensor
    labels: torch.Tensor
    same_class: torch.Tensor
    class_names: tuple[str, ...]
    threshold: float
    shift: int
    size: int
    within_class: bool = False

    @property
    def near(self) -> torch.Tensor:
        """``bool [N]``: the test chips with a near-duplicate in training."""
        return self.score >= self.threshold

    @property
    def share(self) -> float:
        """The share of test chips with a near-duplicate in training."""
        return float(self.near.float().mean()) if self.score.numel() else float("nan")

    def per_class(self) -> dict[str, float]:
        """The share of each class's test chips with a near-duplicate in training."""
        out = {}
        for c, name in enumerate(self.class_names):
            m = self.labels == c
            if m.any():
                out[name] = float(self.near[m].float().mean())
        return out

    def summary(self) -> dict[str, object]:
        """A JSON-ready record: share, threshold, mean and quantiles of the best scores, per class."""
        q = np.nanquantile(self.score.numpy(), [0.05, 0.5, 0.95]).tolist() if self.score.numel() else []
        return {"near_duplicate_share": round(self.share, 4), "threshold": self.threshold, "shift_px": self.shift,
                "crop_px": self.size, "searched": "same class" if self.within_class else "all classes",
                "test_chips": int(self.score.numel()), "mean_best_ncc": round(float(self.score.nanmean()), 4),
                "best_ncc_quantiles_5_50_95": [round(v, 4) for v in q],
                "nearest_same_class": round(float(self.same_class.float().mean()), 4),
                "per_class": {k: round(v, 4) for k, v in self.per_class().items()}}


def _within_class(train: ChipSet, test: ChipSet, shift: int, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    best = torch.full((len(test),), float("nan"))
    index = torch.zeros(len(test), dtype=torch.int64)
    for c, name in enumerate(test.class_names):
        mine = torch.nonzero(test.labels == c).reshape(-1)
        if not len(mine) or name not in train.class_names:
            continue
        theirs = torch.nonzero(train.labels == train.class_names.index(name)).reshape(-1)
        if len(theirs):
            b, i = similarity(test.take(mine), train.take(theirs), shift=shift, size=size)  # type: ignore[misc]
            best[mine], index[mine] = b, theirs[i]
    return best, index


def leakage(train: ChipSet, test: ChipSet, *, threshold: float = NEAR_DUPLICATE, shift: int = SHIFT,
            size: int | None = None, within_class: bool = False, progress: bool = False) -> Leakage:
    """For every chip of ``test`` its most similar chip of ``train`` (NCC over ``shift`` px shifts).

    ``within_class`` searches only the training chips of the test chip's class (matched by
    name; a tenth of the work for ten classes): on MSTAR the nearest chip is of the same class
    for 99.4 % of test chips, and no chip of another class comes near the threshold.
    """
    if not -1 <= threshold <= 1:
        raise DataError(f"the near-duplicate threshold is an NCC in [-1, 1], got {threshold}")
    size = crop_size(test, train, shift) if size is None else int(size)
    if within_class:
        best, index = _within_class(train, test, shift, size)
    else:
        best, index = similarity(test, train, shift=shift, size=size, progress=progress)  # type: ignore[misc]
    names = tuple(train.class_names)
    test_names = [test.class_names[int(c)] if c >= 0 else None for c in test.labels.tolist()]
    train_names = [names[int(c)] if c >= 0 else None for c in train.labels[index].tolist()]
    same = torch.tensor([a is not None and a == b for a, b in zip(test_names, train_names)], dtype=torch.bool)
    return Leakage(best, index, test.labels.clone(), same, tuple(test.class_names), float(threshold), shift, size,
                   within_class)


def shifted_copy(pixels: torch.Tensor, shift: tuple[int, int] = (2, 2), noise: float = 0.5,
                 seed: int = 0) -> torch.Tensor:
    """``uint8`` copies of chips moved by ``shift`` px (edge rows repeated) with Gaussian noise of
    ``noise`` times each chip's own pixel standard deviation: the near-duplicates to find."""
    g = torch.Generator().manual_seed(int(seed))
    dy, dx = shift
    x = pixels.float()
    h, w = x.shape[-2:]
    rows = (torch.arange(h) - dy).clamp(0, h - 1)
    cols = (torch.arange(w) - dx).clamp(0, w - 1)
    x = x[..., rows, :][..., cols]
    sd = x.flatten(1).std(1).reshape(-1, *([1] * (x.ndim - 1)))
    x = x + noise * sd * torch.randn(x.shape, generator=g)
    return x.round().clamp(0, 255).to(torch.uint8)


def self_copy_scores(chips: ChipSet, noise: float = 0.5, shift: int = SHIFT, seed: int = 0) -> torch.Tensor:
    """Each chip's NCC with its own copy moved by 2 px with ``noise`` (the score of a planted duplicate)."""
    pix = chips.pixels()
    copies = ChipSet.from_tensors(shifted_copy(pix, noise=noise, seed=seed), chips.labels, chips.class_names)
    size = crop_size(chips, chips, shift)
    q = queries(copies, size)
    k = (2 * shift + 1) ** 2
    out = torch.empty(len(chips))
    step = max(1, _CHUNK_VALUES // (k * size * size))
    for s in range(0, len(chips), step):
        w = _windows(pix[s:s + step], size, shift).reshape(-1, k, size * size)
        out[s:s + step] = torch.einsum("nd,nkd->nk", q[s:s + step], w).amax(1)
    return out


def nearest_other(chips: ChipSet, *, same_class: bool = True, shift: int = SHIFT, size: int | None = None,
                  progress: bool = False) -> torch.Tensor:
    """Each chip's best NCC with another chip of the set: of its own class (``same_class``) or of any other."""
    out = torch.full((len(chips),), float("nan"))
    for c in range(chips.num_classes):
        mine = torch.nonzero(chips.labels == c).reshape(-1)
        others = mine if same_class else torch.nonzero(chips.labels != c).reshape(-1)
        if len(mine) < (2 if same_class else 1) or not len(others):
            continue
        s = similarity(chips.take(mine), chips.take(others), shift=shift, size=size, reduce=False, progress=progress)
        assert isinstance(s, torch.Tensor)
        if same_class:
            s.fill_diagonal_(-2.0)
        out[mine] = s.amax(1)
    return out


__all__ = ["NEAR_DUPLICATE", "SHIFT", "Leakage", "crop_size", "leakage", "nearest_other", "queries",
           "self_copy_scores", "shifted_copy", "similarity"]
