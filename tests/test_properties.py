"""Property-based tests (hypothesis): long-tail profiles, class removal and its inverse mapping,
the samplers in a distributed epoch, and the metrics against scikit-learn.

Every test runs a bounded number of examples, derandomized (the same examples on every run, no
example database), so the suite's time is fixed. How many examples each test ran is printed at
the end of the module (``pytest -s``) and merged into ``$SARTAIL_RELIABILITY_COUNTS`` if set.
"""
from __future__ import annotations

import itertools
import math
import warnings
from collections import Counter

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm
from tiny_runs import report_reliability_counts

from sartail.data import ChipSet
from sartail.data.longtail import (
    exponential_counts,
    long_tailed,
    mavoc_shaped_counts,
    profile_counts,
    step_counts,
)
from sartail.errors import DataError
from sartail.eval.metrics import ShotGroups, evaluate_logits
from sartail.train.samplers import EpochSampler, SamplerConfig, plan_batches

EXAMPLES: Counter[str] = Counter()


def props(n: int):
    """A test's settings: ``n`` examples at most, the same ones every run, no deadline."""
    return settings(max_examples=n, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def count(name: str) -> None:
    """Count an example that passed its assumptions (hypothesis may run a few it then rejects)."""
    EXAMPLES[name] += 1


@pytest.fixture(scope="module", autouse=True)
def report_examples():
    yield
    summary = {"tests": len(EXAMPLES), "examples": sum(EXAMPLES.values()), "per_test": dict(sorted(EXAMPLES.items()))}
    report_reliability_counts("test_properties", summary)


# ------------------------------------------------------------------------------ strategies
available_counts = st.lists(st.integers(1, 3000), min_size=1, max_size=12)
ratios = st.floats(1.0, 1000.0, allow_nan=False, allow_infinity=False)


@st.composite
def chip_sets(draw, min_classes=2, max_classes=8, max_chips=60, every_class=False):
    """A small chip set whose pixels name their row (so a view shows which chips it took)."""
    c = draw(st.integers(min_classes, max_classes))
    if every_class:
        labels = list(range(c)) + draw(st.lists(st.integers(0, c - 1), max_size=max_chips - c))
        labels = draw(st.permutations(labels))
    else:
        labels = draw(st.lists(st.integers(0, c - 1), min_size=1, max_size=max_chips))
    n = len(labels)
    images = (torch.arange(n) % 256).to(torch.uint8).view(n, 1, 1, 1).expand(n, 1, 2, 2).clone()
    names = [f"class{i}" for i in range(c)]
    return ChipSet.from_tensors(images, labels, names, [f"{names[lab]}/{i}.png" for i, lab in enumerate(labels)])


# ------------------------------------------------------------------------------ long-tail profiles
@props(200)
@given(available_counts, ratios)
def test_exponential_profile_is_feasible_decreasing_and_has_the_ratio(available, ratio):
    count("exponential_profile")
    counts = exponential_counts(available, ratio)
    n_max = min(available)
    assert len(counts) == len(available) and counts[0] == n_max
    assert all(1 <= c <= a for c, a in zip(counts, available))
    assert all(a >= b for a, b in itertools.pairwise(counts))
    if len(counts) > 1:
        assert counts[-1] == max(1, round(n_max / ratio))


@props(200)
@given(available_counts, ratios, st.floats(0.05, 0.95))
def test_step_profile_has_a_head_and_a_tail(available, ratio, head_fraction):
    count("step_profile")
    counts = step_counts(available, ratio, head_fraction)
    n_max, c = min(available), len(available)
    n_head = max(1, round(c * head_fraction))
    assert counts == [n_max] * min(n_head, c) + [max(1, round(n_max / ratio))] * max(c - n_head, 0)
    assert all(1 <= x <= a for x, a in zip(counts, available))


@props(200)
@given(available_counts, st.none() | ratios)
def test_mavoc_shaped_profile_never_asks_for_more_chips_than_there_are(available, ratio):
    count("mavoc_profile")
    counts = mavoc_shaped_counts(available, ratio)
    assert len(counts) == len(available)
    assert all(1 <= x <= a for x, a in zip(counts, available))
    assert max(counts) == counts[0]  # MAVOC's head class stays the head


@props(60)
@given(chip_sets(every_class=True), st.sampled_from(["exp", "step", "mavoc"]), ratios, st.integers(0, 2**31 - 1))
def test_long_tailed_subset_has_the_profile_counts_and_only_real_distinct_chips(chips, profile, ratio, seed):
    count("long_tailed_subset")
    sub = long_tailed(chips, profile, ratio, seed=seed)
    assert sub.class_counts().tolist() == profile_counts(chips.class_counts().tolist(), profile, ratio)
    ids = sub.chip_ids
    assert len(set(ids)) == len(ids) and set(ids) <= set(chips.chip_ids)
    position = {cid: i for i, cid in enumerate(chips.chip_ids)}
    src = torch.tensor([position[i] for i in ids], dtype=torch.int64)
    assert torch.equal(sub.labels, chips.labels[src])  # every chip keeps its class ...
    assert torch.equal(sub.pixels(), chips.pixels(src))  # ... and its pixels
    assert sub.images is chips.images  # a view: no pixel was copied
    again = long_tailed(chips, profile, ratio, seed=seed)
    assert again.chip_ids == ids  # the same seed draws the same subset


# ------------------------------------------------------------------------------ class removal
@st.composite
def removals(draw):
    chips = draw(chip_sets())
    removed = draw(st.lists(st.integers(0, chips.num_classes - 1), unique=True, max_size=chips.num_classes))
    return chips, removed


@props(150)
@given(removals())
def test_class_removal_drops_exactly_those_chips_and_maps_back(case):
    count("class_removal")
    chips, removed = case
    kept = [c for c in range(chips.num_classes) if c not in removed]
    if len(kept) < 2:
        with pytest.raises(DataError, match="at least two classes must remain"):
            chips.remove_classes(removed)
        return
    view = chips.remove_classes(removed)
    assert view.class_ids == tuple(kept)
    assert view.class_names == tuple(chips.class_names[c] for c in kept)
    expect = [i for i, lab in enumerate(chips.labels.tolist()) if lab not in removed]
    assert view.rows.tolist() == expect  # no chip of a kept class lost, none doubled, order kept
    # the inverse mapping: a view label -> its original class id -> the chip's original label
    assert torch.equal(torch.tensor(view.class_ids, dtype=torch.int64)[view.labels], chips.labels[expect])
    assert view.images is chips.images
    by_name = chips.remove_classes([chips.class_names[c] for c in removed])
    assert by_name.rows.tolist() == view.rows.tolist() and by_name.class_ids == view.class_ids
    assert view.class_ids == tuple(kept)


@props(100)
@given(removals(), st.data())
def test_removing_in_two_steps_equals_removing_at_once(case, data):
    chips, removed = case
    first = removed[: len(removed) // 2]
    second = removed[len(removed) // 2:]
    assume(chips.num_classes - len(removed) >= 2)
    count("class_removal_twice")
    once = chips.remove_classes(removed)
    twice = chips.remove_classes(first).remove_classes(second)  # original ids throughout
    assert twice.rows.tolist() == once.rows.tolist() and twice.class_ids == once.class_ids
    assert torch.equal(twice.labels, once.labels)
    unknown = data.draw(st.integers(chips.num_classes, chips.num_classes + 20))
    with pytest.raises(DataError, match=f"class {unknown} is not in this chip set"):
        chips.remove_classes([unknown])


# ------------------------------------------------------------------------------ samplers
@st.composite
def sampler_cases(draw):
    c = draw(st.integers(1, 8))
    counts = draw(st.lists(st.integers(1, 40), min_size=c, max_size=c))
    labels = torch.repeat_interleave(torch.arange(c), torch.tensor(counts))
    labels = labels[torch.randperm(labels.numel(), generator=torch.Generator().manual_seed(draw(st.integers(0, 999))))]
    name = draw(st.sampled_from(["instance", "class_balanced", "sqrt", "progressive", "undersample"]))
    kw = {}
    if name == "undersample":
        kw["max_per_class"] = draw(st.integers(1, 40))
    elif name != "instance":
        kw["epoch_size"] = draw(st.none() | st.integers(1, 300))
    epochs = draw(st.integers(1, 6))
    return EpochSampler(SamplerConfig(name=name, **kw), labels, c, epochs), draw(st.integers(0, epochs - 1))


@props(200)
@given(sampler_cases(), st.integers(0, 2**31 - 1), st.integers(1, 64), st.integers(1, 8))
def test_no_chip_is_lost_or_doubled_in_a_distributed_epoch(case, seed, batch_size, world):
    sampler, epoch = case
    n = sampler.labels.numel()
    idx = sampler.indices(epoch, torch.Generator().manual_seed(seed))
    assert idx.numel() == len(sampler)
    assert idx.numel() == 0 or (int(idx.min()) >= 0 and int(idx.max()) < n)
    assert torch.equal(idx, sampler.indices(epoch, torch.Generator().manual_seed(seed)))  # reproducible
    name = sampler.cfg.name
    per_chip = torch.bincount(idx, minlength=n)
    if name == "instance":
        assert per_chip.tolist() == [1] * n  # every chip exactly once
    elif name == "undersample":
        cap = sampler.cfg.max_per_class
        assert int(per_chip.max()) <= 1
        assert torch.bincount(sampler.labels[idx], minlength=sampler.num_classes).tolist() == \
            sampler.counts.clamp(max=cap).tolist()
    else:  # drawing samplers cycle through a class before drawing any of its chips again
        for c in range(sampler.num_classes):
            k = per_chip[sampler.labels == c]
            assert int(k.max()) - int(k.min()) <= 1
    assume(idx.numel() >= world)
    assume(batch_size > 1 or world == 1)  # batch size 1 over several processes is refused (test_samplers)
    count("distributed_epoch")
    shards = [plan_batches(idx, batch_size, rank, world) for rank in range(world)]
    assert len({len(s) for s in shards}) == 1  # every process takes the same number of steps
    assert all(b.numel() <= batch_size for s in shards for b in s)
    assert all(b.numel() > 0 for s in shards for b in s)
    everything = torch.cat([b for s in shards for b in s])
    assert torch.equal(everything.sort().values, idx.sort().values)  # the epoch, no chip lost or doubled


# ------------------------------------------------------------------------------ metrics
@st.composite
def predictions(draw):
    c = draw(st.integers(2, 8))
    n = draw(st.integers(1, 200))
    targets = draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n))
    preds = draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n))
    seed = draw(st.integers(0, 2**31 - 1))
    noise = torch.rand(n, c, generator=torch.Generator().manual_seed(seed))
    logits = noise + 3.0 * torch.nn.functional.one_hot(torch.tensor(preds), c)  # argmax = preds
    counts = draw(st.lists(st.integers(0, 300), min_size=c, max_size=c))
    return logits, torch.tensor(targets), np.array(targets), np.array(preds), counts


@props(80)
@given(predictions())
def test_metrics_agree_with_scikit_learn(case):
    count("metrics_vs_sklearn")
    logits, targets, y, p, train_counts = case
    c = logits.shape[1]
    names = [f"c{i}" for i in range(c)]
    groups = ShotGroups(many=100, few=20)
    m = evaluate_logits(logits, targets, names, train_counts=train_counts, groups=groups)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn warns of classes predicted but absent from y
        assert m["top1"] == pytest.approx(skm.accuracy_score(y, p))
        assert m["balanced"] == pytest.approx(skm.balanced_accuracy_score(y, p))
        present = np.unique(np.r_[y, p])
        assert m["macro_f1"] == pytest.approx(skm.f1_score(y, p, average="macro", labels=present, zero_division=0))
        recall = skm.recall_score(y, p, average=None, labels=range(c), zero_division=0)
    assert m["confusion"] == skm.confusion_matrix(y, p, labels=range(c)).tolist()
    support = np.bincount(y, minlength=c)
    for i, name in enumerate(names):
        assert (m["per_class"][name] is None) == (support[i] == 0)
        if support[i]:
            assert m["per_class"][name] == pytest.approx(recall[i])
    assert m["n"] == len(y)
    probs = torch.softmax(logits.double(), 1).numpy()
    assert m["loss"] == pytest.approx(skm.log_loss(y, probs, labels=range(c)), rel=1e-5, abs=1e-6)
    for g in ("many", "medium", "few"):
        members = [i for i, n in enumerate(train_counts) if groups.assign([n])[0] == g and support[i]]
        want = float(np.mean([recall[i] for i in members])) if members else None
        assert (m[f"{g}_shot"] is None) == (want is None)
        if want is not None:
            assert m[f"{g}_shot"] == pytest.approx(want)
    # calibration: the bins partition the chips, and ECE is their weighted confidence gap
    bins = m["reliability"]
    assert sum(b["count"] for b in bins) == len(y)
    conf = torch.softmax(logits.float(), 1).max(1).values.double().numpy()  # as the kit bins them
    ece = sum(b["count"] / len(y) * abs(b["accuracy"] - b["confidence"]) for b in bins if b["count"])
    assert m["ece"] == pytest.approx(ece, abs=1e-9)
    edges = np.linspace(0, 1, len(bins) + 1)
    which = np.clip(np.searchsorted(edges[1:-1], conf, side="right"), 0, len(bins) - 1)
    assert [b["count"] for b in bins] == np.bincount(which, minlength=len(bins)).tolist()
    assert 0.0 <= m["ece"] <= 1.0 and not math.isnan(m["balanced"])
