"""What a stage left when it finished."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class StageResult:
    """What a stage left: its epoch records, final validation metrics, chosen tau and kept epoch."""

    name: str
    history: list[dict[str, Any]]
    val: dict[str, Any]
    tau: float | None = None
    best_epoch: int | None = None
    selected: str = ""  #: which epoch was kept and why (see :mod:`sartail.train.behaviours.selection`)
