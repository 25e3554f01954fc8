"""Which settings decide a stage's result: the key under which a trained stage may be reused.

The key is the whole run config up to and including the stage, minus an explicit list of
fields that cannot change any number a stage produces. A field added to the config is thus
part of the key unless it is listed here on purpose, so a stage is never reused wrongly.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..config import RunConfig

#: Run-level fields that do not change results: names, descriptions, checkpoint cadence, logs, the budget record.
RUN_FIELDS_WITHOUT_EFFECT = frozenset({"recipe", "description", "checkpoint_every", "tensorboard", "budget"})  # budget: its effect is in the epochs
#: Stage-level fields that do not change results.
STAGE_FIELDS_WITHOUT_EFFECT = frozenset({"description"})


def stage_key_of(d: Mapping[str, Any], i: int) -> dict[str, Any]:
    """:func:`stage_key` of a config given as its plain dict (``RunConfig.to_dict()``)."""
    stages = [{k: v for k, v in st.items() if k not in STAGE_FIELDS_WITHOUT_EFFECT} for st in d["stages"][: i + 1]]
    rest = {k: v for k, v in d.items() if k not in RUN_FIELDS_WITHOUT_EFFECT and k != "stages"}
    return {**rest, "stages": stages}


def stage_key(cfg: RunConfig, i: int) -> dict[str, Any]:
    """What determines the result of stage ``i`` of ``cfg``: everything but the fields listed above."""
    return stage_key_of(cfg.to_dict(), i)
