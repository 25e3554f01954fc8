"""What the loop needs besides the stage (:class:`Context`), per-stream seeds and evaluation."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from .. import distributed as D
from ..config import ShotGroups
from ..data.chipset import ChipSet
from ..eval.metrics import evaluate_logits
from ..eval.predict import predict_logits
from .callbacks import Callback


@dataclass
class Context:
    """What the loop needs besides the stage: device, seeds, batch sizes, hooks."""

    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    seed: int = 0
    batch_size: int = 128
    eval_batch_size: int = 512
    amp: bool = True
    channels_last: bool | str = "auto"  #: see :func:`sartail.models.channels_last_for`
    checkpoint_every: int = 0
    shots: ShotGroups = field(default_factory=ShotGroups)
    dist: D.DistInfo = field(default_factory=D.DistInfo)
    callbacks: Sequence[Callback] = ()
    progress: bool = True
    log: Callable[[dict[str, Any]], None] = lambda record: None
    timing: Callable[[dict[str, Any]], None] = lambda record: None
    input_size: int | None = None  #: train on random crops of this size when the chips are larger (data.load_size)

    @property
    def autocast(self) -> Any:
        if self.amp and self.device.type == "cuda":
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return nullcontext()

    def stop_requested(self) -> bool:
        local = any(cb.should_stop() for cb in self.callbacks)
        if self.dist.enabled:
            return bool(D.all_reduce_sum([float(local)], self.dist, self.device)[0])
        return local


def stream_seed(seed: int, stage: int, epoch: int, stream: int) -> int:
    """A distinct, reproducible seed per (run seed, stage, epoch, stream)."""
    return (int(seed) * 1_000_003 + stage * 10_007 + epoch * 101 + stream) % (2**62)


def evaluate(model: nn.Module, chips: ChipSet, ctx: Context, train_counts: Sequence[int] | None = None) -> dict[str, Any]:
    """All metrics of ``model`` on ``chips`` (whose classes must match the head's)."""
    logits = predict_logits(model, chips, ctx)
    return evaluate_logits(logits, chips.labels, chips.class_names, train_counts=train_counts, groups=ctx.shots)
