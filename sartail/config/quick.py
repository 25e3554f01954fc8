"""The quick settings (``sartail demo`` and notebooks that train earlier stages themselves), and stage roles.

:func:`sartail.launch.params.make_config` builds a recipe at these settings. A stage's
*role* is its name when that is one of the three-stage names (``rough``, ``residual``,
``balanced``, ``classifier``); otherwise a head-only stage (cRT, LWS) plays ``classifier``,
a recipe's first stage ``rough`` and any other ``balanced``. Quick epochs are given per role;
the notebooks' ``REMOVE`` sets the classes of the ``residual`` role.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .schema import StageConfig

#: Epochs per stage role at the quick settings.
QUICK_EPOCHS: dict[str, int] = {"rough": 12, "residual": 8, "balanced": 4, "classifier": 6}
#: The quick settings train the fixed epochs above: no budget floor (comparisons at quick settings
#: rely on the equal-budget ``ce@equal`` control instead; see :mod:`sartail.run.budget`).
QUICK_BUDGET: dict[str, int] = {"budget.min_samples": 0, "budget.head_min_samples": 0}
#: Channels of the first SARNet stage at the quick settings.
QUICK_WIDTH = 8
#: The role whose removed classes the notebooks' ``REMOVE`` parameter sets.
REMOVES_ROLE = "residual"


def stage_role(stage: Mapping[str, Any] | StageConfig, index: int) -> str:
    """The role of a recipe's stage at ``index`` (a :class:`StageConfig`, or a stage dict of :func:`~sartail.config.recipe_dict`)."""
    name, train = (stage["name"], stage.get("train")) if isinstance(stage, Mapping) else (stage.name, stage.train)
    if name in QUICK_EPOCHS:
        return name
    return "classifier" if train in ("head", "scales") else "rough" if index == 0 else "balanced"


def is_post_hoc(stage: Mapping[str, Any] | StageConfig) -> bool:
    """A stage that trains nothing (tau-norm: 0 epochs and a tau grid)."""
    if isinstance(stage, Mapping):
        return stage.get("epochs", 10) == 0 and bool(stage.get("tau_grid"))
    return stage.epochs == 0 and bool(stage.tau_grid)
