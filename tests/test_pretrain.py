"""The ``pretrain`` stage kind: labels unused, heads dropped, bit-identical resume, budget, recipes."""
import copy
import dataclasses

import pytest
import torch
from tiny_runs import TINY, stopped_and_resumed

from sartail import Run
from sartail.config import ModelConfig, load_config, recipe_names
from sartail.data.chipset import ChipSet
from sartail.data.splits import Splits
from sartail.errors import ConfigError, RunError
from sartail.models import build_model
from sartail.run.budget import body_presentations, equal_budget_control, floor_epochs, stage_lengths
from sartail.run.sweep import Planned, data_key, resolved_plan
from sartail.train.kinds import Pretrain, build_kind
from sartail.train.loop import Context, fit_stage

CLASSES = "abc"


def chips(n: int, seed: int, labels=None) -> ChipSet:
    g = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (n, 1, 16, 16), generator=g, dtype=torch.uint8)
    return ChipSet.from_tensors(images, torch.arange(n) % 3 if labels is None else labels, CLASSES)


def pretrain_stage(**changes):
    stage = load_config("ce_pretrained", {"stages.pretrain.epochs": 2}).stage("pretrain")
    return dataclasses.replace(stage, **changes)


def pretrained(train, *, kind=None, resume=None, save=None, every=0):
    torch.manual_seed(0)
    model = build_model(ModelConfig(width=4), 3)
    kind = kind or Pretrain()
    result = fit_stage(model, pretrain_stage(), train, None,
                       Context(batch_size=16, progress=False, checkpoint_every=every), kind=kind, resume=resume, save=save)
    return model, kind, result


def test_the_pretrain_stage_never_reads_labels_permuted_labels_give_byte_identical_weights():
    train = chips(48, 1)
    permuted = chips(48, 1, labels=train.labels[torch.randperm(48, generator=torch.Generator().manual_seed(3))])
    assert not torch.equal(permuted.labels, train.labels)
    a, _, ra = pretrained(train)
    b, _, rb = pretrained(permuted)
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)
    assert [r["train_loss"] for r in ra.history] == [r["train_loss"] for r in rb.history]


def test_the_heads_are_dropped_the_body_learns_and_the_head_is_untouched():
    train = chips(48, 1)
    torch.manual_seed(0)
    before = build_model(ModelConfig(width=4), 3)
    saved = []
    model, kind, result = pretrained(train, save=saved.append)
    assert kind.heads is None  # the projector and predictor do not outlive the stage
    assert model.state_dict().keys() == before.state_dict().keys()  # nothing of them in the model
    assert torch.equal(model.head.weight, before.head.weight)
    x = train.images[:8].float()
    model.eval(), before.eval()
    with torch.no_grad():
        assert (model.features(x) - before.features(x)).abs().max() > 1e-3
    assert [r["train_acc"] for r in result.history] == [0.0, 0.0] and result.val == {}
    assert all(-1 <= r["train_loss"] <= 1 for r in result.history)  # SimSiam's negative cosine
    heads = saved[-1]["kind"]["heads"]
    assert any(k.startswith("projector.") for k in heads) and any(k.startswith("predictor.") for k in heads)


def test_resume_mid_pretrain_is_bit_identical_heads_and_optimizer_included():
    train = chips(48, 1)
    saved = []
    full, _, _ = pretrained(train, save=saved.append, every=2)
    mid = next(s for s in saved if (s["epoch"], s["step"]) == (0, 2))  # inside the first epoch
    assert mid["kind"]["heads"]
    again, _, _ = pretrained(train, resume=copy.deepcopy(mid))
    a, b = full.state_dict(), again.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    fresh_heads = copy.deepcopy(mid)
    fresh_heads["kind"] = {}  # without the heads' state the resumed run differs: the state is what makes it exact
    other, _, _ = pretrained(train, resume=fresh_heads)
    assert not all(torch.equal(a[k], other.state_dict()[k]) for k in a)


def test_a_run_stopped_inside_pretraining_resumes_to_the_same_weights_and_results(tmp_path):
    over = {**TINY, "stages.pretrain.epochs": 2}
    ref, again = stopped_and_resumed(tmp_path, "ce_pretrained", over, ("pretrain", 1, 2))
    a, b = ref.model.state_dict(), again.model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert ref.test().stages["rough"].balanced == again.test().stages["rough"].balanced


def test_the_budget_counts_pretraining_and_ce_at_equal_budget_trains_as_long_as_the_whole_body(tmp_path):
    cfg = load_config("ce_pretrained")
    epochs, k, _ = floor_epochs(cfg, [400, 400])
    assert k == pytest.approx(150_000 / (60 * 400)) and epochs == [188, 188]  # both stages lengthened alike
    per_class = (40, 20, 10)

    def part(counts):
        labels = torch.cat([torch.full((n,), c) for c, n in enumerate(counts)])
        return ChipSet.from_tensors(torch.zeros(len(labels), 1, 8, 8, dtype=torch.uint8), labels, list(CLASSES))

    data = Splits(part(per_class), part((4, 2, 1)), part((4, 2, 1)))
    no_floor = {"budget.min_samples": 0, "budget.head_min_samples": 0, "seed": 0}
    plan = [Planned(r, load_config(r, no_floor), tmp_path / r / "seed-0") for r in ("ce", "three_stage_pretrained")]
    out = resolved_plan(plan, {data_key(plan[0].cfg): data}, control=True)
    three = body_presentations(out[1].cfg, stage_lengths(out[1].cfg, data))
    assert three == 30 * 70 + 30 * 70 + 20 * 30 + 10 * 70  # pre-training counts like any body stage
    control = out[-1]
    assert control.name == "ce@equal" and control.cfg.stages[0].epochs == round(three / 70) == 79
    ce_pre = load_config("ce_pretrained", no_floor)
    assert equal_budget_control(ce_pre, body_presentations(ce_pre, [70, 70]), data).stages[0].epochs == 60


def test_every_shipped_recipe_but_the_pretrained_ones_is_supervised_throughout():
    for name in recipe_names():
        kinds = {s.kind for s in load_config(name).stages}
        assert kinds == ({"pretrain", "supervised"} if name.endswith("_pretrained") else {"supervised"}), name


def test_a_pretrain_stage_refuses_settings_that_need_labels_or_a_frozen_body():
    with pytest.raises(ConfigError, match="set select: last"):
        load_config("ce_pretrained", {"stages.pretrain.select": "best"})
    with pytest.raises(ConfigError, match="set train: all"):
        load_config("ce_pretrained", {"stages.pretrain.train": "head"})
    with pytest.raises(ConfigError, match="mixup and cutmix"):
        load_config("ce_pretrained", {"stages.pretrain.augment.mixup": 0.2})
    with pytest.raises(ConfigError, match="ssl.method must be one of"):
        load_config("ce_pretrained", {"stages.pretrain.ssl.method": "simsam"})
    with pytest.raises(ConfigError, match="kind must be one of"):
        load_config("ce", {"stages.rough.kind": "pretrian"})
    assert isinstance(build_kind("pretrain"), Pretrain)


@pytest.mark.parametrize("recipe", ["ce_pretrained", "three_stage_pretrained"])
def test_the_pretrained_recipes_run_end_to_end_and_the_pretrain_stage_is_not_scored(tmp_path, recipe):
    run = Run.create(load_config(recipe, TINY), tmp_path / recipe, progress=False)
    results = run.fit_and_test()
    assert "pretrain" not in results.stages and results.final_stage == run.cfg.stages[-1].name
    assert set(results.stages) == {s.name for s in run.cfg.stages[1:]}
    assert 0 <= results.final.balanced <= 1
    assert run.results["pretrain"].val == {}
    with pytest.raises(RunError, match="self-supervised pre-training"):
        run.score_stage("pretrain")


def test_an_unlabelled_pool_feeds_the_pretrain_stage_only_counts_in_its_budget_and_is_named(tmp_path, write_chip):
    import numpy as np

    for i in range(20):
        write_chip(tmp_path / "pool" / f"chip{i}.png", np.full((40, 40), 5 * i, np.uint8))
    cfg = load_config("ce_pretrained", {**TINY, "data.unlabelled": f"folder:{tmp_path / 'pool'}"})
    run = Run.create(cfg, tmp_path / "run", progress=False)
    n_train = len(run.data.train)
    assert len(run.data.unlabelled) == 20 and (run.data.unlabelled.labels == -1).all()
    assert stage_lengths(run.cfg, run.data) == [n_train + 20, n_train]  # the pool is pre-training's only
    results = run.fit_and_test()
    assert run.results["pretrain"].history[-1]["train_seen"] == n_train + 20
    assert run.results["rough"].history[-1]["train_seen"] == n_train
    assert results.data["unlabelled_pool"] == f"folder:{(tmp_path / 'pool').resolve()}"
    assert results.data["unlabelled_chips"] == 20
    assert "unlabelled_pool" not in Run.create(load_config("ce", TINY), tmp_path / "plain", progress=False).data.summary()
    plain = Run.create(load_config("ce", {**TINY, "data.unlabelled": f"folder:{tmp_path / 'pool'}"}), tmp_path / "ce",
                       progress=False)  # a pool given to a recipe that does not pre-train: loaded, not claimed
    assert "unlabelled_pool" not in plain.data.summary(plain.cfg.stages)
    assert stage_lengths(plain.cfg, plain.data) == [len(plain.data.train)]


def test_a_bad_unlabelled_pool_is_a_one_line_error_before_training(tmp_path):
    from sartail.errors import DataError

    with pytest.raises(ConfigError, match="data.unlabelled must be KIND:PATH"):
        load_config("ce_pretrained", {"data.unlabelled": "nowhere"})
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="holds no chips"):
        Run.create(load_config("ce_pretrained", {**TINY, "data.unlabelled": f"folder:{tmp_path / 'empty'}"}),
                   tmp_path / "r1", progress=False)
    assert not (tmp_path / "r1" / "checkpoints").exists() or not any((tmp_path / "r1" / "checkpoints").iterdir())


def test_the_unlabelled_option_reaches_the_config_from_the_command_line():
    from sartail.cli.parser import build_parser
    from sartail.launch.params import data_overrides, params_from_args

    args = build_parser().parse_args(["run", "ce_pretrained", "--unlabelled", "mavoc_test:/chips"])
    assert data_overrides(params_from_args(args))["data.unlabelled"] == "mavoc_test:/chips"


def test_the_ssl_defaults_are_the_views_and_methods_the_components_know():
    from sartail.config import SSLConfig
    from sartail.config.components import SSL_METHOD_NAMES
    from sartail.data.views import DEFAULT_VIEW, parse_view
    from sartail.ssl_heads import SSL_METHODS

    assert parse_view(SSLConfig().view) == DEFAULT_VIEW and SSL_METHOD_NAMES == SSL_METHODS
    with pytest.raises(ConfigError, match="unknown view transform 'blur'"):
        pretrained_with = dataclasses.replace(pretrain_stage(), ssl=SSLConfig(view="flip=1,blur=2"))
        fit_stage(build_model(ModelConfig(width=4), 3), pretrained_with, chips(48, 1), None,
                  Context(batch_size=16, progress=False))


def test_the_protocol_pool_is_what_the_long_tailed_subset_left_out_and_no_test_or_validation_chip():
    over = {**TINY, "data.scale": 0.01, "data.profile": "exp", "data.ratio": 10, "data.unlabelled": "protocol"}
    from sartail.data.splits import prepare_data
    from sartail.errors import DataError

    data = prepare_data(load_config("ce_pretrained", over), progress=False)
    pool = set(data.unlabelled.chip_ids)
    assert len(pool) == len(data.unlabelled) > 0 and (data.unlabelled.labels == -1).all()
    for part in (data.train, data.val, data.test):
        assert not pool & set(part.chip_ids)
    with pytest.raises(DataError, match="protocol pool .* is empty"):  # no long-tailed subset: nothing left out
        prepare_data(load_config("ce_pretrained", {**TINY, "data.unlabelled": "protocol"}), progress=False)
