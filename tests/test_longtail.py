"""Long-tail tools: profiles, seeded subsets, class maps and the stratified split."""
import pytest
import torch

from sartail.data import MAVOC_TRAIN_COUNTS, ChipSet
from sartail.data.longtail import (
    exponential_counts,
    imbalance_ratio,
    long_tailed,
    mavoc_shaped_counts,
    profile_counts,
    step_counts,
    stratified_split,
    subset_counts,
)
from sartail.errors import DataError


def balanced(per_class=100, classes=10):
    n = per_class * classes
    images = torch.arange(n, dtype=torch.int64).remainder(256).to(torch.uint8).view(n, 1, 1, 1).expand(n, 1, 2, 2)
    labels = torch.arange(classes).repeat(per_class)  # interleaved, as loaded sets rarely are sorted
    return ChipSet.from_tensors(images.clone(), labels, [f"c{i}" for i in range(classes)])


def shares_storage(view, base):
    return view.images.data_ptr() == base.images.data_ptr()


# ------------------------------------------------------------------ profiles
def test_exponential_profile():
    counts = exponential_counts([500] * 10, ratio=100)
    assert counts == [500, 300, 180, 108, 65, 39, 23, 14, 8, 5]
    assert imbalance_ratio(counts) == 100
    assert counts == sorted(counts, reverse=True)
    # n_max is the smallest available class, so every target can be met
    assert exponential_counts([900, 50, 700], ratio=10) == [50, 16, 5]
    assert exponential_counts([40] * 4, ratio=1) == [40] * 4
    assert exponential_counts([7], ratio=10) == [7]


def test_step_profile():
    assert step_counts([500] * 10, ratio=10) == [500] * 5 + [50] * 5
    assert step_counts([500] * 10, ratio=10, head_fraction=0.2) == [500] * 2 + [50] * 8
    assert imbalance_ratio(step_counts([300] * 6, ratio=20)) == 20
    assert step_counts([3] * 4, ratio=100) == [3, 3, 1, 1]  # never below one chip
    with pytest.raises(DataError, match="head_fraction"):
        step_counts([5] * 4, 10, head_fraction=1.0)


def test_mavoc_shaped_profile():
    counts = mavoc_shaped_counts([2000] * 10)
    top = max(MAVOC_TRAIN_COUNTS)
    assert counts == [max(1, round(c / top * 2000)) for c in MAVOC_TRAIN_COUNTS]
    assert counts[0] == 2000 and counts[1] == 240
    # the scale is set by the class that can supply the least, relative to its share
    fitted = mavoc_shaped_counts([10_000, 100, 10_000, 10_000, 10_000, 10_000, 10_000, 10_000, 10_000, 10_000])
    assert fitted[1] == 100 and all(f <= 10_000 for f in fitted)


def test_mavoc_shaped_profile_with_another_ratio():
    counts = mavoc_shaped_counts([5000] * 10, ratio=50)
    assert counts[0] == 5000 and imbalance_ratio(counts) == pytest.approx(50, rel=0.01)
    # the order of classes (MAVOC's) is kept: sedan is the head, class 7 (bus) the smallest
    assert counts.index(min(counts)) == 7


def test_mavoc_shape_stretched_over_another_number_of_classes():
    counts = mavoc_shaped_counts([100_000] * 4)
    assert len(counts) == 4 and counts[0] == 100_000 and counts == sorted(counts, reverse=True)
    assert imbalance_ratio(counts) == pytest.approx(max(MAVOC_TRAIN_COUNTS) / min(MAVOC_TRAIN_COUNTS), rel=0.01)


def test_profile_counts_dispatch_and_errors():
    avail = [100] * 5
    assert profile_counts(avail, "exp") == exponential_counts(avail, 100)
    assert profile_counts(avail, "step", 4) == step_counts(avail, 4)
    assert profile_counts(avail, "mavoc") == mavoc_shaped_counts(avail)
    assert profile_counts(avail, "counts", counts=[5, 4, 3, 2, 1]) == [5, 4, 3, 2, 1]
    with pytest.raises(DataError, match=r"unknown long-tail profile 'expo'.*Did you mean 'exp'"):
        profile_counts(avail, "expo")
    with pytest.raises(DataError, match="needs 5 explicit counts"):
        profile_counts(avail, "counts", counts=[1, 2])
    with pytest.raises(DataError, match="ratio must be >= 1"):
        profile_counts(avail, "exp", 0.5)


def test_imbalance_ratio_ignores_empty_classes():
    assert imbalance_ratio([100, 0, 4]) == 25
    assert imbalance_ratio(torch.tensor([6, 3])) == 2


# ------------------------------------------------------------------ subsets
def test_long_tailed_view_has_the_profile_counts_and_shares_pixels():
    base = balanced(100)
    lt = long_tailed(base, "exp", 10, seed=0)
    assert lt.class_counts().tolist() == exponential_counts([100] * 10, 10)
    assert shares_storage(lt, base)
    assert lt.rows.tolist() == sorted(lt.rows.tolist())  # the view keeps the base order
    assert torch.equal(lt.labels, base.labels[lt.rows])  # and each chip keeps its label


def test_subset_is_deterministic_by_seed():
    base = balanced(100)
    a = long_tailed(base, "step", 5, seed=1)
    b = long_tailed(base, "step", 5, seed=1)
    c = long_tailed(base, "step", 5, seed=2)
    assert torch.equal(a.rows, b.rows)
    assert not torch.equal(a.rows, c.rows)
    assert a.class_counts().tolist() == c.class_counts().tolist()


def test_subset_counts_explicit_and_errors():
    base = balanced(10, classes=3)
    sub = subset_counts(base, [10, 0, 3], seed=0)
    assert sub.class_counts().tolist() == [10, 0, 3]
    with pytest.raises(DataError, match=r"class 'c1': cannot draw 11 chips from the 10"):
        subset_counts(base, [1, 11, 1])
    with pytest.raises(DataError, match="2 counts given for 3 classes"):
        subset_counts(base, [1, 1])


def test_long_tailed_mstar(mstar_chips):
    lt = long_tailed(mstar_chips, "exp", 10, seed=0)
    assert lt.class_counts().tolist() == exponential_counts([299, 233, 298, 256, 233, 299, 298, 232, 299, 299], 10)
    assert lt.class_counts().tolist()[0] == 232 and imbalance_ratio(lt.class_counts()) == pytest.approx(10, rel=0.05)
    assert shares_storage(lt, mstar_chips)
    assert lt.chip_ids[0].split("/")[0] in mstar_chips.class_names


# ------------------------------------------------------------------ stratified split
def split_counts(chips, fraction, seed=0):
    rest, held = stratified_split(chips, fraction, seed)
    return rest, held, rest.class_counts().tolist(), held.class_counts().tolist()


def test_split_partitions_every_class():
    base = balanced(50)
    rest, held, rc, hc = split_counts(base, 0.2)
    assert hc == [10] * 10 and rc == [40] * 10
    assert set(rest.rows.tolist()).isdisjoint(held.rows.tolist())
    assert sorted(rest.rows.tolist() + held.rows.tolist()) == list(range(len(base)))
    assert shares_storage(rest, base) and shares_storage(held, base)


def test_split_keeps_a_chip_of_every_class_on_each_side_where_it_can():
    chips = ChipSet.from_tensors(torch.zeros(16, 1, 2, 2, dtype=torch.uint8),
                                 [0] * 10 + [1] * 3 + [2] * 2 + [3], ["a", "b", "c", "d"])
    _, _, rc, hc = split_counts(chips, 0.05)  # 5 % of 2 or 3 rounds to 0: still one held out
    assert rc == [9, 2, 1, 1] and hc == [1, 1, 1, 0]  # a single chip stays in the rest
    _, _, rc, hc = split_counts(chips, 0.95)  # and at least one stays behind
    assert rc == [1, 1, 1, 1] and hc == [9, 2, 1, 0]


def test_split_is_deterministic_by_seed():
    base = balanced(30)
    a, b = stratified_split(base, 0.3, seed=4), stratified_split(base, 0.3, seed=4)
    c = stratified_split(base, 0.3, seed=5)
    assert torch.equal(a[1].rows, b[1].rows) and not torch.equal(a[1].rows, c[1].rows)


def test_split_of_a_long_tailed_view():
    lt = long_tailed(balanced(100), "exp", 50, seed=0)
    rest, held, rc, hc = split_counts(lt, 0.1)
    assert [r + h for r, h in zip(rc, hc)] == lt.class_counts().tolist()
    assert min(hc) >= 1 and min(rc) >= 1
    assert set(held.rows.tolist()) <= set(lt.rows.tolist())


@pytest.mark.parametrize("fraction", [0, 1, -0.1, 1.5])
def test_split_fraction_must_lie_between_0_and_1(fraction):
    with pytest.raises(DataError, match=r"split fraction must lie in \(0, 1\)"):
        stratified_split(balanced(5), fraction)
