"""Recipes and overrides: every recipe loads; bad keys and values are refused by name."""
import pytest
import yaml

from sartail.config import apply_overrides, load_config, parse_override, recipe_dict, recipe_names
from sartail.errors import ConfigError

EXPECTED = {"three_stage", "ce", "crt", "lws", "tau_norm", "ldam_drw", "logit_adjust", "focal", "two_stage",
            "three_stage_head3", "mislas", "weight_balancing", "cutmix", "ema"}


def test_every_issued_recipe_is_shipped_and_valid():
    assert EXPECTED <= set(recipe_names())
    for name in recipe_names():
        cfg = load_config(name)
        assert cfg.recipe == name and cfg.stages and cfg.description


def test_three_stage_is_the_seed():
    cfg = load_config("three_stage")
    assert [s.name for s in cfg.stages] == ["rough", "residual", "balanced", "classifier"]
    rough, residual, balanced, classifier = cfg.stages
    assert rough.sampler.name == "instance" and rough.remove == ()
    assert residual.remove == (0,)
    assert balanced.sampler.name == "class_balanced" and balanced.train == "all"
    assert classifier.train == "head" and classifier.head == "reinit" and classifier.bn == "frozen"
    two = load_config("two_stage")
    assert [s.name for s in two.stages] == ["rough", "balanced", "classifier"]
    assert load_config("three_stage_head3").stage("residual").remove == (0, 1, 2)


def test_overrides_by_stage_name_index_and_wildcard():
    cfg = load_config("three_stage", {"stages.*.epochs": 2, "stages.residual.remove": [0, 3], "stages.0.epochs": 5,
                                      "model.width": 8, "data.scale": 0.01})
    assert [s.epochs for s in cfg.stages] == [5, 2, 2, 2]
    assert cfg.stage("residual").remove == (0, 3)
    assert cfg.model.width == 8 and cfg.data.scale == 0.01


def test_command_line_overrides_are_parsed_as_yaml():
    assert parse_override("stages.rough.epochs=3") == ("stages.rough.epochs", 3)
    assert parse_override("stages.residual.remove=[0,1]") == ("stages.residual.remove", [0, 1])
    assert parse_override("amp=false") == ("amp", False)
    cfg = load_config("ce", ["stages.rough.optimizer.lr=0.1", "data.profile=exp", "data.ratio=50"])
    assert cfg.stage("rough").optimizer.lr == 0.1 and cfg.data.profile == "exp" and cfg.data.ratio == 50.0


@pytest.mark.parametrize("key,match", [
    ("stages.rough.epoch", "Did you mean 'epochs'"),
    ("stages.rough.optimiser.lr", "Did you mean 'optimizer'"),
    ("modle.width", "Did you mean 'model'"),
    ("stages.rouhg.epochs", "Did you mean 'rough'"),
    ("data.scal", "Did you mean 'scale'"),
])
def test_unknown_keys_suggest_the_nearest(key, match):
    with pytest.raises(ConfigError, match=match):
        load_config("three_stage", {key: 1})


@pytest.mark.parametrize("key,value,match", [
    ("stages.rough.optimizer.lr", -0.1, "lr must be > 0"),
    ("stages.rough.epochs", -1, "epochs must be >= 0"),
    ("stages.rough.epochs", 1.5, "must be an integer"),
    ("stages.rough.sampler.name", "balanced", "Did you mean 'class_balanced'"),
    ("stages.rough.loss.name", "ldm", "Did you mean 'ldam'"),
    ("model.arch", "resnet", "unknown model.arch"),
    ("batch_size", 0, "batch_size"),
    ("amp", "maybe", "true or false"),
    ("device", "tpu", "device must be"),
    ("data.val_fraction", 1.5, "val_fraction"),
])
def test_invalid_values_are_refused_with_the_key(key, value, match):
    with pytest.raises(ConfigError, match=match):
        load_config("three_stage", {key: value})


def test_unknown_recipe_suggests_the_nearest():
    with pytest.raises(ConfigError, match="Did you mean 'three_stage'"):
        load_config("three_stag")


def test_recipe_file_by_path(tmp_path):
    raw = recipe_dict("ce")
    raw["stages"][0]["epochs"] = 3
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump(raw))
    cfg = load_config(str(path))
    assert cfg.stage("rough").epochs == 3


def test_saved_config_round_trips():
    from sartail.config import config_from_dict

    cfg = load_config("ldam_drw", {"seed": 3})
    again = config_from_dict(yaml.safe_load(yaml.safe_dump(cfg.to_dict())))
    assert again == cfg


def test_whole_stage_override_is_refused():
    with pytest.raises(ConfigError, match="names a whole stage"):
        apply_overrides(recipe_dict("ce"), {"stages.rough": 1})


def test_epoch_scale_keeps_each_recipes_proportions():
    from sartail.config import epoch_scaled, load_scaled_config

    cfg = load_scaled_config("three_stage", {"stages.residual.epochs": 5}, 4)
    assert [s.epochs for s in cfg.stages] == [120, 20, 40, 40]  # the override first, then the scale
    ldam = load_scaled_config("ldam_drw", [], 2)
    assert ldam.stages[0].epochs == 60 and ldam.stages[0].loss.drw_epoch == 40
    tau = load_scaled_config("tau_norm", (), 0.01)
    assert [s.epochs for s in tau.stages] == [1, 0]  # a training stage keeps one epoch; post hoc stays post hoc
    assert load_scaled_config("ce", (), 1) == load_config("ce")
    for bad in (0, -1, float("nan"), float("inf")):
        with pytest.raises(ConfigError, match="epoch scale must be a positive number"):
            epoch_scaled(load_config("ce"), bad)


def test_the_data_kind_sets_input_defaults_that_explicit_values_override(tmp_path):
    """MSTAR trains on 64 px with batch 64 unless the user or the recipe says otherwise; other kinds keep 56 / 128."""
    from sartail.config import KIND_INPUTS, load_scaled_config

    mstar = load_config("three_stage", {"data.train": "MSTAR:/chips"})  # the kind prefix is case-insensitive
    assert (mstar.data.size, mstar.batch_size) == (64, 64) == (KIND_INPUTS["mstar"]["data.size"],
                                                                KIND_INPUTS["mstar"]["batch_size"])
    assert (load_config("ce").data.size, load_config("ce").batch_size) == (56, 128)
    for spec in ("mavoc:/m", "folder:/f", "synthetic:scale=0.01"):
        cfg = load_config("ce", {"data.train": spec})
        assert (cfg.data.size, cfg.batch_size) == (56, 128), spec
    cfg = load_config("ce", ["data.train=mstar:/chips", "data.size=48"])  # the user's value wins, per key
    assert (cfg.data.size, cfg.batch_size) == (48, 64)
    recipe = tmp_path / "mine.yaml"
    recipe.write_text("batch_size: 32\ndata: {train: 'mstar:/chips'}\nstages: [{name: rough, epochs: 2}]\n")
    cfg = load_config(str(recipe))  # so does the recipe's
    assert (cfg.data.size, cfg.batch_size) == (64, 32)
    scaled = load_scaled_config("ce", {"data.train": "mstar:/chips"}, epoch_scale=2)
    assert (scaled.data.size, scaled.batch_size, scaled.stages[0].epochs) == (64, 64, 2 * load_config("ce").stages[0].epochs)
    # a saved config.yaml is rebuilt as written, never re-defaulted
    from sartail.config import config_from_dict

    old = load_config("ce", ["data.train=mstar:/chips", "data.size=56", "batch_size=128"]).to_dict()
    assert (config_from_dict(old).data.size, config_from_dict(old).batch_size) == (56, 128)


def test_configs_are_edited_as_dataclasses_and_validated():
    cfg = load_config("three_stage")
    assert cfg.stage_index("balanced") == 2
    with pytest.raises(ConfigError, match="no stage 'balance'.*balanced"):
        cfg.stage_index("balance")
    edited = cfg.with_stage("residual", remove=[0, 1], **{"optimizer.lr": 0.1, "sampler.name": "class_balanced"})
    st = edited.stage("residual")
    assert (st.remove, st.optimizer.lr, st.sampler.name) == ((0, 1), 0.1, "class_balanced")
    assert edited.stage("rough") == cfg.stage("rough") and cfg.stage("residual").remove == (0,)
    assert edited == load_config("three_stage", {"stages.residual.remove": [0, 1], "stages.residual.optimizer.lr": 0.1,
                                                 "stages.residual.sampler.name": "class_balanced"})
    with pytest.raises(ConfigError, match="stages.residual.optimizer.lrr"):
        cfg.with_stage("residual", **{"optimizer.lrr": 0.1})
    with pytest.raises(ConfigError, match="epochs must be >= 0"):
        cfg.with_stage("rough", epochs=-1)
    with pytest.raises(ConfigError, match="must be an integer"):
        cfg.with_stage("rough", epochs="x")
