"""The synthetic MAVOC-like generator: determinism, counts, chip statistics, subtle neighbours."""
import pytest
import torch
import torch.nn.functional as F

from sartail.data import DEFAULT_SCALE, MAVOC_CLASS_NAMES, MAVOC_TRAIN_COUNTS, make_synthetic, mavoc_counts
from sartail.data.synthetic import MODELS, _blur_valid, _gauss_taps, _smear_down, generate, parse_synthetic_args
from sartail.errors import DataError

#: neighbouring classes that differ only subtly: sedan / SUV, pickup / with trailer, flatbed / with trailer
NEIGHBOURS = [(0, 1), (2, 8), (6, 9)]


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Render on one thread: the chips do not depend on it (see the test below), and on a
    shared two-core machine two intra-op threads can slow rendering twenty-fold."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def balanced():
    """150 chips of every class (seed 11)."""
    return generate([150] * 10, seed=11, progress=False)


@pytest.fixture(scope="module")
def neighbours():
    """400 chips of each class of the neighbouring pairs (seed 0), the others absent."""
    counts = [400 if c in {i for pair in NEIGHBOURS for i in pair} else 0 for c in range(10)]
    return generate(counts, seed=0, progress=False)


# ------------------------------------------------------------------ counts and determinism
def test_mavoc_counts_follow_the_mavoc_proportions():
    assert sum(MAVOC_TRAIN_COUNTS) == 293_772
    assert mavoc_counts(1.0) == list(MAVOC_TRAIN_COUNTS)
    assert mavoc_counts(0.002) == [468, 56, 31, 21, 5, 5, 5, 5, 5, 5]
    assert mavoc_counts(0.002, min_per_class=1) == [468, 56, 31, 21, 3, 2, 2, 1, 2, 1]
    default = mavoc_counts()
    assert DEFAULT_SCALE == 0.015 and default == [3513, 421, 230, 160, 26, 13, 12, 9, 13, 9]
    with pytest.raises(DataError, match="scale must be positive"):
        mavoc_counts(0)


def test_make_synthetic_gives_a_long_tailed_train_and_a_balanced_test_set():
    train, test = make_synthetic(scale=0.001, test_per_class=6, seed=2, progress=False)
    assert train.class_counts().tolist() == mavoc_counts(0.001)
    assert test.class_counts().tolist() == [6] * 10
    for chips, prefix in ((train, "train"), (test, "test")):
        assert chips.synthetic and chips.source == f"synthetic:{prefix}"
        assert chips.class_names == MAVOC_CLASS_NAMES and chips.chip_size == (56, 56)
        assert chips.images.dtype == torch.uint8
        assert all(i.startswith(f"synthetic/{prefix}/") for i in chips.ids)
        assert "synthetic" in repr(chips)
    # the id names the class of the chip
    assert all(int(cid.split("/")[2]) == lab for cid, lab in zip(train.chip_ids, train.labels.tolist()))
    # the test set is not a copy of training chips
    assert not torch.equal(train.pixels(torch.arange(10)), test.pixels(torch.arange(10)))


def test_explicit_counts_and_size():
    chips = generate([3, 0, 1, 0, 0, 0, 0, 0, 0, 2], size=64, seed=0, progress=False)
    assert chips.class_counts().tolist() == [3, 0, 1, 0, 0, 0, 0, 0, 0, 2]
    assert chips.chip_size == (64, 64)
    train, _ = make_synthetic(counts=[4] * 10, test_per_class=1, progress=False)
    assert train.class_counts().tolist() == [4] * 10


def test_same_seed_same_chips():
    a = generate([20] * 10, seed=3, progress=False)
    b = generate([20] * 10, seed=3, progress=False)
    assert torch.equal(a.images, b.images) and torch.equal(a.labels, b.labels) and a.ids == b.ids


def test_distinct_seeds_differ():
    a = generate([20] * 10, seed=3, progress=False)
    b = generate([20] * 10, seed=4, progress=False)
    assert not torch.equal(a.labels, b.labels)  # another shuffle
    same_class = (a.labels == b.labels).nonzero().reshape(-1)
    diff = (a.pixels(same_class).int() - b.pixels(same_class).int()).abs().float().mean()
    assert diff > 20  # not the same chips in another order


def test_chips_do_not_depend_on_the_thread_count():
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        a = generate([10] * 10, seed=8, progress=False)
        torch.set_num_threads(2)
        b = generate([10] * 10, seed=8, progress=False)
    finally:
        torch.set_num_threads(threads)
    assert torch.equal(a.images, b.images)


def test_labels_are_shuffled_not_sorted():
    chips = generate([30] * 10, seed=0, progress=False)
    assert not torch.equal(chips.labels, chips.labels.sort().values)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"counts": [1] * 9}, "10 non-negative"), ({"counts": [1] * 9 + [-1]}, "10 non-negative"),
     ({"counts": [1] * 10, "size": 24}, "at least 32 px")],
)
def test_generate_rejects_bad_arguments(kwargs, match):
    with pytest.raises(DataError, match=match):
        generate(progress=False, **kwargs)


def test_parse_synthetic_args():
    assert parse_synthetic_args("scale=0.02, seed=1,test_per_class=5") == {"scale": 0.02, "seed": 1, "test_per_class": 5}
    assert parse_synthetic_args("") == {}
    with pytest.raises(DataError, match="bad synthetic option 'colour=red'"):
        parse_synthetic_args("colour=red")


# ------------------------------------------------------------------ chip statistics
def test_chip_brightness_is_sar_like_for_every_class(balanced):
    px = balanced.pixels().float()
    for c in range(10):
        p = px[balanced.labels == c]
        assert 70 < p.mean() < 110, MAVOC_CLASS_NAMES[c]  # mid-grey clutter, like real MAVOC chips (~100)
        assert 35 < p.std() < 65
        # a bright target: most chips reach near-white somewhere
        assert (p.amax((1, 2, 3)) > 200).float().mean() > 0.9
        # and a radar shadow / speckle troughs: dark pixels exist in every chip
        assert ((p > 0) & (p < 40)).flatten(1).any(1).all()


def test_speckle_makes_neighbouring_pixels_rough(balanced):
    px = balanced.pixels().float()[:, 0, 8:48, 8:48]
    step = (px[:, :, 1:] - px[:, :, :-1]).abs().mean()
    assert step > 15  # multiplicative speckle: no smooth rendering


def test_a_share_of_chips_has_a_zero_padded_border(balanced):
    px = balanced.pixels()[:, 0]
    edges = torch.stack([(px[:, 0] == 0).all(1), (px[:, -1] == 0).all(1), (px[:, :, 0] == 0).all(1),
                         (px[:, :, -1] == 0).all(1)], 1)
    share = edges.any(1).float().mean().item()
    assert 0.6 < share < 0.8  # 1 - (1 - 0.35 * 3/4) ** 4 = 0.70 expected
    # borders are 1 to 3 px wide, never more
    assert not (px[:, 3] == 0).all(1).any() and not (px[:, :, -4] == 0).all(1).any()
    # inside, only the deepest shadow / speckle troughs clip to zero
    assert (px[:, 3:-3, 3:-3] == 0).float().mean() < 0.05


def target_energy(chips):
    smooth = F.avg_pool2d(chips.pixels().float(), 3, stride=1)  # tame the speckle
    return (smooth - 120).clamp(min=0).sum((1, 2, 3))


def test_neighbouring_classes_differ_but_subtly(neighbours):
    energy = target_energy(neighbours)
    for a, b in NEIGHBOURS:
        ea, eb = energy[neighbours.labels == a], energy[neighbours.labels == b]
        z = (eb.mean() - ea.mean()) / (ea.var() / ea.numel() + eb.var() / eb.numel()).sqrt()
        ratio = (eb.mean() / ea.mean()).item()
        assert z > 2.5, (MAVOC_CLASS_NAMES[a], MAVOC_CLASS_NAMES[b], z)  # the bigger vehicle returns more
        assert 1.05 < ratio < 1.5, (MAVOC_CLASS_NAMES[a], MAVOC_CLASS_NAMES[b], ratio)  # ... but not much more


def test_distant_classes_differ_clearly(balanced):
    energy = target_energy(balanced)
    moto, bus = energy[balanced.labels == 5].mean(), energy[balanced.labels == 7].mean()
    assert bus / moto > 2.5


def footprint(model):
    return sum(p.length * p.width for p in model.parts)


def test_every_class_has_its_own_geometry():
    assert len(MODELS) == 10
    shapes = {(tuple(model.parts), tuple(model.scatterers)) for model in MODELS}
    assert len(shapes) == 10
    for a, b in NEIGHBOURS:
        ratio = footprint(MODELS[b]) / footprint(MODELS[a])
        assert 1.05 < ratio < 1.5
    areas = [footprint(m) for m in MODELS]
    assert areas.index(min(areas)) == 5 and areas.index(max(areas)) == 7  # motorcycle .. bus


# ------------------------------------------------------------------ the fast renderer's pieces
@pytest.mark.parametrize("steps", [0, 1, 2, 3, 4, 6, 7, 8, 10, 13])
def test_shadow_smear_equals_a_sliding_maximum(steps):
    g = torch.Generator().manual_seed(steps)
    mask = torch.rand(3, 20, 9, generator=g) * (torch.rand(3, 20, 9, generator=g) < 0.2)
    reference = F.max_pool2d(F.pad(mask.unsqueeze(1), (0, 0, steps, 0)), (steps + 1, 1), stride=1).squeeze(1)
    assert torch.equal(_smear_down(mask, steps), reference)


def test_separable_blur_equals_the_2d_convolution():
    x = torch.randn(4, 30, 27, generator=torch.Generator().manual_seed(0))
    taps = torch.tensor(_gauss_taps(2.0))
    kernel = torch.outer(taps, taps).view(1, 1, 9, 9)
    reference = F.conv2d(x.unsqueeze(1), kernel).squeeze(1)
    out = _blur_valid(x, _gauss_taps(2.0))
    assert out.shape == (4, 22, 19)
    torch.testing.assert_close(out, reference, atol=1e-5, rtol=1e-5)
