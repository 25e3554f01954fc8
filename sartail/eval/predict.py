"""The one evaluation loop: logits of a model for every chip of a set, sharded over processes."""
from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any, Protocol

import torch
from torch import nn

from .. import distributed as D
from ..data.chipset import ChipSet
from ..models import channels_last_for


class EvalContext(Protocol):
    """What evaluation needs of a run (:class:`sartail.train.loop.Context` has it)."""

    device: torch.device
    eval_batch_size: int
    channels_last: bool | str
    dist: D.DistInfo

    @property
    def autocast(self) -> AbstractContextManager: ...


@torch.no_grad()
def predict_logits(model: nn.Module, chips: ChipSet, ctx: EvalContext) -> torch.Tensor:
    """Logits for every chip of ``chips`` (in order), sharded over processes if distributed."""
    modes = {m: m.training for m in model.modules()}
    model.eval()
    n = len(chips)
    positions = torch.arange(n)
    if ctx.dist.enabled:
        positions = torch.tensor_split(positions, ctx.dist.world_size)[ctx.dist.rank]
    channels_last = channels_last_for(model, ctx.device, ctx.channels_last)
    outs = []
    for start in range(0, positions.numel(), ctx.eval_batch_size):
        pos = positions[start : start + ctx.eval_batch_size]
        x = chips.pixels(pos).to(ctx.device, non_blocking=True).float()
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        with ctx.autocast:
            outs.append(model(x).float().cpu())
    logits = torch.cat(outs) if outs else torch.zeros(0, _num_outputs(model))
    if ctx.dist.enabled:
        logits = torch.cat(D.all_gather_objects(logits, ctx.dist))
    for m, mode in modes.items():
        m.training = mode
    return logits


def _num_outputs(model: nn.Module) -> int:
    head: Any = model.module.head if hasattr(model, "module") else model.head  # type: ignore[union-attr]  # stubs narrower than the values used
    return int(head.num_classes)
