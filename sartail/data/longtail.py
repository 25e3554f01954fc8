"""Long-tail tools: target profiles, seeded subsets, class maps and stratified splits.

>>> exponential_counts([100] * 5, ratio=10)
[100, 56, 32, 18, 10]
>>> step_counts([100] * 4, ratio=10, head_fraction=0.5)
[100, 100, 10, 10]
"""
from __future__ import annotations

from collections.abc import Sequence

import torch

from ..errors import DataError, suggest
from .chipset import ChipSet
from .classes import MAVOC_TRAIN_COUNTS

PROFILES = ("exp", "step", "mavoc", "counts")


def _check_ratio(ratio: float) -> float:
    ratio = float(ratio)
    if not ratio >= 1:
        raise DataError(f"imbalance ratio must be >= 1, got {ratio!r}")
    return ratio


def exponential_counts(available: Sequence[int], ratio: float) -> list[int]:
    """Cao et al.'s exponential profile: class ``i`` keeps ``n_max * ratio**(-i / (C - 1))``.

    ``n_max`` is the smallest class's size, so every target can be met; classes are taken
    in the given order (class 0 the head).
    """
    ratio = _check_ratio(ratio)
    c = len(available)
    n_max = min(available)
    if c == 1:
        return [n_max]
    return [max(1, int(round(n_max * ratio ** (-i / (c - 1))))) for i in range(c)]


def step_counts(available: Sequence[int], ratio: float, head_fraction: float = 0.5) -> list[int]:
    """A step profile: the first ``head_fraction`` of classes keep ``n_max``, the rest ``n_max / ratio``."""
    ratio = _check_ratio(ratio)
    if not 0 < head_fraction < 1:
        raise DataError(f"head_fraction must lie in (0, 1), got {head_fraction!r}")
    c = len(available)
    n_max = min(available)
    n_head = max(1, int(round(c * head_fraction)))
    return [n_max if i < n_head else max(1, int(round(n_max / ratio))) for i in range(c)]


def mavoc_shaped_counts(available: Sequence[int], ratio: float | None = None) -> list[int]:
    """MAVOC's class proportions (234,209 sedans to 633 flatbeds with trailer), scaled to fit.

    The largest count that every class can supply sets the scale. ``ratio`` optionally
    rescales the head-to-tail ratio (MAVOC's own is about 375) on a log scale.
    """
    c = len(available)
    ref = list(MAVOC_TRAIN_COUNTS)
    if c != len(ref):
        # stretch MAVOC's sorted profile over c classes, in log space
        import numpy as np

        xs = np.linspace(0, len(ref) - 1, c)
        ref = list(np.exp(np.interp(xs, range(len(ref)), np.log(sorted(ref, reverse=True)))))
    top = max(ref)
    shape = [r / top for r in ref]
    if ratio is not None:
        ratio = _check_ratio(ratio)
        native = top / min(ref)
        power = 0.0 if native == 1 else (torch.log(torch.tensor(ratio)) / torch.log(torch.tensor(native))).item()
        shape = [s**power for s in shape]
    scale = min(a / s for a, s in zip(available, shape))
    return [max(1, int(round(s * scale))) for s in shape]


def profile_counts(available: Sequence[int], profile: str, ratio: float | None = None,
                   counts: Sequence[int] | None = None, head_fraction: float = 0.5) -> list[int]:
    """Target chips per class for ``profile`` (``exp``, ``step``, ``mavoc`` or ``counts``)."""
    if profile == "exp":
        return exponential_counts(available, 100 if ratio is None else ratio)
    if profile == "step":
        return step_counts(available, 10 if ratio is None else ratio, head_fraction)
    if profile == "mavoc":
        return mavoc_shaped_counts(available, ratio)
    if profile == "counts":
        if counts is None or len(counts) != len(available):
            raise DataError(f"profile 'counts' needs {len(available)} explicit counts, got {counts!r}")
        return [int(c) for c in counts]
    raise DataError(f"unknown long-tail profile {profile!r}; use one of {PROFILES}.{suggest(profile, PROFILES)}")


def subset_counts(chips: ChipSet, counts: Sequence[int], seed: int = 0) -> ChipSet:
    """A seeded view with ``counts[c]`` chips drawn without replacement from each class ``c``."""
    have = chips.class_counts().tolist()
    if len(counts) != len(have):
        raise DataError(f"{len(counts)} counts given for {len(have)} classes")
    for name, want, n in zip(chips.class_names, counts, have):
        if want < 0 or want > n:
            raise DataError(f"class {name!r}: cannot draw {want} chips from the {n} there are")
    g = torch.Generator().manual_seed(int(seed))
    picked = []
    for c, want in enumerate(counts):
        pos = torch.nonzero(chips.labels == c).reshape(-1)
        picked.append(pos[torch.randperm(pos.numel(), generator=g)[: int(want)]])
    order = torch.cat(picked).sort().values
    return chips.take(order)


def long_tailed(chips: ChipSet, profile: str = "exp", ratio: float | None = None, *, seed: int = 0,
                counts: Sequence[int] | None = None, head_fraction: float = 0.5) -> ChipSet:
    """A seeded long-tailed view of ``chips`` following ``profile`` (class 0 is the head)."""
    target = profile_counts(chips.class_counts().tolist(), profile, ratio, counts, head_fraction)
    return subset_counts(chips, target, seed)


def imbalance_ratio(counts: Sequence[int] | torch.Tensor) -> float:
    """Largest over smallest non-zero class count."""
    c = [int(x) for x in (counts.tolist() if isinstance(counts, torch.Tensor) else counts) if int(x) > 0]
    return max(c) / min(c) if c else float("nan")


def stratified_split(chips: ChipSet, fraction: float, seed: int = 0) -> tuple[ChipSet, ChipSet]:
    """Split into ``(rest, held_out)`` with about ``fraction`` of every class held out.

    Every class with at least two chips keeps at least one chip on each side; a class with
    a single chip stays in ``rest``. Deterministic by ``seed``.
    """
    if not 0 < fraction < 1:
        raise DataError(f"split fraction must lie in (0, 1), got {fraction!r}")
    g = torch.Generator().manual_seed(int(seed))
    rest, held = [], []
    for c in range(chips.num_classes):
        pos = torch.nonzero(chips.labels == c).reshape(-1)
        pos = pos[torch.randperm(pos.numel(), generator=g)]
        n = pos.numel()
        k = int(round(n * fraction))
        if n >= 2:
            k = min(max(k, 1), n - 1)
        else:
            k = 0
        held.append(pos[:k])
        rest.append(pos[k:])
    return chips.take(torch.cat(rest).sort().values), chips.take(torch.cat(held).sort().values)
