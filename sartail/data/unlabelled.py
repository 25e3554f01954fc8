"""Unlabelled chips for self-supervised pre-training: parsed pools and the MSTAR-LT protocol pool.

A pool spec is ``KIND:PATH`` as for ``--data``: a folder of chips (``folder:PATH``, with or
without class folders), MAVOC's unlabelled test chips (``mavoc_test:PATH``), or any labelled
kind (``mstar:PATH``, ``mavoc:PATH``), whose labels are dropped. Every pool is checked before
training: it must hold chips, of the run's chip size, and must not be the run's labelled test
set (using the test chips as the pool, the transductive habit of some challenge entries, is
allowed only when asked for explicitly).

For MSTAR-LT, :func:`protocol_pool` gives the documented pool: the chips of the full set
outside the long-tailed training subset, its validation split and the test fold, labels dropped.
"""
from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from pathlib import Path

import torch

from ..errors import DataError
from .chipset import UNLABELLED, ChipSet
from .sources import data_kind, parse_spec
from .sources.files import chips_in, read_chips, require_dir

_IMAGE = re.compile(r".+\.(png|jpe?g|bmp|tiff?)", re.IGNORECASE)


def drop_labels(chips: ChipSet) -> ChipSet:
    """``chips`` with every label ``-1`` (a view: the pixels are shared)."""
    return dataclasses.replace(chips, labels=torch.full_like(chips.labels, UNLABELLED))


def _flat_folder(path: str, size: int) -> ChipSet:
    """The image files directly inside ``path`` (no class folders), unlabelled."""
    root = require_dir(path, "unlabelled chip")
    report: list[str] = []
    files = chips_in(root, root, UNLABELLED, _IMAGE, False, report)
    if not files:
        raise DataError(f"unlabelled pool folder:{root} holds no chips (no image files in it or in class folders)")
    return read_chips(files, ("unlabelled",), size, source=f"folder:{root}", report=report, progress=False)


def _spec_path(spec: str) -> Path | None:
    kind, path = parse_spec(spec)
    return Path(path).expanduser().resolve() if path and data_kind(spec)[0].on_disk else None


def _check_not_test(spec: str, pool: ChipSet, test_specs: Sequence[str]) -> None:
    mine = {p for p in (_spec_path(spec), _source_path(pool.source)) if p is not None}
    for test in test_specs:
        theirs = {p for p in (_spec_path(test),) if p is not None}
        if mine & theirs:
            raise DataError(f"unlabelled pool {spec!r} is the labelled test set {test!r}; pre-training on the test "
                            "chips must be asked for explicitly (transductive=True)")


def _source_path(source: str) -> Path | None:
    kind, sep, path = source.partition(":")
    return Path(path).resolve() if sep and path else None


def check_pool(pool: ChipSet, chip_size: tuple[int, int] | int, name: str = "the unlabelled pool") -> ChipSet:
    """``pool`` if it holds chips of ``chip_size``; else a one-line :class:`DataError`."""
    size = (chip_size, chip_size) if isinstance(chip_size, int) else tuple(chip_size)
    if len(pool) == 0:
        raise DataError(f"{name} holds no chips; pre-training needs at least one")
    if pool.chip_size != size:
        raise DataError(f"{name} has {pool.chip_size[0]}x{pool.chip_size[1]} px chips but the run's are "
                        f"{size[0]}x{size[1]} px; load it at the run's chip size")
    return pool


def load_unlabelled(spec: str, size: int, *, test_specs: Sequence[str] = (), transductive: bool = False) -> ChipSet:
    """The unlabelled chips of a pool spec ``KIND:PATH``, at the run's chip ``size`` (centre crop or pad).

    ``test_specs`` are the run's labelled test sets: a pool naming one of them is an error
    unless ``transductive``. Labels of a labelled kind are dropped.
    """
    kind, path = data_kind(spec)
    if not kind.on_disk:
        raise DataError(f"unlabelled pool {spec!r}: give chips on disk (folder:, mavoc_test:, mstar:, mavoc:)")
    root = Path(path).expanduser()
    if kind.name == "folder" and root.is_dir() and not any(p.is_dir() for p in root.iterdir()):
        pool = _flat_folder(path, size)
    else:
        try:
            pool = kind.load(path, size=size, progress=False)
        except DataError as e:
            raise DataError(f"unlabelled pool {spec!r}: {e}") from None
    if not transductive:
        _check_not_test(spec, pool, test_specs)
    return check_pool(drop_labels(pool), size, f"unlabelled pool {spec!r}")


def protocol_pool(full: ChipSet, used: Sequence[ChipSet]) -> ChipSet:
    """The chips of ``full`` that none of ``used`` holds (matched by chip id), labels dropped.

    For MSTAR-LT: ``full`` is every 17-degree chip and ``used`` the long-tailed training
    subset, its validation split and the test fold, so the pool is what the subset left out,
    with no chip of any test or validation fold.
    """
    taken = {i for chips in used for i in chips.chip_ids}
    keep = torch.tensor([i not in taken for i in full.chip_ids], dtype=torch.bool)
    pool = drop_labels(full.take(keep))
    if len(pool) == 0:
        raise DataError(f"the protocol pool of {full.source or 'these chips'} is empty: every chip is used for training, "
                        "validation or test")
    return pool
