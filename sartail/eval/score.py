"""The one way a stage's model is scored on labelled chips (used by ``Run.test``, the notebooks and ``sartail eval``)."""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ..config import ShotGroups
from ..data.chipset import ChipSet
from .metrics import evaluate_logits
from .predict import EvalContext, predict_logits
from .results import StageMetrics


def score(model: nn.Module, chips: ChipSet, ctx: EvalContext, *, train_counts: Sequence[int] | None,
          shots: ShotGroups, all_classes: Sequence[str] | None = None) -> tuple[StageMetrics, torch.Tensor]:
    """Every metric of ``model`` on ``chips`` and the logits behind them.

    ``train_counts`` (chips per class the model trained on) gives the many / medium / few-shot
    groups; ``all_classes`` (default: the chips' classes) names the classes the stage removed.
    """
    logits = predict_logits(model, chips, ctx)
    m = evaluate_logits(logits, chips.labels, chips.class_names, train_counts=train_counts, groups=shots)
    seen = list(chips.class_names)
    m["classes_seen"] = seen
    m["removed"] = [c for c in (all_classes if all_classes is not None else seen) if c not in seen]
    return StageMetrics.from_json(m), logits
