"""Stage kinds: how a step of a stage computes its loss. A new kind is a module and an entry in :data:`KINDS`.

``supervised`` (chips and labels) and ``pretrain`` (two views per chip, a self-supervised loss,
labels unused); a stage names its kind (``StageConfig.kind``) and :func:`sartail.train.loop.fit_stage`
takes it through its ``kind`` argument.
"""
from __future__ import annotations

from collections.abc import Callable

from ..stage import StageKind
from .pretrain import Pretrain
from .supervised import Supervised

#: Stage kinds by name: a factory for each (a kind keeps per-stage state, so every stage gets a new one).
KINDS: dict[str, Callable[[], StageKind]] = {"supervised": Supervised, "pretrain": Pretrain}


def build_kind(name: str = "supervised") -> StageKind:
    """A new stage kind ``name`` (a clear error for an unknown one)."""
    if name not in KINDS:
        raise ValueError(f"unknown stage kind {name!r}; choose from {sorted(KINDS)}")
    return KINDS[name]()


__all__ = ["KINDS", "Pretrain", "StageKind", "Supervised", "build_kind"]
