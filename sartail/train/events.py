"""What the loop tells its hooks: typed records of a stage's start, a step, an epoch and its end.

Callbacks (:class:`~sartail.train.callbacks.Callback`) and stage behaviours
(:class:`~sartail.train.behaviours.base.Behaviour`) receive these; the model and the optimizer
are reachable through them, so a hook can read (or change) what trains.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from ..config import StageConfig
from .result import StageResult


@dataclass
class StageStart:
    """A stage begins (or resumes at ``start_epoch``): ``epochs`` of ``steps_per_epoch`` steps."""

    stage: StageConfig
    index: int  #: the stage's position in the recipe (0, 1, ...)
    steps_per_epoch: int
    epochs: int
    start_epoch: int
    chips: int  #: training chips of the stage
    classes: list[str]
    model: nn.Module
    optimizer: torch.optim.Optimizer


@dataclass
class StepEnd:
    """An optimizer step was taken (``epoch`` and ``step`` count from 1)."""

    stage: str
    epoch: int
    epochs: int
    step: int
    steps: int
    loss: float
    lr: float
    positions: torch.Tensor  #: the batch's positions in the stage's training chips
    model: nn.Module = field(repr=False)
    optimizer: torch.optim.Optimizer = field(repr=False)


@dataclass
class EpochRecord:
    """One line of ``metrics.jsonl``: an epoch's training figures and, with validation chips, its scores."""

    stage: str
    stage_index: int
    epoch: int
    lr: float
    train_loss: float
    train_acc: float
    train_seen: int
    val_top1: float | None = None
    val_balanced: float | None = None
    val_loss: float | None = None

    @property
    def validated(self) -> bool:
        return self.val_top1 is not None

    def as_dict(self) -> dict[str, Any]:
        """The record as written to ``metrics.jsonl`` (no validation keys without validation chips)."""
        d: dict[str, Any] = {"stage": self.stage, "stage_index": self.stage_index, "epoch": self.epoch, "lr": self.lr,
                             "train_loss": self.train_loss, "train_acc": self.train_acc, "train_seen": self.train_seen}
        if self.validated:
            d.update(val_top1=self.val_top1, val_balanced=self.val_balanced, val_loss=self.val_loss)
        return d


@dataclass
class StageEnd:
    """A stage finished; ``model`` holds the weights it kept."""

    stage: StageConfig
    result: StageResult
    model: nn.Module = field(repr=False)
