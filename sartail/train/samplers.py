"""Epoch samplers: which chips (positions of a view) the training loop sees in one epoch.

A sampler returns, for each epoch, a tensor of positions drawn from a seeded generator; the
loop asks for a new one *every epoch* (LDAM-DRW's resample option was silently a no-op for
years because its sampler was built once). :func:`plan_batches` then cuts an epoch into
batches, and in a distributed run into per-process shards with the same number of steps,
so that no chip is lost or doubled.

Kinds (``SamplerConfig.name``):

- ``instance``: every chip once per epoch, shuffled (the natural, long-tailed distribution).
- ``class_balanced``: every class equally likely (Kang et al.'s class-aware sampler).
- ``sqrt``: class ``c`` drawn with probability proportional to ``sqrt(n_c)``.
- ``progressive``: from instance-balanced to class-balanced, linearly over the epochs.
- ``undersample``: at most ``max_per_class`` chips per class, re-drawn every epoch.
"""
from __future__ import annotations

import math

import torch

from ..config import SamplerConfig
from ..errors import ConfigError, DataError


class EpochSampler:
    """Draws the positions of one epoch from ``labels`` (``int64 [N]``, values ``0..C-1``)."""

    def __init__(self, cfg: SamplerConfig, labels: torch.Tensor, num_classes: int, total_epochs: int = 1) -> None:
        self.cfg = cfg
        self.labels = labels.to(torch.int64).cpu()
        self.num_classes = int(num_classes)
        self.total_epochs = max(int(total_epochs), 1)
        self.counts = torch.bincount(self.labels, minlength=self.num_classes)
        self.by_class = [torch.nonzero(self.labels == c).reshape(-1) for c in range(self.num_classes)]
        if cfg.name != "instance":
            empty = [c for c in range(self.num_classes) if self.counts[c] == 0]
            if empty:
                raise DataError(
                    f"sampler {cfg.name!r} was asked to draw class(es) {empty}, which have no chips in this "
                    "stage's data; remove them from the stage or use the 'instance' sampler"
                )
        if self.labels.numel() == 0:
            raise DataError("cannot sample from an empty set of chips")

    def __len__(self) -> int:
        if self.cfg.name == "instance":
            return int(self.labels.numel())
        if self.cfg.name == "undersample":
            return int(self.counts.clamp(max=self.cfg.max_per_class).sum())
        return int(self.cfg.epoch_size or self.labels.numel())

    def class_probabilities(self, epoch: int = 0) -> torch.Tensor:
        """The target probability of drawing each class in ``epoch``."""
        n = self.counts.double()
        name = self.cfg.name
        if name in ("instance", "undersample"):
            p = n if name == "instance" else n.clamp(max=self.cfg.max_per_class)
        elif name == "class_balanced":
            p = (n > 0).double()
        elif name == "sqrt":
            p = n.sqrt()
        else:  # progressive (Kang et al.): (1 - t/T) * instance + t/T * class-balanced
            t = epoch / max(self.total_epochs - 1, 1)
            p = (1 - t) * n / n.sum() + t * (n > 0).double() / (n > 0).sum()
        return p / p.sum()

    def indices(self, epoch: int, generator: torch.Generator) -> torch.Tensor:
        """Positions for ``epoch`` (a fresh draw each time, deterministic given ``generator``)."""
        name = self.cfg.name
        g = generator
        if name == "instance":
            return torch.randperm(self.labels.numel(), generator=g)
        if name == "undersample":
            cap = self.cfg.max_per_class
            picked = [pos[torch.randperm(pos.numel(), generator=g)[:cap]] for pos in self.by_class if pos.numel()]
            out = torch.cat(picked)
            return out[torch.randperm(out.numel(), generator=g)]
        # drawing samplers: classes i.i.d. from p, chips cycling through a shuffled class list
        p = self.class_probabilities(epoch)
        classes = torch.multinomial(p.float(), len(self), replacement=True, generator=g)
        out = torch.empty_like(classes)
        for c in range(self.num_classes):
            slots = torch.nonzero(classes == c).reshape(-1)
            k = slots.numel()
            if not k:
                continue
            pos = self.by_class[c]
            reps = math.ceil(k / pos.numel())
            order = torch.cat([pos[torch.randperm(pos.numel(), generator=g)] for _ in range(reps)])[:k]
            out[slots] = order
        return out


def plan_batches(indices: torch.Tensor, batch_size: int, rank: int = 0, world_size: int = 1) -> list[torch.Tensor]:
    """Cut one epoch's positions into this process's batches.

    The epoch is split into ``steps * world_size`` nearly equal chunks (sizes differ by at
    most one, none larger than ``batch_size``); process ``rank`` takes every
    ``world_size``-th chunk. Every process gets the same number of steps, every position
    lands in exactly one batch, and there is no ragged last batch of one chip.
    """
    n = int(indices.numel())
    if batch_size < 1:
        raise ConfigError(f"batch_size must be >= 1, got {batch_size}")
    if n < world_size:
        raise DataError(f"{n} chips cannot be shared among {world_size} processes")
    steps = math.ceil(n / (batch_size * world_size))
    if steps * world_size > n:  # only possible with batch_size 1
        raise ConfigError(f"batch_size {batch_size} over {world_size} processes leaves some steps without a chip; "
                          "use a batch size of at least 2")
    chunks = torch.tensor_split(indices, steps * world_size)
    return [chunks[s * world_size + rank] for s in range(steps)]
