"""Which settings decide a stage's result: the key under which a trained stage may be reused.

The key is the whole run config up to and including the stage, minus the settings without
effect listed once in :mod:`sartail.config.edits`. A field added to the config is thus part
of the key unless it is listed there on purpose, so a stage is never reused wrongly.
"""
from __future__ import annotations

from typing import Any

from ..config import RunConfig, settings


def stage_key(cfg: RunConfig, i: int) -> dict[str, Any]:
    """What determines the result of stage ``i`` of a resolved ``cfg``: its settings with effect up to stage ``i``.

    The budget floor's settings are left out: a resolved config holds their effect in its epochs.
    """
    key = settings(cfg, budget=False)
    return {**key, "stages": key["stages"][: i + 1]}
