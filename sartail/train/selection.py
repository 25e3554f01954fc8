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

from collections.abc import Sequence

from ..config import SELECT_MIN_VAL, StageConfig


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
