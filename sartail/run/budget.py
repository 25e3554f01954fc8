"""The budget floor: a recipe's training length in chip presentations, fair at any data size.

Convergence is a matter of optimizer steps, not epochs: on a few hundred MSTAR-LT chips the
shipped 30 epochs of ``ce`` are a fraction of the steps it needs, on 300,000 MAVOC chips far
beyond any need (BENCHMARKS.md, the budget floor). So a run lengthens its stages when the
data are small:

- body-training stages (``train: all``) together get at least ``budget.min_samples`` chip
  presentations: every one of them is lengthened by the same factor
  ``K = max(1, min_samples / sum_i epochs_i * epoch_length_i)``, so the recipe keeps its
  proportions (``RunConfig.with_epochs``: LDAM's ``drw_epoch``, the warm-up and the step
  milestones keep their place in each stage, :mod:`sartail.config.edits`);
- each head-only stage (``train: head | scales``) gets at least ``budget.head_min_samples``;
- post-hoc stages (0 epochs) stay post hoc.

The user's ``--epoch-scale`` is applied before, as a multiplier of the shipped epochs; the
floor then only lengthens. What was applied is recorded in ``budget.scale`` / ``budget.note``
of the run's ``config.yaml`` and in ``results.json`` (``budget``).

The **equal-budget control** (:func:`equal_budget_control`) is ``ce`` trained for as many body
presentations as the longest recipe of a comparison gives its body.
"""
from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

from ..config import RunConfig, StageConfig, load_config
from ..data.splits import Splits, pretrain_chips
from ..train.samplers import EpochSampler

#: The recipe of the equal-budget control, and its row name in comparisons.
CONTROL_RECIPE, CONTROL_NAME = "ce", "ce@equal"
#: ``ce`` at its own floor is the control when its body is within one epoch or this share of the
#: target. Each body stage's epochs are rounded up, so a multi-stage recipe at the same floor shows a
#: few hundred presentations more than ``ce`` (MSTAR-LT at 150 k: 150,600 against 150,156).
CONTROL_TOLERANCE = 0.01


def is_body_stage(stage: StageConfig) -> bool:
    return stage.train == "all" and stage.epochs > 0


def stage_lengths(cfg: RunConfig, data: Splits) -> list[int]:
    """Chips per epoch of every stage of ``cfg`` on ``data`` (its sampler on the stage's view)."""
    out = []
    for stage in cfg.stages:
        view = pretrain_chips(data, stage)  # a pretrain stage also sees the unlabelled pool
        out.append(len(EpochSampler(stage.sampler, view.labels, view.num_classes, max(stage.epochs, 1))))
    return out


def body_presentations(cfg: RunConfig, lengths: Sequence[int]) -> int:
    """Chip presentations of the body-training stages of ``cfg`` (epochs x chips per epoch)."""
    return sum(s.epochs * n for s, n in zip(cfg.stages, lengths) if is_body_stage(s))


def _k(n: float) -> str:
    return f"{n / 1000:.1f} k".replace(".0 k", " k") if n >= 1000 else f"{n:.0f}"


def floor_epochs(cfg: RunConfig, lengths: Sequence[int]) -> tuple[list[int], float, str]:
    """Epochs of every stage under the budget floor, the body's factor K and a note saying what was done."""
    b = cfg.budget
    epochs = [s.epochs for s in cfg.stages]
    body = body_presentations(cfg, lengths)
    k = max(1.0, b.min_samples / body) if body and b.min_samples else 1.0
    notes = []
    if k > 1:
        for i, s in enumerate(cfg.stages):
            if is_body_stage(s):
                epochs[i] = math.ceil(s.epochs * k - 1e-9)
        notes.append(f"body epochs x{k:.1f}: budget floor {_k(b.min_samples)} presentations "
                     f"({_k(body)} at the recipe's epochs)")
    elif body:
        notes.append(f"budget floor {_k(b.min_samples)} not binding ({_k(body)} body presentations)"
                     if b.min_samples else "budget floor disabled")
    for i, (s, n) in enumerate(zip(cfg.stages, lengths)):
        if s.train != "all" and s.epochs > 0 and b.head_min_samples and s.epochs * n < b.head_min_samples:
            epochs[i] = math.ceil(b.head_min_samples / n)
            notes.append(f"{s.name} {s.epochs} -> {epochs[i]} epochs (head floor {_k(b.head_min_samples)})")
    return epochs, k, "; ".join(notes)


def resolve_budget(cfg: RunConfig, data: Splits) -> RunConfig:
    """``cfg`` with the budget floor applied on ``data``; a config already resolved is returned as it is."""
    if cfg.budget.scale is not None:
        return cfg
    epochs, k, note = floor_epochs(cfg, stage_lengths(cfg, data))
    return cfg.with_epochs(epochs, dataclasses.replace(cfg.budget, scale=round(k, 4), note=note))


def equal_budget_control(template: RunConfig, target: int, data: Splits) -> RunConfig:
    """``ce`` with the run-level settings of ``template``, trained for ``target`` body presentations.

    ``template`` is the comparison's own ``ce`` config when it has one (its overrides kept),
    else any of its configs (only data, model, seed and options are taken from it).
    """
    if template.recipe == CONTROL_RECIPE:
        base = dataclasses.replace(template, budget=dataclasses.replace(template.budget, scale=None, note=""))
    else:
        ce = load_config(CONTROL_RECIPE)
        keep = {f.name: getattr(template, f.name) for f in dataclasses.fields(RunConfig)
                if f.name not in ("recipe", "stages", "description", "budget")}
        base = dataclasses.replace(ce, **keep)
    lengths = stage_lengths(base, data)
    body = body_presentations(base, lengths)
    if not body:
        raise ValueError(f"recipe {CONTROL_RECIPE!r} has no body-training stage")
    k = target / body
    epochs = [max(1, round(s.epochs * k)) if is_body_stage(s) else s.epochs for s in base.stages]
    own = resolve_budget(base, data)  # ce at its own floor: the same run when it is within an epoch of the target
    if abs(body_presentations(own, lengths) - target) <= max(max(lengths), CONTROL_TOLERANCE * target):
        epochs = [s.epochs for s in own.stages]
    note = f"equal-budget control: {_k(target)} body presentations, as the longest recipe (x{k:.1f})"
    return base.with_epochs(epochs, dataclasses.replace(base.budget, scale=round(k, 4), note=note))
