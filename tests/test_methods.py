"""Newer long-tail methods in the one loop and at prediction: MaxNorm (weight balancing),
CutMix, an EMA of the weights, test-time augmentation and seed ensembles."""
import pytest
import torch
from tiny_runs import TINY, stopped_and_resumed
from torch import nn

from sartail import Run
from sartail.config import AugmentConfig, LossConfig, load_config
from sartail.config.components import LOSSES
from sartail.data.augment import (
    chip_energy,
    cutmix,
    cutmix_box,
    energy_shares,
    mix_batch,
    paste_box,
    same_class_partners,
)
from sartail.errors import ConfigError
from sartail.eval.ensemble import Ensemble, ensemble, parse_tta, shift, views
from sartail.models import ModelConfig, build_model
from sartail.run.inference import load_ensemble
from sartail.train.behaviours.ema import WeightEMA
from sartail.train.behaviours.max_norm import clip_row_norms, max_norm_radius
from sartail.train.callbacks import Callback


class Watch(Callback):
    """Calls ``fn(stage_name)`` after every optimizer step (the run's model is then up to date)."""

    def __init__(self, fn, on_start=None):
        self.fn, self.start = fn, on_start

    def on_stage_start(self, start):
        if self.start:
            self.start(start.stage.name)

    def on_step(self, step):
        self.fn(step.stage)


# ------------------------------------------------------------------------------ MaxNorm
def test_clip_row_norms_caps_long_rows_and_keeps_directions():
    head = build_model(ModelConfig(width=4), 3).head
    with torch.no_grad():
        head.weight.copy_(torch.tensor([[3.0, 4.0] + [0.0] * 30, [0.6, 0.8] + [0.0] * 30, [0.0] * 31 + [2.0]]))
    clip_row_norms(head, 1.0)
    assert torch.allclose(head.weight.norm(dim=1), torch.tensor([1.0, 1.0, 1.0]))
    assert torch.allclose(head.weight[0, :2], torch.tensor([0.6, 0.8]))  # direction kept
    assert torch.equal(head.weight[1, :2], torch.tensor([0.6, 0.8]))  # a row inside the ball is untouched
    norms = torch.tensor([1.0, 2.0, 5.0])
    with torch.no_grad():
        head.weight.copy_(torch.diag(norms) @ torch.eye(3, 32))
    assert max_norm_radius(head, 0.1, relative=True) == pytest.approx(1.0 + 0.1 * 4.0)
    assert max_norm_radius(head, 0.3, relative=False) == 0.3


def test_max_norm_bounds_every_head_row_after_every_step(tmp_path):
    cfg = load_config("weight_balancing", {**TINY, "stages.maxnorm.epochs": 2})
    assert cfg.stage("maxnorm").max_norm.thresh == 0.1 and cfg.stage("maxnorm").train == "head"
    seen = {"radius": None, "before": None, "steps": 0, "worst": 0.0}
    run = None

    def start(name):
        if name == "maxnorm":
            norms = run.model.head.weight.detach().norm(dim=1)
            seen["radius"] = float(norms.min() + 0.1 * (norms.max() - norms.min()))
            seen["before"] = float(norms.max())

    def step(name):
        if name == "maxnorm":
            seen["steps"] += 1
            seen["worst"] = max(seen["worst"], float(run.model.head.weight.detach().norm(dim=1).max()))

    run = Run.create(cfg, tmp_path / "wb", progress=False, callbacks=[Watch(step, start)])
    run.fit()
    assert seen["steps"] > 2 and seen["before"] > 1.5 * seen["radius"]  # the cap has work to do
    assert seen["worst"] <= seen["radius"] * (1 + 1e-5)
    final = run.load_model(run.dir.stage_checkpoint(1, "maxnorm"))
    assert float(final.head.weight.detach().norm(dim=1).max()) <= seen["radius"] * (1 + 1e-5)


def test_max_norm_is_refused_on_a_stage_that_trains_only_scales():
    with pytest.raises(ConfigError, match="max_norm"):
        load_config("lws", {"stages.lws.max_norm.thresh": 0.1})


# ------------------------------------------------------------------------------ CutMix
def test_cutmix_box_and_label_weight_are_the_exact_pasted_area():
    assert cutmix_box(10, 10, 0.75, 5, 5) == (3, 7, 3, 7)  # sides 2 * (5 // 2): 16 pixels
    x = torch.arange(2.0)[:, None, None, None].expand(2, 1, 10, 10).contiguous()
    perm = torch.tensor([1, 0])
    mixed, lam = paste_box(x, perm, (3, 7, 3, 7))
    assert lam == pytest.approx(1 - 16 / 100)
    assert int((mixed[0] == 1).sum()) == 16 and int((mixed[1] == 0).sum()) == 16
    assert cutmix_box(10, 10, 0.75, 0, 9) == (0, 2, 7, 10)  # clipped at the border: 6 pixels
    assert paste_box(x, perm, (0, 2, 7, 10))[1] == pytest.approx(1 - 6 / 100)


@pytest.mark.parametrize("center", [1.0, 0.5, 0.0])
def test_cutmix_lam_is_each_chips_own_share_of_pixels(center):
    x = (torch.arange(16.0) + 1)[:, None, None, None].expand(16, 1, 24, 20).contiguous()
    for seed in range(10):
        mixed, perm, lam = cutmix(x, 1.0, torch.Generator().manual_seed(seed), center)
        for i in range(16):
            if perm[i] != i:
                own = float((mixed[i] == x[i, 0, 0, 0]).float().mean())
                assert own == pytest.approx(lam)
                other = mixed[i] != x[i, 0, 0, 0]
                assert torch.all(mixed[i][other] == x[perm[i], 0, 0, 0])
        if center == 0.0 and lam < 1:  # a central CutMix: the box is centred on the chip
            rows = other.any(-1).reshape(-1).nonzero().reshape(-1)
            assert abs((rows.min() + rows.max() + 1) / 2 - 12) <= 1
    again = cutmix(x, 1.0, torch.Generator().manual_seed(3), center)
    first = cutmix(x, 1.0, torch.Generator().manual_seed(3), center)
    assert torch.equal(again[0], first[0]) and again[2] == first[2]  # reproducible from the generator


def test_same_class_cutmix_pastes_only_from_chips_of_the_same_class_with_the_same_draws():
    y = torch.tensor([0, 1, 0, 2, 1, 0, 1, 1])
    x = (torch.arange(8.0) + 1)[:, None, None, None].expand(8, 1, 12, 12).contiguous()
    moved = 0
    for seed in range(20):
        mixed, perm, lam = cutmix(x, 1.0, torch.Generator().manual_seed(seed), 1.0, "area", y)
        assert sorted(perm.tolist()) == list(range(8)) and torch.equal(y[perm], y)  # a bijection within classes
        assert perm[3] == 3  # class 2's only chip keeps its own pixels
        any_class = cutmix(x, 1.0, torch.Generator().manual_seed(seed), 1.0, "area")
        assert lam == any_class[2]  # the same box: only the partners differ
        for i in range(8):
            assert set(mixed[i].unique().tolist()) <= {float(i + 1), float(perm[i] + 1)}
        moved += int((perm != torch.arange(8)).sum())
    assert moved > 0
    assert torch.equal(same_class_partners(torch.tensor([3, 2, 1, 0]), torch.tensor([0, 0, 1, 1])),
                       torch.tensor([1, 0, 3, 2]))  # class 0 in perm's order: 1, 0; class 1: 3, 2


def test_mix_batch_dispatches_and_refuses_both():
    x, g = torch.rand(4, 1, 8, 8), torch.Generator().manual_seed(0)
    assert mix_batch(x, AugmentConfig(), g) is None
    assert mix_batch(x, AugmentConfig(cutmix=1.0), g) is not None
    with pytest.raises(ConfigError, match="mixup and augment.cutmix"):
        AugmentConfig(mixup=0.2, cutmix=1.0)
    with pytest.raises(ConfigError, match="cutmix_center"):
        AugmentConfig(cutmix=1.0, cutmix_center=1.5)
    with pytest.raises(ConfigError, match="cutmix_pairs must be one of any, same_class, got 'class'"):
        AugmentConfig(cutmix=1.0, cutmix_pairs="class")
    with pytest.raises(ValueError, match="same_class needs the batch's labels"):
        mix_batch(x, AugmentConfig(cutmix=1.0, cutmix_pairs="same_class"), g)
    y = torch.tensor([0, 0, 1, 1])
    _, perm, _ = mix_batch(x, AugmentConfig(cutmix=1.0, cutmix_pairs="same_class"), g, y)
    assert torch.equal(y[perm], y)


def test_chip_energy_is_the_squared_grey_level_above_the_chips_median():
    x = torch.full((1, 1, 4, 4), 10.0)
    x[0, 0, 1, 2] = 13.0
    e = chip_energy(x)
    assert float(e[0, 0, 1, 2]) == 9.0 and float(e.sum()) == 9.0


def test_energy_labels_give_a_box_of_background_no_weight():
    x = torch.full((2, 1, 10, 10), 5.0)
    x[0, 0, 1, 1] = 20.0  # chip 0's one scatterer, outside the box
    x[1, 0, 6, 6] = 25.0  # chip 1's, inside it
    perm, box = torch.tensor([1, 0]), (5, 8, 5, 8)
    area = paste_box(x, perm, box)[1]
    assert area == pytest.approx(1 - 9 / 100)
    lam = energy_shares(x, perm, box, area)
    # chip 0 keeps all its energy and receives all of chip 1's: half and half
    assert float(lam[0]) == pytest.approx(0.5)
    # chip 1 loses all its energy and receives none of chip 0's: no weight either side -> area
    assert float(lam[1]) == pytest.approx(area)
    background = energy_shares(x, perm, (0, 1, 5, 10), area)  # a box holding no scatterer
    assert torch.allclose(background, torch.ones(2))  # each chip keeps its own label whole


def test_energy_cutmix_draws_the_same_box_and_weights_each_chip():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(8, 1, 16, 16, generator=g) * 255
    for seed in range(5):
        mixed_a, perm_a, lam_a = cutmix(x, 1.0, torch.Generator().manual_seed(seed), 1.0, "area")
        mixed_e, perm_e, lam_e = cutmix(x, 1.0, torch.Generator().manual_seed(seed), 1.0, "energy")
        assert torch.equal(mixed_a, mixed_e) and torch.equal(perm_a, perm_e)
        assert isinstance(lam_a, float) and lam_e.shape == (8,)
        assert bool(((lam_e >= 0) & (lam_e <= 1)).all())
    with pytest.raises(ConfigError, match="cutmix_labels"):
        AugmentConfig(cutmix=1.0, cutmix_labels="pixels")


def test_cutmix_prob_leaves_that_share_of_batches_unmixed():
    x, g = torch.rand(4, 1, 8, 8), torch.Generator().manual_seed(0)
    cfg = AugmentConfig(cutmix=1.0, cutmix_prob=0.5)
    mixed = [mix_batch(x, cfg, g) is not None for _ in range(400)]
    assert 160 < sum(mixed) < 240
    every = AugmentConfig(cutmix=1.0)  # prob 1 draws nothing more: the same boxes as before the option
    a = mix_batch(x, every, torch.Generator().manual_seed(5))
    b = cutmix(x, 1.0, torch.Generator().manual_seed(5))
    assert a is not None and torch.equal(a[0], b[0]) and a[2] == b[2]
    with pytest.raises(ConfigError, match="cutmix_prob"):
        AugmentConfig(cutmix=1.0, cutmix_prob=0.0)


@pytest.mark.parametrize("name", LOSSES)
def test_per_chip_label_weights_equal_the_batch_weight_when_all_alike(name):
    from sartail.train.losses import Loss, mixed_loss

    g = torch.Generator().manual_seed(1)
    logits, y = torch.randn(12, 4, generator=g), torch.randint(0, 4, (12,), generator=g)
    perm = torch.randperm(12, generator=g)
    loss = Loss(LossConfig(name=name, gamma=1.0, drw_epoch=0), [50, 20, 5, 2])
    loss.set_epoch(1)
    batch = mixed_loss(loss, logits, y, perm, 0.3)
    per_chip = mixed_loss(loss, logits, y, perm, torch.full((12,), 0.3))
    assert torch.allclose(batch, per_chip, atol=1e-6)
    w = torch.zeros(12)
    w[:6] = 1.0  # weight 1 on the first six chips' own labels, 0 on the rest's: their other labels
    mixed = mixed_loss(loss, logits, y, perm, w)
    assert not torch.allclose(mixed, batch)


def test_energy_cutmix_trains_in_the_loop(tmp_path):
    over = {**TINY, "stages.*.epochs": 1, "stages.rough.augment.cutmix_labels": "energy"}
    run = Run.create(load_config("cutmix", over), tmp_path / "e", progress=False)
    run.fit()
    area = Run.create(load_config("cutmix", {**TINY, "stages.*.epochs": 1}), tmp_path / "a", progress=False)
    area.fit()
    e_loss = [r["train_loss"] for r in run.dir.metrics()]
    a_loss = [r["train_loss"] for r in area.dir.metrics()]
    assert all(v == v and v > 0 for v in e_loss) and e_loss[0] != a_loss[0]


# ------------------------------------------------------------------------------ EMA
def test_weight_ema_warms_up_and_leaves_untrained_weights_exact():
    a, b = nn.Linear(3, 2), nn.Linear(3, 2)
    ema = WeightEMA(a, 0.999)
    assert ema.rate() == pytest.approx(2 / 11)
    with torch.no_grad():
        b.weight.copy_(a.weight + 1)
        b.bias.copy_(a.bias)
    ema.update(b)
    assert torch.allclose(ema.model.weight, a.weight + 9 / 11) and torch.equal(ema.model.bias, a.bias)
    assert ema.updates == 1 and ema.rate() == pytest.approx(3 / 12)


def test_ema_weights_are_what_the_stage_keeps_and_scores(tmp_path):
    over = {**TINY, "stages.rough.epochs": 2, "stages.rough.select": "last"}
    mirror = {"ema": None, "raw": None}
    run = None

    def step(name):  # an independent EMA of the raw weights, with the documented formula
        if mirror["ema"] is None:
            mirror["ema"] = WeightEMA(run.model, 0.99)
            mirror["ema"].model.load_state_dict(first_state)
        mirror["ema"].update(run.model)
        mirror["raw"] = {k: v.clone() for k, v in run.model.state_dict().items()}

    def start(name):
        nonlocal first_state
        first_state = {k: v.clone() for k, v in run.model.state_dict().items()}

    first_state = None
    run = Run.create(load_config("ema", {**over, "stages.rough.ema": 0.99}), tmp_path / "ema", progress=False,
                     callbacks=[Watch(step, start)])
    run.fit()
    res = run.test()
    kept = run.load_model(run.dir.stage_checkpoint(0, "rough")).state_dict()
    want = mirror["ema"].model.state_dict()
    params = {k for k, _ in run.model.named_parameters()}
    assert all(torch.allclose(kept[k], want[k], atol=1e-6) for k in want)
    assert any(not torch.allclose(kept[k], mirror["raw"][k], atol=1e-4) for k in params)  # not the raw weights
    assert all(torch.equal(kept[k], mirror["raw"][k]) for k in kept if "running_" in k)  # BN statistics copied
    plain = Run.create(load_config("ce", over), tmp_path / "ce", progress=False)
    plain_res = plain.fit_and_test()
    assert [r["train_loss"] for r in plain.dir.metrics()] == [r["train_loss"] for r in run.dir.metrics()]
    assert res.final != plain_res.final  # same training, but the average is what gets scored


def test_ema_resumes_bit_for_bit(tmp_path):
    over = {**TINY, "stages.rough.epochs": 2, "stages.rough.select": "last"}
    ref, again = stopped_and_resumed(tmp_path, "ema", over, ("rough", 2, 2))
    a = ref.load_model(ref.dir.stage_checkpoint(0, "rough")).state_dict()
    b = again.load_model(again.dir.stage_checkpoint(0, "rough")).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


# ------------------------------------------------------------------------------ TTA and ensembles
class MirrorBody(nn.Module):
    """A body whose features are the same for a chip and its mirror."""

    def __init__(self, body):
        super().__init__()
        self.body, self.out_features = body, body.out_features

    def forward(self, x):
        return self.body(x) + self.body(x.flip(-1))


def tiny_model(seed=0):
    torch.manual_seed(seed)
    model = build_model(ModelConfig(width=4), 5).eval()
    with torch.no_grad():
        model.head.weight.mul_(1e4)  # logits of order 1, not 1e-5, so that views make a difference
    return model


def test_tta_views_and_shifts():
    assert parse_tta("shift, flip") == ("flip", "shift") and parse_tta(None) == ()
    with pytest.raises(ConfigError, match="Did you mean 'flip'"):
        parse_tta("flop")
    x = torch.rand(2, 1, 6, 6)
    s = shift(x, 2, -1)
    assert torch.equal(s[..., 2:, :-1], x[..., :-2, 1:]) and not s[..., :2, :].any() and not s[..., -1].any()
    assert len(views(x, ("flip",))) == 2 and len(views(x, ("shift",))) == 5 and len(views(x, ("flip", "shift"))) == 10


def test_flip_tta_of_a_flip_symmetric_model_changes_nothing():
    model = tiny_model()
    x = torch.rand(8, 1, 24, 24) * 255
    model.body = MirrorBody(model.body)
    plain = model(x).softmax(1)
    assert torch.allclose(Ensemble([model], "flip")(x).softmax(1), plain, atol=1e-6)
    other = tiny_model(1)  # not symmetric: flips do change it (so the check above can fail)
    assert not torch.allclose(Ensemble([other], "flip")(x).softmax(1), other(x).softmax(1), atol=1e-4)


def test_an_ensemble_of_identical_models_is_the_model():
    m, x = tiny_model(), torch.rand(4, 1, 24, 24) * 255
    assert ensemble([m]) is m
    assert torch.equal(Ensemble([m, m], "flip,shift")(x), Ensemble([m], "flip,shift")(x))
    assert torch.allclose(Ensemble([m, m])(x).softmax(1), m(x).softmax(1), atol=1e-6)


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("ens")
    for name, extra in (("a", {}), ("b", {"stages.rough.remove": [9]})):
        Run.create(load_config("ce", {**TINY, **extra}), root / name, progress=False).fit_and_test()
    return root / "a", root / "b"


def test_predict_and_eval_of_an_ensemble(two_runs, tmp_path, capsys):
    import json

    from sartail.cli import main
    a, _ = two_runs
    one, two = tmp_path / "one.json", tmp_path / "two.json"
    data = "synthetic:test_per_class=5,seed=3"
    assert main(["eval", str(a), "--data", data, "--out", str(one), "--quiet"]) == 0
    assert main(["eval", str(a), str(a), "--tta", "flip", "--data", data, "--out", str(two), "--quiet"]) == 0
    r1, r2 = json.loads(one.read_text()), json.loads(two.read_text())
    assert r2["runs"] == [str(a), str(a)] and r2["tta"] == "flip" and r2["n"] == r1["n"] == 50
    model, _ = load_ensemble([a, a], "flip", progress=False)
    assert isinstance(model, Ensemble) and len(model.members) == 2 and model.tta == ("flip",)


def test_an_ensemble_of_runs_with_other_classes_is_refused(two_runs):
    a, b = two_runs
    with pytest.raises(ConfigError, match="predict different classes"):
        load_ensemble([a, b], progress=False)
