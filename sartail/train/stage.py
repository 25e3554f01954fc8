"""A stage in training (:class:`StageContext`), its kind (:class:`StageKind`: how a step computes its loss) and a :class:`Batch`."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from ..config import StageConfig
from ..data.chipset import ChipSet
from ..models import Classifier
from .context import Context
from .samplers import EpochSampler


@dataclass
class Batch:
    """One step's chips: the input ``x``, labels ``y`` (``None`` for a stage without labels), the
    chips' ``positions`` in the stage's training set, and ``loss``, which turns the network's
    output into the batch's loss (a behaviour such as mixing may replace ``x`` and wrap ``loss``)."""

    x: torch.Tensor
    y: torch.Tensor | None
    positions: torch.Tensor
    loss: Callable[[torch.Tensor], torch.Tensor]
    extra: dict[str, torch.Tensor] = field(default_factory=dict)  #: what a stage kind adds (e.g. a teacher's logits)


@dataclass
class StepOutput:
    """What a forward pass gave: the loss to minimise and, for a labelled stage, logits and targets (for train_acc)."""

    loss: torch.Tensor
    logits: torch.Tensor | None = None
    targets: torch.Tensor | None = None


@dataclass
class StageContext:
    """A stage in training, as its kind and its behaviours see it.

    ``scored`` is the model that is validated, selected and kept (an average of the weights
    replaces it); ``history`` holds the records logged so far; ``tau``, ``best_epoch`` and
    ``selected`` are filled in by the behaviours that decide them.
    """

    stage: StageConfig
    index: int
    ctx: Context
    model: Classifier
    net: nn.Module  #: the model, or its DistributedDataParallel wrapper (what the step calls)
    train: ChipSet
    val: ChipSet | None
    kind: StageKind
    sampler: EpochSampler
    batch_size: int
    steps_per_epoch: int
    channels_last: bool
    scored: nn.Module
    criterion: Any = None  #: the stage's loss (set by its kind)
    aug_rng: torch.Generator | None = None  #: this epoch's augmentation generator
    history: list[dict[str, Any]] = field(default_factory=list)
    tau: float | None = None
    best_epoch: int | None = None
    selected: str = ""
    optimizer: torch.optim.Optimizer = field(init=False)  #: set once the kind has said what else trains

    @property
    def device(self) -> torch.device:
        return self.ctx.device

    @property
    def total_steps(self) -> int:
        return self.steps_per_epoch * self.stage.epochs

    def log(self, record: dict[str, Any]) -> None:
        """Add ``record`` to the stage's history and ``metrics.jsonl`` (written by the main process only)."""
        self.history.append(record)
        if self.ctx.dist.is_main:
            self.ctx.log(record)


class StageKind:
    """The per-batch computation of a stage; the loop around it (optimizer, schedule, checkpoints,
    behaviours, callbacks) is the same for every kind.

    A kind may bring modules of its own that train beside the model (a projector head): it returns
    their parameters from :meth:`setup`, saves them in :meth:`state_dict` and drops them in
    :meth:`on_stage_end`.
    """

    name = ""
    uses_labels = True  #: False: the stage reads no labels, so it is neither validated nor scored as a classifier

    def setup(self, context: StageContext) -> list[nn.Parameter]:
        """Prepare for ``context`` (set ``context.criterion``); the extra parameters to train."""
        return []

    def set_epoch(self, epoch: int) -> None:
        """Called before each epoch (a loss whose weights change with the epoch)."""

    def batch(self, context: StageContext, positions: torch.Tensor, rng: torch.Generator) -> Batch:
        """The step's input for the chips at ``positions``, augmented with ``rng``."""
        raise NotImplementedError

    def forward(self, context: StageContext, batch: Batch) -> StepOutput:
        """The batch's loss (under autocast)."""
        raise NotImplementedError

    def on_stage_end(self, context: StageContext) -> None:
        """After training and the behaviours' stage end (drop what does not outlive the stage)."""

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None: ...
