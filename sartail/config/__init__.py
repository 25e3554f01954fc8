"""Run configuration: typed dataclasses built from recipe files plus overrides.

A run is described by one :class:`RunConfig` (data, model, training options and a list of
:class:`StageConfig`). Recipes are YAML files shipped in ``sartail/config/recipes``; any value
can be overridden with dotted keys, from Python or the command line::

    cfg = load_config("three_stage", {"stages.*.epochs": 2, "stages.residual.remove": [0, 1]})

A built config is edited as a dataclass (:mod:`sartail.config.edits`)::

    cfg = cfg.with_stage("rough", epochs=3, **{"optimizer.lr": 0.1})

Stages are addressed by name (or index); ``*`` stands for every stage. Unknown keys and
invalid values raise :class:`~sartail.errors.ConfigError` naming the key (and suggesting the
nearest valid one).
"""
from .build import build_dataclass
from .components import AugmentConfig, LossConfig, ModelConfig, SamplerConfig, ShotGroups, SSLConfig
from .edits import (
    config_differences,
    epoch_scaled,
    scaled_drw_epoch,
    scaled_schedule,
    settings,
    stage_settings,
)
from .inputs import KIND_INPUTS, kind_inputs
from .overrides import apply_overrides, parse_override
from .quick import QUICK_BUDGET, QUICK_EPOCHS, QUICK_WIDTH, stage_role
from .recipes import config_from_dict, load_config, load_scaled_config, recipe_dict, recipe_names, recipe_text
from .schema import (
    SELECT_MIN_VAL,
    BudgetConfig,
    DataConfig,
    MaxNormConfig,
    OptimizerConfig,
    RunConfig,
    ScheduleConfig,
    StageConfig,
)

__all__ = [
    "build_dataclass", "KIND_INPUTS", "kind_inputs", "AugmentConfig", "LossConfig", "ModelConfig", "SamplerConfig", "ShotGroups", "SSLConfig",
    "apply_overrides", "config_differences", "epoch_scaled", "settings", "stage_settings", "parse_override", "scaled_drw_epoch", "scaled_schedule", "config_from_dict",
    "QUICK_BUDGET", "QUICK_EPOCHS", "QUICK_WIDTH", "stage_role", "load_config", "load_scaled_config", "recipe_dict", "recipe_names", "recipe_text", "DataConfig",
    "MaxNormConfig", "OptimizerConfig", "RunConfig", "ScheduleConfig", "StageConfig", "BudgetConfig", "SELECT_MIN_VAL",
]
