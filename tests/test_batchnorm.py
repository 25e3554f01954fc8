"""BatchNorm recalibration after a stage (``bn_recalibrate``, sartail/train/behaviours/bn_recalibration.py)."""
import pytest
import torch
from tiny_runs import TINY, stopped_and_resumed
from torch import nn

from sartail import Run
from sartail.config import StageConfig, load_config
from sartail.data.chipset import ChipSet
from sartail.errors import ConfigError
from sartail.train.behaviours.bn_recalibration import clean_batches, recalibrate_bn


def chips(n=130, size=10, seed=0):
    g = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (n, 1, size, size), generator=g, dtype=torch.uint8)
    return ChipSet.from_tensors(images, torch.arange(n) % 3, "abc")


def test_clean_batches_give_every_chip_once_in_order_centre_cropped_with_no_lone_chip():
    c = chips(n=129, size=10)
    batches = list(clean_batches(c, 64, size=6))
    assert [b.shape[0] for b in batches] == [43, 43, 43]  # 129 = 64 + 64 + 1 would leave one chip alone
    assert all(b.shape[1:] == (1, 6, 6) and b.dtype == torch.float32 for b in batches)
    assert torch.equal(torch.cat(batches), c.pixels().float()[..., 2:8, 2:8])
    assert [b.shape[0] for b in clean_batches(c, 200)] == [129] and list(clean_batches(c.take([]), 64)) == []


def test_recalibrated_statistics_are_the_average_of_the_clean_batches():
    c = chips(n=128, size=8)
    bn = nn.BatchNorm2d(1)
    model = nn.Sequential(bn, nn.Conv2d(1, 2, 3))
    with torch.no_grad():  # statistics of some other data, as after mixed batches
        bn.running_mean.fill_(-50.0)
        bn.running_var.fill_(7.0)
    weight = model[1].weight.clone()
    model.eval()
    assert recalibrate_bn(model, c, 32) == 1
    batches = list(clean_batches(c, 32))
    want_mean = torch.stack([b.mean() for b in batches]).mean()
    want_var = torch.stack([b.var(unbiased=True) for b in batches]).mean()
    assert torch.allclose(bn.running_mean, want_mean.reshape(1), atol=1e-4)
    assert torch.allclose(bn.running_var, want_var.reshape(1), rtol=1e-5)
    assert not model.training and bn.momentum == 0.1  # mode and momentum restored
    assert torch.equal(model[1].weight, weight)
    assert recalibrate_bn(nn.Linear(2, 2), c, 32) == 0


def test_bn_recalibrate_is_refused_on_a_frozen_body():
    with pytest.raises(ConfigError, match="bn_recalibrate"):
        StageConfig(name="crt", train="head", bn_recalibrate=True)
    StageConfig(name="shift", train="head", bn="update", bn_recalibrate=True)  # MiSLAS-like: allowed


def test_a_recalibrated_stage_keeps_its_weights_and_replaces_its_statistics(tmp_path):
    over = {**TINY, "stages.*.epochs": 2, "stages.rough.augment.cutmix_prob": 1.0}
    runs = {}
    for name, flag in (("raw", False), ("recal", True)):
        run = Run.create(load_config("cutmix", {**over, "stages.rough.bn_recalibrate": flag}), tmp_path / name,
                         progress=False)
        run.fit()
        runs[name] = run
    raw, recal = runs["raw"], runs["recal"]
    a = raw.load_model(raw.dir.stage_checkpoint(0, "rough"))
    b = recal.load_model(recal.dir.stage_checkpoint(0, "rough"))
    sa, sb = a.state_dict(), b.state_dict()
    stats = [k for k in sa if "running_" in k]
    assert stats and all(torch.equal(sa[k], sb[k]) for k in sa if k not in stats and "num_batches" not in k)
    assert all(not torch.equal(sa[k], sb[k]) for k in stats)
    train = raw.data.train
    recalibrate_bn(a, train, 64, size=raw.cfg.data.size if raw.cfg.data.load_size else None)
    assert all(torch.allclose(a.state_dict()[k], sb[k], rtol=1e-4, atol=1e-5) for k in stats)  # as documented (channels_last aside)
    rec = [r for r in recal.dir.metrics() if "bn_recalibrated" in r]
    assert len(rec) == 1 and rec[0]["stage"] == "rough" and rec[0]["bn_recalibrated"] == len(train)
    assert not [r for r in raw.dir.metrics() if "bn_recalibrated" in r]


def test_a_recalibrated_stage_resumes_bit_for_bit(tmp_path):
    over = {**TINY, "stages.*.epochs": 2, "stages.rough.bn_recalibrate": True}
    ref, again = stopped_and_resumed(tmp_path, "cutmix", over, ("rough", 2, 2))
    a = ref.load_model(ref.dir.stage_checkpoint(0, "rough")).state_dict()
    b = again.load_model(again.dir.stage_checkpoint(0, "rough")).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert ref.dir.metrics() == again.dir.metrics()
