"""Which epoch a stage keeps: the rule behind ``select: auto | last | best``.

With one validation chip per tail class, the validation balanced accuracy of an epoch moves
by 1/C whenever that single chip flips, so the "best" epoch is noise: on MSTAR-LT it kept an
unconverged early head and cost the many-shot classes (BENCHMARKS.md, model selection).
``auto`` therefore trusts the best epoch only
when every class of the stage has at least :data:`~sartail.config.SELECT_MIN_VAL` validation
chips, and otherwise keeps the last one. Even then the maximum over many noisy epochs is
biased upwards, so ``auto`` keeps the best epoch only when it classifies at least two more
validation chips correctly than the last epoch (:func:`beats_last`): on full MSTAR a one-chip
lead of an earlier epoch cost test accuracy. The lead is counted in chips, not in balanced
accuracy, where a single chip of a small class outweighs one of a large class.
"""
from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

from ...config import SELECT_MIN_VAL, StageConfig
from ..events import EpochRecord
from ..stage import StageContext
from .base import Behaviour


def selection_mode(stage: StageConfig, val_counts: Sequence[int] | None,
                   min_val: int = SELECT_MIN_VAL) -> tuple[str, str]:
    """``("best" | "last", reason)`` for a stage whose validation split has ``val_counts`` chips per class."""
    if stage.epochs == 0:
        return "last", "post hoc: no epochs to choose from"
    if not val_counts or sum(val_counts) == 0:
        return "last", "last epoch: no validation chips"
    if stage.select == "last":
        return "last", "last epoch (select: last)"
    if stage.select == "best":
        return "best", "best validation epoch (select: best)"
    few = sum(1 for n in val_counts if n < min_val)
    if few:
        return "last", (f"last epoch (select: auto): {few} of {len(val_counts)} classes have fewer than "
                        f"{min_val} validation chips")
    return "best", f"best validation epoch (select: auto): every class has >= {min_val} validation chips"


def chip_lead(best_top1: float, last_top1: float, n_val: int) -> int:
    """How many more of ``n_val`` validation chips the best epoch classifies correctly than the last."""
    return round(best_top1 * n_val) - round(last_top1 * n_val)


def beats_last(best_top1: float, last_top1: float, n_val: int) -> bool:
    """Whether the best epoch is right on more than one chip more than the last (:func:`chip_lead` >= 2)."""
    return chip_lead(best_top1, last_top1, n_val) > 1


def overrule_best(stage: StageConfig, best_epoch: int | None, best_top1: float, last_top1: float | None,
                  n_val: int) -> str | None:
    """Why ``select: auto`` keeps the last epoch after all (``None``: the best epoch stands).

    That is when an earlier best epoch is right on no more than one validation chip more than
    the last (``best_top1`` and ``last_top1`` are those epochs' validation top-1)."""
    if stage.select != "auto" or last_top1 is None or best_epoch in (None, stage.epochs) \
            or beats_last(best_top1, last_top1, n_val):
        return None
    return (f"last epoch (select: auto): the best epoch ({best_epoch}, {round(best_top1 * n_val)} of {n_val} "
            f"validation chips right) leads the last ({round(last_top1 * n_val)}) by no more than one chip")


def is_better(score: float, best: float) -> bool:
    """Ties go to the later epoch (a plateau's end, not its first epoch)."""
    return score >= best


class EpochSelection(Behaviour):
    """Keeps the weights of the epoch ``select`` asks for, and says which epoch and why (``StageResult.selected``).

    With ``best``, the scored model's weights are copied whenever an epoch's validation
    balanced accuracy is at least the best so far; at the end of the stage they are restored,
    unless ``auto`` overrules the best epoch (:func:`overrule_best`).
    """

    name = "selection"

    def __init__(self, stage: StageConfig) -> None:
        self.stage = stage
        self.mode, self.why = "last", ""
        self.best_score, self.best_epoch = -1.0, None  # type: float, int | None
        self.best_state: dict[str, Any] | None = None
        self.n_val = 0

    @staticmethod
    def wanted(stage: StageConfig) -> bool:
        return True

    def on_stage_start(self, context: StageContext) -> None:
        val = context.val
        counts = val.class_counts().tolist() if val is not None and len(val) else []
        self.n_val = sum(counts)
        self.mode, self.why = selection_mode(self.stage, counts or None)

    def on_epoch_end(self, context: StageContext, record: EpochRecord) -> None:
        if self.mode == "best" and record.val_balanced is not None and is_better(record.val_balanced, self.best_score):
            self.best_score, self.best_epoch = record.val_balanced, record.epoch
            self.best_state = copy.deepcopy(context.scored.state_dict())

    def on_stage_end(self, context: StageContext) -> None:
        stage, mode, why = self.stage, self.mode, self.why
        if mode == "best" and self.best_state is not None:
            top1 = {r["epoch"]: r["val_top1"] for r in context.history if "val_top1" in r}
            overruled = overrule_best(stage, self.best_epoch, top1.get(self.best_epoch, 0.0), top1.get(stage.epochs),
                                      self.n_val)
            if overruled:
                mode, why, self.best_epoch = "last", overruled, None
        if mode == "best" and self.best_state is not None:
            context.model.load_state_dict(self.best_state)
            why = f"epoch {self.best_epoch} of {stage.epochs}: {why}"
        elif stage.epochs:
            why = f"epoch {stage.epochs} of {stage.epochs}: {why}"
        context.best_epoch, context.selected = self.best_epoch, why

    def state_dict(self) -> dict[str, Any]:
        return {"best_score": self.best_score, "best_epoch": self.best_epoch, "best_state": self.best_state}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best_score, self.best_epoch = state["best_score"], state["best_epoch"]
        self.best_state = state["best_state"]
