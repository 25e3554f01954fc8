"""Dotted-key overrides of a config dict (``stages.rough.epochs=3``, ``stages.*.lr=0.1``) and epoch scaling."""
from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import yaml

from ..errors import ConfigError, suggest
from .schema import RunConfig, ScheduleConfig


def parse_override(text: str) -> tuple[str, Any]:
    """Parse ``key=value`` (the value as YAML: ``3``, ``0.1``, ``[0, 1]``, ``true``, ``null``)."""
    key, eq, value = text.partition("=")
    if not eq or not key.strip():
        raise ConfigError(f"override {text!r} must look like key=value, e.g. stages.rough.epochs=3")
    try:
        parsed = yaml.safe_load(value) if value.strip() else ""
    except yaml.YAMLError:
        parsed = value
    return key.strip(), parsed


def apply_overrides(cfg: dict[str, Any], overrides: Mapping[str, Any] | Sequence[str]) -> dict[str, Any]:
    """Apply dotted-key overrides to a config dict (stages by name, index or ``*``)."""
    cfg = copy.deepcopy(cfg)
    items = [parse_override(o) for o in overrides] if not isinstance(overrides, Mapping) else list(overrides.items())
    for key, value in items:
        parts = key.split(".")
        _set(cfg, parts, value, key)
    return cfg


def _set(node: Any, parts: list[str], value: Any, full: str) -> None:
    head, rest = parts[0], parts[1:]
    if isinstance(node, list):  # the stages list
        names = [s.get("name") for s in node]
        if head == "*":
            targets = node
        elif head in names:
            targets = [node[names.index(head)]]
        elif head.isdigit() and int(head) < len(node):
            targets = [node[int(head)]]
        else:
            raise ConfigError(f"unknown stage {head!r} in {full!r}; stages are {names}.{suggest(head, names)}")
        if not rest:
            raise ConfigError(f"{full!r} names a whole stage; name one of its keys, e.g. {full}.epochs")
        for t in targets:
            _set(t, rest, value, full)
        return
    if not rest:
        node[head] = value
        return
    child = node.get(head)
    if child is None:
        child = node[head] = {}
    if not isinstance(child, (dict, list)):
        raise ConfigError(f"{full!r}: {'.'.join(parts[:1])} is a value, not a group of options")
    _set(child, rest, value, full)


def epoch_scale_overrides(cfg: RunConfig, k: float) -> dict[str, int]:
    """Overrides that multiply every stage's epochs (and LDAM's ``drw_epoch``) by ``k``.

    Recipes keep their proportions under a longer or shorter budget. Epochs are rounded, a
    training stage keeps at least one, and a post-hoc stage (0 epochs) stays post hoc.

    >>> from sartail.config import load_config
    >>> cfg = load_config("three_stage")
    >>> epoch_scale_overrides(cfg, 4)["stages.rough.epochs"], epoch_scale_overrides(cfg, 4)["stages.residual.epochs"]
    (120, 80)
    """
    if not k > 0 or k != k or k == float("inf"):
        raise ConfigError(f"the epoch scale must be a positive number, got {k!r}")
    out: dict[str, Any] = {}
    for stage in cfg.stages:
        epochs = max(1, round(stage.epochs * k)) if stage.epochs > 0 else 0
        out[f"stages.{stage.name}.epochs"] = epochs
        if stage.loss.drw_epoch is not None:
            out[f"stages.{stage.name}.loss.drw_epoch"] = scaled_drw_epoch(stage.loss.drw_epoch, stage.epochs, epochs)
        sched = scaled_schedule(stage.schedule, stage.epochs, epochs)
        if sched != stage.schedule:
            out[f"stages.{stage.name}.schedule.warmup_epochs"] = sched.warmup_epochs
            out[f"stages.{stage.name}.schedule.milestones"] = list(sched.milestones)
    return out


def scaled_schedule(schedule: ScheduleConfig, epochs: int, new_epochs: int) -> ScheduleConfig:
    """The one rule for a schedule's epoch positions when a stage's epochs change.

    The warm-up and the step milestones keep their fraction of the stage: a recipe's 1-epoch
    warm-up of 30 epochs (3 %) stays 3 % of the 259 epochs that the budget floor makes of it on
    387 MSTAR-LT chips, instead of shrinking to 0.4 %. (On MSTAR-LT this moved no recipe
    significantly; benchmarks/history/2026-12-01-accuracy-former-defaults.md, "the optimizer ablation".)

    >>> s = scaled_schedule(ScheduleConfig(warmup_epochs=1, milestones=(20.0,)), 30, 60)
    >>> s.warmup_epochs, s.milestones
    (2.0, (40.0,))
    """
    if epochs <= 0 or new_epochs == epochs:
        return schedule
    f = new_epochs / epochs
    return dataclasses.replace(schedule, warmup_epochs=round(schedule.warmup_epochs * f, 6),
                               milestones=tuple(round(m * f, 6) for m in schedule.milestones))


def scaled_drw_epoch(drw_epoch: int, epochs: int, new_epochs: int) -> int:
    """The one rule for LDAM's deferred re-weighting epoch when a stage's epochs change.

    It keeps its place relative to the stage's length and stays inside the stage, so the
    re-weighted phase never vanishes (at least the last epoch is re-weighted).

    >>> scaled_drw_epoch(20, 30, 60), scaled_drw_epoch(20, 30, 2), scaled_drw_epoch(20, 30, 1)
    (40, 1, 0)
    """
    return max(0, min(new_epochs - 1, round(drw_epoch * new_epochs / max(epochs, 1))))


def _flat(d: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(d, Mapping):
        out: dict[str, Any] = {}
        for k, v in d.items():
            out.update(_flat(v, f"{prefix}{k}."))
        return out
    return {prefix.rstrip("."): d}


def config_differences(a: RunConfig, b: RunConfig, *, stages: bool = False) -> list[str]:
    """Dotted keys where two configs differ (the stages only when ``stages``)."""
    da, db = a.to_dict(), b.to_dict()
    if not stages:
        for d in (da, db):
            d.pop("stages", None)
    for d in (da, db):
        d.pop("description", None)
        d.pop("tensorboard", None)  # a log, not a setting of the run
        for record in ("scale", "note"):  # what the budget floor applied (its effect is in the epochs)
            d.get("budget", {}).pop(record, None)
    fa, fb = _flat(da), _flat(db)
    return sorted(k for k in set(fa) | set(fb) if fa.get(k) != fb.get(k))
