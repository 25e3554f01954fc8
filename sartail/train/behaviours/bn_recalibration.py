"""BatchNorm statistics recomputed on clean chips after a stage (``bn_recalibrate``).

A stage that trains on mixed batches (CutMix, mixup) leaves in every BatchNorm layer the
running statistics of *mixed* chips, which evaluation then applies to clean ones; an EMA of
the weights carries the raw weights' statistics. Recalibration re-estimates them, as SWA does
(Izmailov et al. 2018; :func:`torch.optim.swa_utils.update_bn`): every training chip of the
stage once, in order, centre-cropped to the input size and not augmented, the weights unchanged.
"""
from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import nn
from torch.optim.swa_utils import update_bn

from ...config import StageConfig
from ...data.chipset import ChipSet
from ..stage import StageContext
from .base import Behaviour


def clean_batches(chips: ChipSet, batch_size: int, *, size: int | None = None, device: torch.device | None = None,
                  channels_last: bool = False) -> Iterator[torch.Tensor]:
    """Every chip of ``chips`` once, in order, as float batches of at most ``batch_size`` chips and
    near-equal sizes (no batch of one chip left over), centre ``size`` crops, not augmented."""
    h, w = chips.chip_size
    s = size if size is not None and min(h, w) > size else None
    oy, ox = ((h - s) // 2, (w - s) // 2) if s is not None else (0, 0)
    for pos in torch.tensor_split(torch.arange(len(chips)), -(-len(chips) // batch_size)) if len(chips) else ():
        x = chips.pixels(pos)  # cropped per batch: no copy of the whole set's pixels
        x = (x[..., oy:oy + s, ox:ox + s] if s is not None else x).float()
        if device is not None:
            x = x.to(device)
        yield x.contiguous(memory_format=torch.channels_last) if channels_last else x


def recalibrate_bn(model: nn.Module, chips: ChipSet, batch_size: int, *, size: int | None = None,
                   device: torch.device | None = None, channels_last: bool = False) -> int:
    """Replace the running statistics of every BatchNorm layer of ``model`` by their average over
    ``chips`` (clean, see :func:`clean_batches`); returns how many layers were recalibrated.

    Deterministic (no random draw), so a resumed run recalibrates to the same bits. The model's
    training mode is restored; its weights are not touched.
    """
    layers = sum(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())
    if layers and len(chips):
        update_bn(clean_batches(chips, batch_size, size=size, device=device, channels_last=channels_last), model)
    return layers


class BNRecalibration(Behaviour):
    """At the end of the stage (after the weights it keeps are in place), recalibrates BatchNorm
    on the stage's clean training chips and logs a record of it."""

    name = "bn_recalibration"

    @staticmethod
    def wanted(stage: StageConfig) -> bool:
        return bool(stage.bn_recalibrate)

    def on_stage_end(self, context: StageContext) -> None:
        train = context.train
        layers = recalibrate_bn(context.model, train, context.batch_size, size=context.ctx.input_size,
                                device=context.device, channels_last=context.channels_last)
        context.log({"stage": context.stage.name, "stage_index": context.index, "epoch": context.stage.epochs,
                     "bn_recalibrated": len(train), "bn_layers": layers})
