"""Every edit of a :class:`~sartail.config.RunConfig` and every view derived from one, in one place.

- typed edits: ``RunConfig.with_stage`` (dotted keys of one stage, by :func:`replace_fields`),
  ``RunConfig.with_epochs`` (the one epoch rule: a stage's warm-up, step milestones and LDAM's
  ``drw_epoch`` keep their place when its epochs change, :func:`scaled_schedule`,
  :func:`scaled_drw_epoch`), :func:`epoch_scaled` (``--epoch-scale K``);
- the settings that do not change what a run computes (:data:`RUN_FIELDS_WITHOUT_EFFECT`,
  :data:`STAGE_FIELDS_WITHOUT_EFFECT`, :data:`BUDGET_RECORD`), used by stage reuse, run state
  and :func:`config_differences` alike.

:class:`~sartail.config.RunConfig` exposes the edits as methods (``cfg.with_stage(...)``,
``cfg.stage_index(...)``, ``cfg.with_epochs(...)``); configs are edited as dataclasses, never
through their plain dicts.
"""
from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

from ..errors import ConfigError
from .build import _plain, replace_fields
from .schema import RunConfig, scaled_drw_epoch, scaled_schedule

#: Run-level settings that do not change what a run computes: names, logs, checkpoint frequency.
RUN_FIELDS_WITHOUT_EFFECT = frozenset({"recipe", "description", "checkpoint_every", "tensorboard"})
#: Stage-level settings that do not change what a stage computes.
STAGE_FIELDS_WITHOUT_EFFECT = frozenset({"description"})
#: What the budget floor applied (``budget.scale``, ``budget.note``): a record, its effect is in the epochs.
BUDGET_RECORD = ("scale", "note")


__all__ = ["BUDGET_RECORD", "RUN_FIELDS_WITHOUT_EFFECT", "STAGE_FIELDS_WITHOUT_EFFECT", "config_differences",
           "epoch_scaled", "replace_fields", "scale_epochs", "scaled_drw_epoch", "scaled_schedule", "settings",
           "stage_settings"]


# ------------------------------------------------------------------------------ the epoch rule
def scale_epochs(epochs: int, k: float) -> int:
    """``epochs`` times ``k``, rounded; a training stage keeps at least one epoch and a post-hoc stage (0) none."""
    if not k > 0 or math.isinf(k):
        raise ConfigError(f"the epoch scale must be a positive number, got {k!r}")
    return max(1, round(epochs * k)) if epochs > 0 else 0


def epoch_scaled(cfg: RunConfig, k: float) -> RunConfig:
    """Every stage's epochs times ``k`` (``--epoch-scale``): recipes keep their proportions.

    >>> from sartail.config import load_config
    >>> tuple(s.epochs for s in epoch_scaled(load_config("three_stage"), 4).stages)
    (120, 80, 40, 40)
    """
    return cfg.with_epochs([scale_epochs(s.epochs, k) for s in cfg.stages])


# ------------------------------------------------------------------------------ settings with effect
def settings(cfg: RunConfig, *, stages: bool = True, budget: bool = True) -> dict[str, Any]:
    """``cfg`` as a plain dict without the settings that have no effect on what it computes.

    ``budget=False`` also leaves out the budget floor's settings, for resolved configs (whose
    epochs hold the floor's effect).
    """
    d = {k: v for k, v in cfg.to_dict().items() if k not in RUN_FIELDS_WITHOUT_EFFECT}
    if budget:
        d["budget"] = {k: v for k, v in d["budget"].items() if k not in BUDGET_RECORD}
    else:
        d.pop("budget")
    if stages:
        d["stages"] = [{k: v for k, v in s.items() if k not in STAGE_FIELDS_WITHOUT_EFFECT} for s in d["stages"]]
    else:
        d.pop("stages")
    return d


def stage_settings(cfg: RunConfig, name: str) -> dict[str, Any]:
    """Stage ``name`` of ``cfg`` as a plain dict, without the settings that have no effect."""
    d = dataclasses.asdict(cfg.stages[cfg.stage_index(name)])
    return {k: v for k, v in _plain(d).items() if k not in STAGE_FIELDS_WITHOUT_EFFECT}


def _flat(d: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(d, Mapping):
        out: dict[str, Any] = {}
        for k, v in d.items():
            out.update(_flat(v, f"{prefix}{k}."))
        return out
    return {prefix.rstrip("."): d}


def config_differences(a: RunConfig, b: RunConfig, *, stages: bool = False) -> list[str]:
    """Dotted keys where two configs differ in a setting with effect (the stages only when ``stages``)."""
    fa, fb = _flat(settings(a, stages=stages)), _flat(settings(b, stages=stages))
    return sorted(k for k in set(fa) | set(fb) if fa.get(k) != fb.get(k))
