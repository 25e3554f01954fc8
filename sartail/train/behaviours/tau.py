"""tau-normalisation (Kang et al. 2020, ``tau_grid``): after the stage, the head's tau is chosen on validation.

Each value of the grid is tried; the one with the best validation balanced accuracy is kept
(ties: the first) and logged as a record of the stage.
"""
from __future__ import annotations

from collections.abc import Sequence

from ...config import StageConfig
from ...data.chipset import ChipSet
from ...models import Classifier
from ..context import Context, evaluate
from ..stage import StageContext
from .base import Behaviour


def select_tau(model: Classifier, val: ChipSet | None, grid: Sequence[float], ctx: Context) -> float:
    """Pick the head's tau-normalisation from ``grid`` by validation balanced accuracy."""
    if val is None or not len(val):
        raise ValueError("choosing tau needs a validation set")
    best_tau, best = float(grid[0]), -1.0
    for tau in grid:
        model.head.tau.fill_(float(tau))
        score = evaluate(model, val, ctx)["balanced"]
        if score > best + 1e-12:
            best, best_tau = score, float(tau)
    model.head.tau.fill_(best_tau)
    return best_tau


class TauSelection(Behaviour):
    """Chooses the head's tau from the stage's ``tau_grid`` when the stage ends."""

    name = "tau"

    def __init__(self, stage: StageConfig) -> None:
        self.grid = list(stage.tau_grid)

    @staticmethod
    def wanted(stage: StageConfig) -> bool:
        return bool(stage.tau_grid)

    def on_stage_end(self, context: StageContext) -> None:
        context.tau = select_tau(context.model, context.val, self.grid, context.ctx)
        context.log({"stage": context.stage.name, "stage_index": context.index, "epoch": context.stage.epochs,
                     "tau": context.tau})
