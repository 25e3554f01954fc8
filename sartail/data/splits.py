"""The training, validation and test chips of a run, and the view of them a stage sees."""
from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from ..config import DataConfig, RunConfig, StageConfig
from ..errors import DataError
from .chipset import ChipSet
from .folds import fold_split, split_note
from .leakage import SHIFT, leakage
from .longtail import long_tailed
from .sources import data_kind, load
from .unlabelled import load_unlabelled, protocol_pool

#: The most test x training chip pairs a run compares to measure its test set's leakage.
LEAKAGE_PAIRS = 2_000_000


@dataclass(frozen=True)
class Splits:
    """Training, validation and test chips of a run (views sharing pixels where they can)."""

    train: ChipSet
    val: ChipSet
    test: ChipSet
    unlabelled: ChipSet | None = None  #: extra chips for the ``pretrain`` stages, labels dropped
    protocol: dict[str, Any] = field(default_factory=dict)  #: the split's kind and note, the test set's leakage

    def summary(self, stages: Sequence[StageConfig] | None = None) -> dict[str, Any]:
        """What the chips are; the unlabelled pool is named when one of ``stages`` (default: any) pre-trains on it."""
        used = self.unlabelled is not None and (stages is None or any(s.kind == "pretrain" for s in stages))
        pool = {"unlabelled_pool": self.unlabelled.source or "given chips", "unlabelled_chips": len(self.unlabelled)} \
            if used and self.unlabelled is not None else {}
        return {**self.protocol,
            "classes": list(self.train.class_names),
            "train_counts": self.train.class_counts().tolist(),
            "val_counts": self.val.class_counts().tolist(),
            "test_counts": self.test.class_counts().tolist(),
            "chip_size": list(self.train.chip_size),
            "source": self.train.source,
            "synthetic": self.train.synthetic,
            **pool,
        }


def prepare_data(cfg: RunConfig, *, progress: bool = True) -> Splits:
    """Load or generate the chips of ``cfg.data`` and make the train / val / test splits.

    The test set is the given ``data.test``, the synthetic balanced test set, or a
    ``test_fraction`` fold cut by ``data.split`` out of ``data.train`` before any long-tail
    subset (``split_seed``, fixed across run seeds), so long-tailed subsets draw only from the
    training side. The long-tail subset and the validation split (by ``data.split`` too)
    follow the run's seed. ``Splits.protocol`` records the split and the share of test chips
    with a near-duplicate on the training side, validation chips included (:func:`measure_leakage`).
    """
    d = cfg.data
    kind, path = data_kind(d.train)
    subset_seed = cfg.seed if d.subset_seed is None else d.subset_seed
    train, test = kind.splits(path, dataclasses.replace(d, size=d.load_size) if d.load_size else d, subset_seed, progress)
    if d.test:
        test = load(d.test, size=train.chip_size[0], skip_bad=d.skip_bad, progress=progress)
        if not test.labelled:
            raise DataError(f"{d.test}: the test chips have no labels, so they cannot be scored; "
                            "use them with `sartail predict`")
        test = test.relabel(train.class_names)
    assert test is not None
    full = train
    if d.profile:
        train = long_tailed(train, d.profile, d.ratio, seed=subset_seed, counts=d.counts)
    if train.num_classes < 2:
        raise DataError(f"{d.train}: a single class ({train.class_names}) — classification needs at least two")
    empty = [n for n, c in zip(train.class_names, train.class_counts().tolist()) if c == 0]
    if empty:
        raise DataError(f"{d.train}: class(es) {empty} have no training chips")
    protocol = {"split": d.split, "split_note": split_note(train, d.split),
                "test_leakage": measure_leakage(train, test, d, generated=not kind.on_disk and not d.test)}
    train, val = fold_split(train, d.split, d.val_fraction, seed=cfg.seed, strict=False, progress=progress)
    if d.load_size:  # train on random crops of the larger region (the loop cuts them); score the centre
        val, test = val.center_crop(d.size), test.center_crop(d.size)
    pool = None
    if d.unlabelled == "protocol":  # the chips the long-tailed subset left out, outside every test and validation fold
        pool = protocol_pool(full, [train, val, test])
    elif d.unlabelled:  # the test chips are d.test, or a fold of d.train: a pool naming either is refused
        pool = load_unlabelled(d.unlabelled, train.chip_size[0], test_specs=[d.test or d.train])
    return Splits(train, val, test, pool, protocol)


def pretrain_chips(splits: Splits, stage: StageConfig) -> ChipSet:
    """The chips a ``pretrain`` stage sees: its training chips and the unlabelled pool (labels unread: 0 there)."""
    train = stage_view(splits.train, stage)
    pool = splits.unlabelled
    if pool is None or stage.kind != "pretrain":
        return train
    images = torch.cat([train.images[train.rows], pool.images[pool.rows]])
    labels = torch.cat([train.labels, torch.zeros(len(pool), dtype=torch.int64)])
    ids = [*train.chip_ids, *(f"unlabelled/{i}" for i in pool.chip_ids)]
    return dataclasses.replace(train, images=images, rows=torch.arange(len(images)), labels=labels, ids=ids)


def measure_leakage(train: ChipSet, test: ChipSet, d: DataConfig, *, generated: bool = False) -> dict[str, Any] | None:
    """The leakage summary of ``test`` against the ``train`` chips of its class (:meth:`~.leakage.Leakage.summary`),
    at the run's chip size.

    ``None`` for a generated test set (drawn apart from the training chips). Above
    :data:`LEAKAGE_PAIRS` pairs a seeded sample of test chips is measured (``test_chips`` says
    how many); with fewer than 50 chips to measure, the summary only says why it is missing.
    """
    if generated or not len(test) or not len(train):
        return None
    if d.size - 2 * SHIFT < 8:
        return {"skipped": f"{d.size} px chips are too small to compare over {SHIFT} px shifts"}
    n = min(len(test), LEAKAGE_PAIRS // len(train))
    if n < min(50, len(test)):
        return {"skipped": f"{len(train):,} training chips are too many to compare pairwise here; "
                           "use `sartail data leakage`"}
    sample = test if n == len(test) else test.take(torch.randperm(len(test), generator=torch.Generator().manual_seed(0))[:n])
    return leakage(train, sample, size=d.size - 2 * SHIFT, within_class=True).summary()


def stage_view(chips: ChipSet, stage: StageConfig) -> ChipSet:
    """The chips a stage sees: ``chips`` without the stage's removed classes."""
    return chips.remove_classes(list(stage.remove)) if stage.remove else chips
