"""What a stage behaviour is: a small object the loop hands its hooks (all optional)."""
from __future__ import annotations

from typing import Any

from ...config import StageConfig
from ..events import EpochRecord, StepEnd
from ..stage import Batch, StageContext


class Behaviour:
    """Something a stage does besides its steps: average the weights, cap the head, choose an epoch.

    The loop calls, for every behaviour the stage asks for (in the registry's order):
    :meth:`on_stage_start` once the model, optimizer and kind are set up (before a checkpoint is
    restored), :meth:`before_forward` on every batch (under autocast), :meth:`after_step` after
    every optimizer step, :meth:`on_epoch_end` after every validated epoch (before its
    checkpoint), :meth:`on_stage_end` after the last epoch. What it keeps across steps goes in
    :meth:`state_dict`; the loop saves that in its checkpoint under the behaviour's ``name``
    and hands it back to :meth:`load_state_dict` on resume.
    """

    name = ""

    def __init__(self, stage: StageConfig) -> None:
        """Built for ``stage`` by the registry (only when :meth:`wanted` says the stage asks for it)."""

    @staticmethod
    def wanted(stage: StageConfig) -> bool:
        """Whether ``stage`` asks for this behaviour."""
        return True

    def on_stage_start(self, context: StageContext) -> None: ...

    def before_forward(self, context: StageContext, batch: Batch) -> Batch:
        return batch

    def after_step(self, context: StageContext, step: StepEnd) -> None: ...

    def on_epoch_end(self, context: StageContext, record: EpochRecord) -> None: ...

    def on_stage_end(self, context: StageContext) -> None: ...

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None: ...
