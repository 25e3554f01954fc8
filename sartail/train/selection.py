"""Which epoch a stage keeps: the rule behind ``select: auto | last | best``.

With one validation chip per tail class, the validation balanced accuracy of an epoch moves
by 1/C whenever that single chip flips, so the "best" epoch is noise: on MSTAR-LT it kept an
unconverged head of epoch 3 of 40 and cost the many-shot classes up to 7 points
(benchmarks/EXPERIMENTS_issue9.md, section 1). ``auto`` therefore trusts the best epoch only
when every class of the stage has at least :data:`~sartail.config.SELECT_MIN_VAL` validation
chips, and otherwise keeps the last one. Even then the maximum over many noisy epochs is
biased upwards, so ``auto`` keeps the best epoch only when it beats the last epoch by more
than one validation chip of the smallest class (:func:`beats_last`): on full MSTAR (>= 17
chips per class) a one-epoch spike to 1.000 against 0.995 at the end cost 1.3 test points.
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


def chip_margin(val_counts: Sequence[int]) -> float:
    """The balanced accuracy that one validation chip of the smallest class is worth: ``1 / (C * min count)``."""
    counts = [n for n in val_counts if n > 0]
    return 1.0 / (len(counts) * min(counts)) if counts else 1.0


def beats_last(best: float, last: float, val_counts: Sequence[int]) -> bool:
    """Whether the best epoch's score is above the last epoch's by more than one chip (:func:`chip_margin`)."""
    return best - last > chip_margin(val_counts) + 1e-12


def overrule_best(stage: StageConfig, best_epoch: int | None, best: float, last: float | None,
                  val_counts: Sequence[int]) -> str | None:
    """Why ``select: auto`` keeps the last epoch after all (``None``: the best epoch stands).

    That is when an earlier best epoch does not beat the last by more than one chip."""
    if stage.select != "auto" or last is None or best_epoch in (None, stage.epochs) or beats_last(best, last, val_counts):
        return None
    return (f"last epoch (select: auto): the best epoch ({best_epoch}, {best:.3f}) beats the last "
            f"({last:.3f}) by no more than one validation chip ({chip_margin(val_counts):.3f})")


def is_better(score: float, best: float) -> bool:
    """Ties go to the later epoch (a plateau's end, not its first epoch)."""
    return score >= best
