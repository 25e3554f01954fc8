"""Test-time augmentation (TTA) and ensembles: the softmax averaged over views of a chip and over models.

An :class:`Ensemble` is a module whose output is the log of the averaged probabilities, so the
one evaluation loop (:func:`~sartail.eval.predict.predict_logits`) and the one scorer take it as
any model, and its softmax is exactly the average. Views (``tta``):

- ``flip``: the chip and its left-right mirror;
- ``shift``: the chip and its translations by :data:`TTA_SHIFT` px up, down, left and right
  (zero fill, as the training ``crop`` augmentation);
- both: every shift of the chip and of its mirror (10 views).
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError, suggest
from ..models import Classifier, Head

TTA_VIEWS = ("flip", "shift")
#: Pixels of the ``shift`` views.
TTA_SHIFT = 2


def parse_tta(tta: str | Sequence[str] | None) -> tuple[str, ...]:
    """``"flip,shift"`` (or a sequence of names) as a tuple of known view names; ``None``/``""``: none."""
    if not tta:
        return ()
    names = [t.strip() for t in (tta.split(",") if isinstance(tta, str) else tta) if t.strip()]
    for name in names:
        if name not in TTA_VIEWS:
            raise ConfigError(f"unknown test-time augmentation {name!r}; use {', '.join(TTA_VIEWS)}.{suggest(name, TTA_VIEWS)}")
    return tuple(v for v in TTA_VIEWS if v in names)


def shift(x: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    """``x [B, C, H, W]`` translated by ``dy`` rows and ``dx`` columns, zero fill."""
    if dy == 0 and dx == 0:
        return x
    h, w = x.shape[-2:]
    s = max(abs(dy), abs(dx))
    return F.pad(x, (s, s, s, s))[..., s - dy : s - dy + h, s - dx : s - dx + w]


def views(x: torch.Tensor, tta: Sequence[str]) -> list[torch.Tensor]:
    """The views of batch ``x`` that ``tta`` asks for, the batch itself first."""
    s = TTA_SHIFT
    offsets = [(0, 0)] + ([(-s, 0), (s, 0), (0, -s), (0, s)] if "shift" in tta else [])
    bases = [x, x.flip(-1)] if "flip" in tta else [x]
    return [shift(b, dy, dx) for b in bases for dy, dx in offsets]


class Ensemble(nn.Module):
    """Models (same classes, same order) averaged in probability: over the views ``tta`` per
    model, then over the models (each model weighs the same)."""

    def __init__(self, models: Sequence[Classifier], tta: str | Sequence[str] | None = ()) -> None:
        super().__init__()
        if not models:
            raise ValueError("an ensemble needs at least one model")
        self.members = nn.ModuleList(models)
        self.tta = parse_tta(tta)

    @property
    def head(self) -> Head:
        """The first model's head: its classes are every member's."""
        return self.members[0].head  # type: ignore[return-value]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        per_model = [torch.stack([model(v).float().softmax(1) for v in views(x, self.tta)]).mean(0)
                     for model in self.members]
        return torch.stack(per_model).mean(0).clamp_min(torch.finfo(torch.float32).tiny).log()


def ensemble(models: Sequence[Classifier], tta: str | Sequence[str] | None = ()) -> Classifier | Ensemble:
    """The one model itself when there is one and no TTA (its logits unchanged), else an :class:`Ensemble`."""
    if len(models) == 1 and not parse_tta(tta):
        return models[0]
    return Ensemble(models, tta)
