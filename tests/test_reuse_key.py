"""The key under which a trained stage is reused: the whole config but an explicit list of fields."""
from __future__ import annotations

import dataclasses

from sartail.config import RunConfig, StageConfig, load_config
from sartail.run.reuse import RUN_FIELDS_WITHOUT_EFFECT, STAGE_FIELDS_WITHOUT_EFFECT, stage_key, stage_key_of


def test_a_field_added_to_the_config_changes_the_key():
    d = load_config("three_stage").to_dict()
    base = stage_key_of(d, 1)
    assert stage_key_of({**d, "new_option": 1}, 1) != base  # a new run field is in the key unless listed
    stages = [dict(s) for s in d["stages"]]
    stages[0]["new_stage_option"] = "x"
    assert stage_key_of({**d, "stages": stages}, 1) != base


def test_every_field_but_the_listed_ones_is_in_the_key():
    key = stage_key(load_config("three_stage"), 0)
    fields = {f.name for f in dataclasses.fields(RunConfig)}
    assert set(key) == fields - RUN_FIELDS_WITHOUT_EFFECT
    stage_fields = {f.name for f in dataclasses.fields(StageConfig)}
    assert set(key["stages"][0]) == stage_fields - STAGE_FIELDS_WITHOUT_EFFECT


def test_only_the_stages_up_to_i_and_no_descriptions_count():
    cfg = load_config("three_stage")
    other = load_config("three_stage", {"stages.balanced.epochs": 99, "stages.rough.description": "changed",
                                        "description": "changed", "checkpoint_every": 7})
    assert stage_key(cfg, 1) == stage_key(other, 1)
    assert stage_key(cfg, 2) != stage_key(other, 2)
    assert stage_key(cfg, 0) != stage_key(load_config("three_stage", {"stages.rough.loss.name": "focal"}), 0)
