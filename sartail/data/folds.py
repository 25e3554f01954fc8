"""Held-out folds that keep similar chips on one side: ``random``, ``sector``, ``aspect`` and ``grouped`` splits.

A stratified random fold of MSTAR puts a chip's neighbouring azimuth (its nearest chip, NCC
0.80 on average) on the other side for nearly every test chip, so it scores a change of
pose of about a degree. The other two splits hold out whole regions of each class:

- ``random``: :func:`~.longtail.stratified_split`, about ``fraction`` of every class at random.
- ``sector``: contiguous aspect sectors. MSTAR's file numbers follow the collection order
  (consecutive chips are neighbouring azimuths), so within each class the chips, sorted by
  the number in their file name (ties: by name), are cut into ``3 * n_folds`` contiguous
  blocks (block of rank ``r`` = ``r * n_sectors // n``); the blocks are permuted with
  ``numpy.random.default_rng(seed)`` (one permutation per class, classes in sorted name order)
  and the block at position ``p`` goes to fold ``p % n_folds``. A class whose chip names
  carry no number keeps the order its chips were loaded in (the split's note says so).
- ``aspect``: contiguous sectors of the aspect circle. MSTAR's file order sweeps the circle
  several times (a chip's most similar chip sits about one sweep, ~61 ranks, away, not beside
  it), so file-order blocks keep every held-out aspect in training from the other sweeps.
  Within each class the sweep period is the most common rank offset between a chip and its
  most similar chip (:func:`sweep_period`); a chip's position on the circle is
  ``(rank % period) / period``, the circle is cut into ``3 * n_folds`` equal arcs, and the arcs
  are dealt to folds as the ``sector`` blocks are. A class without a sweep structure is one
  sweep (its whole order), which makes ``aspect`` the ``sector`` rule.
- ``grouped``: connected components of the near-duplicate graph of each class (two chips are
  linked when their NCC reaches :data:`~.leakage.NEAR_DUPLICATE`) dealt whole to the folds,
  in a seeded order, each to the fold with the fewest chips so far.

``n_folds`` is the integer nearest to ``1 / fraction`` (4 for a 25 % test fold, 10 for a 10 % validation
split) and fold 0 is held out.
"""
from __future__ import annotations

import re
from pathlib import PurePosixPath

import numpy as np
import torch
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

from ..config.schema import SPLITS
from ..errors import DataError, suggest
from .chipset import ChipSet
from .leakage import NEAR_DUPLICATE, similarity
from .longtail import stratified_split

#: Contiguous blocks per fold of a ``sector`` split (12 blocks for four folds).
SECTORS_PER_FOLD = 3
#: The least share of a class's most similar chips within 2 ranks of the period for the sweeps to count.
SWEEP_SUPPORT = 0.2
#: The most chips of one class a ``grouped`` split compares pairwise.
GROUPED_MAX_CLASS = 5_000


def file_number(chip_id: str) -> int:
    """The last integer in a chip's file name (``2S1/hb19377.jpeg`` -> 19377; ``-1`` if none)."""
    digits = re.findall(r"\d+", PurePosixPath(chip_id).stem)
    return int(digits[-1]) if digits else -1


def fold_count(fraction: float) -> int:
    """The number of folds of which one holds about ``fraction`` of the chips."""
    if not 0 < fraction < 1:
        raise DataError(f"split fraction must lie in (0, 1), got {fraction!r}")
    return max(2, int(round(1 / fraction)))


def _classes(chips: ChipSet) -> list[int]:
    return sorted(range(chips.num_classes), key=lambda c: chips.class_names[c])


def _too_few(chips: ChipSet, c: int, units: int, what: str, n_folds: int) -> DataError:
    n = int((chips.labels == c).sum())
    return DataError(f"class {chips.class_names[c]!r}: its {n} chips make {units} {what}, fewer than the {n_folds} "
                     "folds asked for; use a larger split fraction, data.split=random, or drop the class")


def _folds_for(chips: ChipSet, c: int, units: int, what: str, n_folds: int, strict: bool) -> int:
    """The folds a class's ``units`` are dealt to (fewer than ``n_folds`` only when not ``strict``)."""
    if units >= n_folds:
        return n_folds
    if strict:
        raise _too_few(chips, c, units, what, n_folds)
    return units  # one unit held out (none for a class of one unit), as a stratified split keeps one chip each side


def sector_folds(chips: ChipSet, n_folds: int, seed: int = 0, *, strict: bool = True) -> np.ndarray:
    """The fold of every chip of a ``sector`` split (see the module's docstring)."""
    ids = chips.chip_ids
    labels = chips.labels.numpy()
    rng = np.random.default_rng(seed)
    fold = np.full(len(chips), -1, dtype=np.int64)
    for c in _classes(chips):
        pos = np.flatnonzero(labels == c).tolist()
        if not pos:
            continue
        if any(file_number(ids[p]) >= 0 for p in pos):  # else: the sample order
            pos.sort(key=lambda p: (file_number(ids[p]), PurePosixPath(ids[p]).name))
        n_sectors = min(SECTORS_PER_FOLD * n_folds, len(pos))  # a class smaller than that: one chip a sector
        k = _folds_for(chips, c, n_sectors, "sectors", n_folds, strict)
        block_fold = np.empty(n_sectors, dtype=np.int64)
        block_fold[rng.permutation(n_sectors)] = np.arange(n_sectors) % max(k, 1)
        if k < 2:
            block_fold[:] = 1
        fold[pos] = block_fold[np.arange(len(pos)) * n_sectors // len(pos)]
    return fold


def _file_order(chips: ChipSet, c: int) -> list[int]:
    """The positions of class ``c``'s chips in file-number order (ties: by name; no numbers: sample order)."""
    ids = chips.chip_ids
    pos = np.flatnonzero(chips.labels.numpy() == c).tolist()
    if any(file_number(ids[p]) >= 0 for p in pos):
        pos.sort(key=lambda p: (file_number(ids[p]), PurePosixPath(ids[p]).name))
    return pos


def sweep_period(chips: ChipSet) -> int:
    """The period, in ranks, with which the order of ``chips`` (one class, in file order) sweeps the aspect circle.

    The most common rank offset, between ``len / 12`` and ``len / 2``, from a chip to its most
    similar other chip; ``len(chips)`` (one sweep) unless at least :data:`SWEEP_SUPPORT` of the
    chips, and three times the share chance would put there, have their most similar chip
    within 2 ranks of that offset.
    """
    n = len(chips)
    if n < 24:
        return max(n, 1)
    s = similarity(chips, chips, reduce=False)
    assert isinstance(s, torch.Tensor)
    s.fill_diagonal_(-2.0)
    off = (s.argmax(1) - torch.arange(n)).abs().numpy()
    lo, hi = n // 12, n // 2
    counts = np.bincount(off, minlength=n)
    if counts[lo:hi + 1].sum() == 0:
        return n
    period = lo + int(np.argmax(counts[lo:hi + 1]))
    window = counts[max(period - 2, 0):period + 3].sum()
    chance = 5 * counts[lo:hi + 1].mean()  # a 5-rank window's share if offsets in range were spread evenly
    return period if window >= max(SWEEP_SUPPORT * n, 3 * chance) else n


def aspect_folds(chips: ChipSet, n_folds: int, seed: int = 0, *, strict: bool = True) -> np.ndarray:
    """The fold of every chip of an ``aspect`` split (see the module's docstring)."""
    rng = np.random.default_rng(seed)
    fold = np.full(len(chips), -1, dtype=np.int64)
    for c in _classes(chips):
        pos = _file_order(chips, c)
        if not pos:
            continue
        period = sweep_period(chips.take(torch.as_tensor(pos)))
        n_sectors = min(SECTORS_PER_FOLD * n_folds, period)
        k = _folds_for(chips, c, n_sectors, "aspect sectors", n_folds, strict)
        arc_fold = np.empty(n_sectors, dtype=np.int64)
        arc_fold[rng.permutation(n_sectors)] = np.arange(n_sectors) % max(k, 1)
        if k < 2:
            arc_fold[:] = 1
        fold[pos] = arc_fold[(np.arange(len(pos)) % period) * n_sectors // period]
    return fold


def near_duplicate_groups(chips: ChipSet, threshold: float = NEAR_DUPLICATE, *, progress: bool = False) -> np.ndarray:
    """The group of every chip: connected components of the graph linking chips of one class whose NCC
    reaches ``threshold`` (numbered class by class, each group by its first chip)."""
    labels = chips.labels.numpy()
    group = np.full(len(chips), -1, dtype=np.int64)
    start = 0
    for c in range(chips.num_classes):
        pos = np.flatnonzero(labels == c)
        if len(pos) > GROUPED_MAX_CLASS:
            raise DataError(f"class {chips.class_names[c]!r} has {len(pos):,} chips: a grouped split compares every "
                            f"pair of a class (at most {GROUPED_MAX_CLASS:,}); use data.split=sector")
        if not len(pos):
            continue
        s = similarity(chips.take(torch.as_tensor(pos)), chips.take(torch.as_tensor(pos)), reduce=False,
                       progress=progress)
        assert isinstance(s, torch.Tensor)
        linked = torch.maximum(s, s.T) >= threshold
        n, comp = connected_components(csr_matrix(linked.numpy()), directed=False)
        group[pos] = comp + start
        start += n
    return group


def grouped_folds(chips: ChipSet, n_folds: int, seed: int = 0, *, strict: bool = True,
                  threshold: float = NEAR_DUPLICATE, progress: bool = False) -> np.ndarray:
    """The fold of every chip of a ``grouped`` split (see the module's docstring)."""
    group = near_duplicate_groups(chips, threshold, progress=progress)
    labels = chips.labels.numpy()
    rng = np.random.default_rng(seed)
    fold = np.full(len(chips), -1, dtype=np.int64)
    for c in _classes(chips):
        pos = np.flatnonzero(labels == c)
        if not len(pos):
            continue
        groups = np.unique(group[pos])
        k = _folds_for(chips, c, len(groups), "near-duplicate groups", n_folds, strict)
        if k < 2:
            fold[pos] = 1
            continue
        filled = np.zeros(k, dtype=np.int64)
        for g in groups[rng.permutation(len(groups))]:
            members = pos[group[pos] == g]
            f = int(np.argmin(filled))
            fold[members] = f
            filled[f] += len(members)
    return fold


def split_note(chips: ChipSet, split: str) -> str:
    """How a split of ``chips`` was made, in words (for results and reports)."""
    if split == "random":
        return "random: stratified random fold"
    if split == "grouped":
        return f"grouped: near-duplicate groups (NCC >= {NEAR_DUPLICATE}) kept on one side"
    if split == "aspect":
        return (f"aspect: {SECTORS_PER_FOLD} arcs of the aspect circle per fold, each chip placed by its rank within "
                "a sweep of its class's file order")
    numbered = sum(file_number(i) >= 0 for i in chips.chip_ids)
    order = ("the number in the file name" if numbered == len(chips) else
             "sample order (the chip names carry no number)" if numbered == 0 else
             f"the number in the file name ({len(chips) - numbered} chips without one come first)")
    return f"sector: {SECTORS_PER_FOLD} contiguous blocks per fold, in each class ordered by {order}"


def fold_split(chips: ChipSet, split: str, fraction: float, seed: int = 0, *, strict: bool = True,
               progress: bool = False) -> tuple[ChipSet, ChipSet]:
    """Split ``chips`` into ``(rest, held_out)`` with the ``split`` rule, about ``fraction`` of each class held out.

    ``random`` is :func:`~.longtail.stratified_split` itself. For ``sector``, ``aspect`` and ``grouped``,
    ``strict`` raises :class:`DataError` naming a class with fewer sectors or groups than
    folds; otherwise such a class holds out one of them (none if it has only one).
    """
    if split not in SPLITS:
        raise DataError(f"unknown split {split!r}; use one of {list(SPLITS)}.{suggest(split, SPLITS)}")
    if split == "random":
        return stratified_split(chips, fraction, seed=seed)
    n_folds = fold_count(fraction)
    if split == "sector":
        fold = sector_folds(chips, n_folds, seed, strict=strict)
    elif split == "aspect":
        fold = aspect_folds(chips, n_folds, seed, strict=strict)
    else:
        fold = grouped_folds(chips, n_folds, seed, strict=strict, progress=progress)
    held = torch.as_tensor(fold == 0)
    return chips.take(~held), chips.take(held)


__all__ = ["GROUPED_MAX_CLASS", "SECTORS_PER_FOLD", "SPLITS", "SWEEP_SUPPORT", "aspect_folds", "file_number", "fold_count", "fold_split",
           "grouped_folds", "near_duplicate_groups", "sector_folds", "split_note", "sweep_period"]
