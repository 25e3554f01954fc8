"""The training, validation and test chips of a run, and the view of them a stage sees."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from collections.abc import Sequence
from typing import Any

import torch

from ..config import RunConfig, StageConfig
from ..errors import DataError
from .chipset import ChipSet
from .longtail import long_tailed, stratified_split
from .sources import data_kind, load
from .unlabelled import load_unlabelled, protocol_pool


@dataclass(frozen=True)
class Splits:
    """Training, validation and test chips of a run (views sharing pixels where they can)."""

    train: ChipSet
    val: ChipSet
    test: ChipSet
    unlabelled: ChipSet | None = None  #: extra chips for the ``pretrain`` stages, labels dropped

    def summary(self, stages: Sequence[StageConfig] | None = None) -> dict[str, Any]:
        """What the chips are; the unlabelled pool is named when one of ``stages`` (default: any) pre-trains on it."""
        used = self.unlabelled is not None and (stages is None or any(s.kind == "pretrain" for s in stages))
        pool = {"unlabelled_pool": self.unlabelled.source or "given chips", "unlabelled_chips": len(self.unlabelled)} \
            if used and self.unlabelled is not None else {}
        return {
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

    The test set is the given ``data.test``, the synthetic balanced test set, or a stratified
    ``test_fraction`` fold carved out before any long-tail subset (``split_seed``, fixed across
    run seeds). The long-tail subset and the validation split follow the run's seed.
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
    train, val = stratified_split(train, d.val_fraction, seed=cfg.seed)
    if d.load_size:  # train on random crops of the larger region (the loop cuts them); score the centre
        val, test = val.center_crop(d.size), test.center_crop(d.size)
    pool = None
    if d.unlabelled == "protocol":  # the chips the long-tailed subset left out, outside every test and validation fold
        pool = protocol_pool(full, [train, val, test])
    elif d.unlabelled:  # the test chips are d.test, or a fold of d.train: a pool naming either is refused
        pool = load_unlabelled(d.unlabelled, train.chip_size[0], test_specs=[d.test or d.train])
    return Splits(train, val, test, pool)


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


def stage_view(chips: ChipSet, stage: StageConfig) -> ChipSet:
    """The chips a stage sees: ``chips`` without the stage's removed classes."""
    return chips.remove_classes(list(stage.remove)) if stage.remove else chips
