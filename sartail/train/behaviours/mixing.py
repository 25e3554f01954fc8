"""Mixup and CutMix (``augment.mixup``, ``augment.cutmix``): every batch mixed with a permutation of itself.

The input becomes the mix and the loss ``lam * loss(y) + (1 - lam) * loss(y[perm])``
(:func:`sartail.data.augment.mix_batch`, :func:`sartail.train.losses.mixed_loss`); the draws
come from the epoch's augmentation generator, so a resumed run mixes the same way.
"""
from __future__ import annotations

from ...config import StageConfig
from ...data.augment import mix_batch
from ..losses import mixed_loss
from ..stage import Batch, StageContext
from .base import Behaviour


class Mixing(Behaviour):
    """Mixes each labelled batch before the forward pass and wraps its loss."""

    name = "mixing"

    def __init__(self, stage: StageConfig) -> None:
        self.augment = stage.augment

    @staticmethod
    def wanted(stage: StageConfig) -> bool:
        return stage.augment.mixup > 0 or stage.augment.cutmix > 0

    def before_forward(self, context: StageContext, batch: Batch) -> Batch:
        if batch.y is None or context.aug_rng is None:
            raise ValueError(f"stage {context.stage.name!r}: mixup and CutMix need labelled batches")
        mixed = mix_batch(batch.x, self.augment, context.aug_rng, batch.y)
        if mixed is None:
            return batch
        x, perm, lam = mixed
        y, criterion = batch.y, context.criterion
        batch.x, batch.loss = x, (lambda logits: mixed_loss(criterion, logits, y, perm, lam))
        return batch
