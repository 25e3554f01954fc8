"""MaxNorm (Alshammari et al. 2022): after every step, the head's weight rows are capped at a radius.

The radius is fixed when the stage starts (``max_norm.thresh``, or with ``relative: true`` the
shortest row's norm plus ``thresh`` times the spread of the rows' norms, see
:class:`~sartail.config.MaxNormConfig`) and kept in the checkpoint.
"""
from __future__ import annotations

from typing import Any

import torch

from ...config import StageConfig
from ...models import Head
from ..events import StepEnd
from ..stage import StageContext
from .base import Behaviour


def max_norm_radius(head: Head, thresh: float, relative: bool) -> float:
    """The radius MaxNorm caps the head's weight rows at (see :class:`~sartail.config.MaxNormConfig`)."""
    if not relative:
        return float(thresh)
    norms = head.weight.detach().norm(dim=1)
    return float(norms.min() + thresh * (norms.max() - norms.min()))


@torch.no_grad()
def clip_row_norms(head: Head, radius: float) -> None:
    """Scale every weight row longer than ``radius`` back onto it (the bias is not capped, as the authors')."""
    norms = head.weight.norm(dim=1, keepdim=True)
    head.weight.mul_(torch.where(norms > radius, radius / norms.clamp_min(1e-12), torch.ones_like(norms)))


class MaxNorm(Behaviour):
    """Caps the head's weight rows at the stage's radius after every optimizer step."""

    name = "max_norm"

    def __init__(self, stage: StageConfig) -> None:
        self.thresh, self.relative = stage.max_norm.thresh, stage.max_norm.relative
        self.radius = 0.0

    @staticmethod
    def wanted(stage: StageConfig) -> bool:
        return stage.max_norm.thresh > 0

    def on_stage_start(self, context: StageContext) -> None:
        self.radius = max_norm_radius(context.model.head, self.thresh, self.relative)

    def after_step(self, context: StageContext, step: StepEnd) -> None:
        clip_row_norms(context.model.head, self.radius)

    def state_dict(self) -> dict[str, Any]:
        return {"radius": self.radius}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.radius = float(state["radius"])
