"""Samplers: drawn class frequencies match their targets, epochs are fresh, shards are exact."""
import math

import pytest
import torch

from sartail.errors import ConfigError, DataError
from sartail.train.samplers import EpochSampler, SamplerConfig, plan_batches

COUNTS = [500, 200, 80, 20, 5]


def labels_from(counts):
    return torch.repeat_interleave(torch.arange(len(counts)), torch.tensor(counts))


def drawn_frequencies(name, epochs=1, epoch_size=20000, **kw):
    s = EpochSampler(SamplerConfig(name=name, epoch_size=epoch_size, **kw), labels_from(COUNTS), len(COUNTS), epochs)
    g = torch.Generator().manual_seed(0)
    idx = s.indices(0, g)
    return s, torch.bincount(s.labels[idx], minlength=len(COUNTS)).double() / idx.numel(), idx


def chi2_ok(freq, p, n):
    """A chi-square goodness-of-fit check at a generous level (df <= 4, 99.9 % quantile ~18.5)."""
    expected = p * n
    stat = float((((freq * n) - expected) ** 2 / expected).sum())
    return stat < 18.5


@pytest.mark.parametrize("name,target", [
    ("class_balanced", torch.full((5,), 0.2, dtype=torch.float64)),
    ("sqrt", torch.tensor(COUNTS, dtype=torch.float64).sqrt() / torch.tensor(COUNTS, dtype=torch.float64).sqrt().sum()),
])
def test_drawing_samplers_match_their_target_frequencies(name, target):
    s, freq, idx = drawn_frequencies(name)
    assert idx.numel() == 20000
    assert torch.allclose(s.class_probabilities(0), target)
    assert chi2_ok(freq, target, idx.numel()), (name, freq, target)


def test_instance_sampler_is_a_permutation_with_natural_frequencies():
    s = EpochSampler(SamplerConfig("instance"), labels_from(COUNTS), 5)
    idx = s.indices(0, torch.Generator().manual_seed(1))
    assert sorted(idx.tolist()) == list(range(sum(COUNTS)))


def test_class_balanced_cycles_through_each_class_before_repeating():
    s = EpochSampler(SamplerConfig("class_balanced", epoch_size=1000), labels_from(COUNTS), 5)
    idx = s.indices(0, torch.Generator().manual_seed(2))
    for c in range(len(COUNTS)):
        drawn = idx[s.labels[idx] == c]
        # with k draws of a class of n chips, every chip is drawn floor(k/n) or ceil(k/n) times
        reps = torch.bincount(drawn, minlength=sum(COUNTS))[s.by_class[c]]
        assert int(reps.max()) - int(reps.min()) <= 1


def test_progressive_moves_from_instance_to_class_balanced():
    s = EpochSampler(SamplerConfig("progressive", epoch_size=20000), labels_from(COUNTS), 5, total_epochs=5)
    n = torch.tensor(COUNTS, dtype=torch.float64)
    assert torch.allclose(s.class_probabilities(0), n / n.sum())
    assert torch.allclose(s.class_probabilities(4), torch.full((5,), 0.2, dtype=torch.float64))
    mid = s.class_probabilities(2)
    assert torch.allclose(mid, 0.5 * n / n.sum() + 0.5 * 0.2)
    idx = s.indices(4, torch.Generator().manual_seed(3))
    freq = torch.bincount(s.labels[idx], minlength=5).double() / idx.numel()
    assert chi2_ok(freq, s.class_probabilities(4), idx.numel())


def test_undersample_caps_every_class_and_redraws_each_epoch():
    s = EpochSampler(SamplerConfig("undersample", max_per_class=30), labels_from(COUNTS), 5)
    a = s.indices(0, torch.Generator().manual_seed(0))
    b = s.indices(1, torch.Generator().manual_seed(1))
    assert torch.bincount(s.labels[a], minlength=5).tolist() == [30, 30, 30, 20, 5]
    assert len(set(a.tolist())) == a.numel()
    assert set(a.tolist()) != set(b.tolist())  # a fresh subset of the head each epoch
    assert len(s) == 115


def test_every_epoch_is_a_fresh_draw():
    s = EpochSampler(SamplerConfig("class_balanced"), labels_from(COUNTS), 5)
    a = s.indices(0, torch.Generator().manual_seed(10))
    b = s.indices(1, torch.Generator().manual_seed(11))
    assert not torch.equal(a, b)
    again = s.indices(0, torch.Generator().manual_seed(10))
    assert torch.equal(a, again)


def test_a_sampler_asked_for_a_class_without_chips_names_it():
    labels = torch.tensor([0, 0, 1, 1, 3])
    with pytest.raises(DataError, match=r"class\(es\) \[2\]"):
        EpochSampler(SamplerConfig("class_balanced"), labels, 4)


@pytest.mark.parametrize("kw", [{"name": "balanced"}, {"name": "undersample"}, {"name": "instance", "epoch_size": 0}])
def test_bad_sampler_configs_are_refused(kw):
    with pytest.raises(ConfigError):
        SamplerConfig(**kw)


@pytest.mark.parametrize("n,batch,world", [(1000, 128, 1), (1000, 128, 2), (257, 64, 3), (7, 2, 2), (128, 128, 1)])
def test_plan_batches_shards_without_losing_or_doubling(n, batch, world):
    idx = torch.randperm(n, generator=torch.Generator().manual_seed(0))
    shards = [plan_batches(idx, batch, r, world) for r in range(world)]
    steps = {len(s) for s in shards}
    assert len(steps) == 1  # every process takes the same number of steps
    assert steps.pop() == math.ceil(n / (batch * world))
    flat = torch.cat([b for s in shards for b in s])
    assert sorted(flat.tolist()) == list(range(n))
    sizes = [b.numel() for s in shards for b in s]
    assert max(sizes) <= batch and max(sizes) - min(sizes) <= 1


def test_plan_batches_refuses_fewer_chips_than_processes():
    with pytest.raises(DataError):
        plan_batches(torch.arange(1), 4, 0, 2)


def test_plan_batches_refuses_steps_without_a_chip():
    with pytest.raises(ConfigError, match="batch size of at least 2"):
        plan_batches(torch.arange(5), 1, 0, 2)
