"""The supervised stage: augmented chips and their labels through the model and the stage's loss."""
from __future__ import annotations

import torch
from torch import nn

from ...data.augment import augment_batch, random_crop
from ..losses import Loss
from ..stage import Batch, StageContext, StageKind, StepOutput


class Supervised(StageKind):
    """Chips (randomly cropped to the input size, augmented as the stage says) and labels -> logits -> loss."""

    name = "supervised"

    def setup(self, context: StageContext) -> list[nn.Parameter]:
        train, device = context.train, context.device
        self.criterion = Loss(context.stage.loss, train.class_counts()).to(device)
        context.criterion = self.criterion
        self.images = train.images.to(device)  # the shared pixel storage, moved once (a no-op on the CPU)
        self.rows = train.rows.to(device)
        self.labels = train.labels.to(device)
        return []

    def set_epoch(self, epoch: int) -> None:
        self.criterion.set_epoch(epoch)

    def batch(self, context: StageContext, positions: torch.Tensor, rng: torch.Generator) -> Batch:
        pos = positions.to(context.device)
        x = self.images.index_select(0, self.rows[pos]).float()
        size = context.ctx.input_size
        if size is not None and x.shape[-1] > size:
            x = random_crop(x, size, rng)
        y = self.labels[pos]
        x = augment_batch(x, context.stage.augment, rng)
        if context.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        criterion = self.criterion
        return Batch(x, y, positions, loss=lambda logits: criterion(logits, y))

    def forward(self, context: StageContext, batch: Batch) -> StepOutput:
        logits = context.net(batch.x)
        return StepOutput(batch.loss(logits), logits, batch.y)
