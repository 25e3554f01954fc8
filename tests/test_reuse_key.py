"""The key under which a trained stage is reused: the whole config but an explicit list of fields."""
from __future__ import annotations

import dataclasses

from sartail.config import RunConfig, StageConfig, config_differences, load_config, stage_settings
from sartail.config.edits import RUN_FIELDS_WITHOUT_EFFECT, STAGE_FIELDS_WITHOUT_EFFECT
from sartail.run.reuse import stage_key


def test_one_list_of_settings_without_effect_serves_reuse_state_and_differences():
    cfg = load_config("three_stage")
    other = load_config("three_stage", {"recipe": "renamed", "checkpoint_every": 5, "tensorboard": True,
                                        "description": "x", "stages.rough.description": "y"})
    assert stage_key(cfg, 3) == stage_key(other, 3)
    assert config_differences(cfg, other, stages=True) == []
    assert stage_settings(cfg, "rough") == stage_settings(other, "rough")
    lr = cfg.with_stage("rough", **{"optimizer.lr": 0.1})
    assert config_differences(cfg, lr, stages=True) == ["stages"]
    assert stage_settings(lr, "rough")["optimizer"]["lr"] == 0.1 and stage_key(cfg, 0) != stage_key(lr, 0)


def test_every_field_but_the_listed_ones_is_in_the_key():
    key = stage_key(load_config("three_stage"), 0)
    fields = {f.name for f in dataclasses.fields(RunConfig)}
    assert set(key) == fields - RUN_FIELDS_WITHOUT_EFFECT - {"budget"}  # a resolved config: the floor is in the epochs
    stage_fields = {f.name for f in dataclasses.fields(StageConfig)}
    assert set(key["stages"][0]) == stage_fields - STAGE_FIELDS_WITHOUT_EFFECT


def test_only_the_stages_up_to_i_and_no_descriptions_count():
    cfg = load_config("three_stage")
    other = load_config("three_stage", {"stages.balanced.epochs": 99, "stages.rough.description": "changed",
                                        "description": "changed", "checkpoint_every": 7})
    assert stage_key(cfg, 1) == stage_key(other, 1)
    assert stage_key(cfg, 2) != stage_key(other, 2)
    assert stage_key(cfg, 0) != stage_key(load_config("three_stage", {"stages.rough.loss.name": "focal"}), 0)
