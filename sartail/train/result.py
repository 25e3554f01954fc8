"""What a stage left when it finished."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class StageResult:
    """What a stage left: its epoch records, final validation metrics and chosen tau."""

    name: str
    history: list[dict[str, Any]]
    val: dict[str, Any]
    tau: float | None = None
    best_epoch: int | None = None
