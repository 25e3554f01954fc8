"""An exponential moving average (EMA) of a model's weights, kept beside the model a stage trains (``ema: DECAY``).

After every optimizer step each parameter of the average moves towards the model's,
``avg += (1 - d) * (p - avg)``, with ``d = min(decay, (1 + n) / (10 + n))`` at the ``n``-th
update (the warm-up of TensorFlow's ``ExponentialMovingAverage``, so that a short stage is not
averaged into its initial weights). Buffers (BatchNorm statistics) are copied, not averaged.
A parameter the stage does not train stays bit for bit what it was. The average is what is
validated, selected and kept: at the end of the stage the model takes its weights.
"""
from __future__ import annotations

import copy
from typing import Any, Generic, TypeVar

import torch
from torch import nn

from ...config import StageConfig
from ..events import StepEnd
from ..stage import StageContext
from .base import Behaviour

M = TypeVar("M", bound=nn.Module)


class WeightEMA(Generic[M]):
    """The average of ``model``'s weights (``self.model``, a copy of it), updated by :meth:`update`."""

    def __init__(self, model: M, decay: float) -> None:
        self.decay = float(decay)
        self.model: M = copy.deepcopy(model)
        for p in self.model.parameters():
            p.requires_grad_(False)
        self.updates = 0

    def rate(self) -> float:
        """The decay of the next update."""
        n = self.updates + 1
        return min(self.decay, (1 + n) / (10 + n))

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        d = self.rate()
        self.updates += 1
        for avg, p in zip(self.model.parameters(), model.parameters()):
            avg.lerp_(p.detach(), 1.0 - d)  # exact when avg == p: untrained weights never drift
        for avg_b, b in zip(self.model.buffers(), model.buffers()):
            avg_b.copy_(b)

    def state_dict(self) -> dict[str, Any]:
        return {"model": copy.deepcopy(self.model.state_dict()), "updates": self.updates}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        self.updates = int(state["updates"])


class EMA(Behaviour):
    """The stage's average of the weights: updated after every step, scored, and kept at the end."""

    name = "ema"

    def __init__(self, stage: StageConfig) -> None:
        self.decay = stage.ema
        self.average: WeightEMA | None = None

    @staticmethod
    def wanted(stage: StageConfig) -> bool:
        return stage.ema > 0

    def on_stage_start(self, context: StageContext) -> None:
        self.average = WeightEMA(context.model, self.decay)
        context.scored = self.average.model

    def after_step(self, context: StageContext, step: StepEnd) -> None:
        assert self.average is not None
        self.average.update(context.model)

    def on_stage_end(self, context: StageContext) -> None:
        assert self.average is not None
        context.model.load_state_dict(self.average.model.state_dict())

    def state_dict(self) -> dict[str, Any]:
        assert self.average is not None
        return self.average.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        assert self.average is not None
        self.average.load_state_dict(state)
