"""The synthetic MAVOC-like generator: determinism, counts, chip statistics, subtle neighbours."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from sartail.data import DEFAULT_SCALE, MAVOC_CLASS_NAMES, MAVOC_TRAIN_COUNTS, make_synthetic, mavoc_counts
from sartail.data._memory import release_free_memory
from sartail.data.sources.synthetic import (
    MODELS,
    _smear_down,
    generate,
    parse_synthetic_args,
    render_chips,
)
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
        assert 85 < p.mean() < 120, MAVOC_CLASS_NAMES[c]  # mid-grey clutter, like real MAVOC chips (~101)
        assert 22 < p.std() < 45  # real: 30.9
        # a bright target: most chips reach well above the clutter somewhere
        assert (p.amax((1, 2, 3)) > 190).float().mean() > 0.75
    # brightness varies from chip to chip (real: 5th..95th percentile of chip means 82..123)
    lo, hi = torch.quantile(px.mean((1, 2, 3)), torch.tensor([0.05, 0.95])).tolist()
    assert hi - lo > 25


def test_speckle_is_correlated_not_white(balanced):
    px = balanced.pixels().float()[:, 0, 8:48, 8:48]
    d = px - px.mean((1, 2), keepdim=True)
    acf1 = ((d[:, :, 1:] * d[:, :, :-1]).mean((1, 2)) / d.square().mean((1, 2))).nanmedian()  # all-dark: nan
    assert 0.7 < acf1 < 0.9  # real MAVOC: 0.80 (white speckle: about 0)


def test_zero_borders_are_as_rare_as_in_real_chips():
    chips = generate([200] * 10, seed=3, progress=False)
    px = chips.pixels()[:, 0]
    edges = torch.stack([(px[:, 0] == 0).all(1), (px[:, -1] == 0).all(1), (px[:, :, 0] == 0).all(1),
                         (px[:, :, -1] == 0).all(1)], 1)
    share = edges.any(1).float().mean().item()
    assert share < 0.03  # native sizes below 56 px (0.6 %) and all-dark chips (0.24 %)
    assert (px == 0).float().mean() < 0.01


def test_native_sizes_pad_like_the_mavoc_loader():
    from sartail.data.decode import DecodeOptions, fit_chip

    # at 64 px every chip is a 54..60 px native chip zero-padded as the loader pads it
    chips = generate([30] * 10, size=64, seed=1, progress=False)
    px = chips.pixels()[:, 0].numpy()
    lit = px.any(1)  # columns with a non-zero pixel
    widths = {int(w) for w in lit.sum(1) if w}
    assert widths <= {54, 55, 56, 57, 58, 59, 60} and 56 in widths
    for k in range(20):
        w = int(lit[k].sum())
        if w:
            inner = px[k][lit[k]][:, lit[k]]
            assert np.array_equal(fit_chip(inner, DecodeOptions(size=64)), px[k])


def target_energy(chips):
    smooth = F.avg_pool2d(chips.pixels().float(), 5, stride=1)  # tame the speckle
    return (smooth - 140).clamp(min=0).sum((1, 2, 3))


def test_neighbouring_classes_differ_but_subtly(neighbours):
    energy = target_energy(neighbours)
    for a, b in NEIGHBOURS:
        ea, eb = energy[neighbours.labels == a], energy[neighbours.labels == b]
        z = (eb.mean() - ea.mean()) / (ea.var() / ea.numel() + eb.var() / eb.numel()).sqrt()
        ratio = (eb.mean() / ea.mean()).item()
        # the bigger vehicle returns a little more (chip-to-chip brightness, as in real chips,
        # blurs the difference: the flatbed's low trailer hardly shows in this measure)
        assert z > 0.3, (MAVOC_CLASS_NAMES[a], MAVOC_CLASS_NAMES[b], z)
        assert 1.02 < ratio < 1.5, (MAVOC_CLASS_NAMES[a], MAVOC_CLASS_NAMES[b], ratio)  # ... but not much more


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


def test_speckle_has_mean_one_and_follows_the_psf_axis():
    """Speckle intensity is exponential (mean 1, std 1) and correlates further along the PSF's long axis."""
    from sartail.data.random_fields import fft_side, speckle

    n = 64
    noise = torch.randn(n, 2, fft_side(48), fft_side(48), generator=torch.Generator().manual_seed(0))
    s = speckle(torch.full((n,), 2.0), torch.full((n,), 0.7), torch.zeros(n), 48, noise)  # long axis along rows
    assert s.shape == (n, 48, 48)
    assert abs(float(s.mean()) - 1.0) < 0.05 and abs(float(s.std()) - 1.0) < 0.1
    d = s - s.mean((1, 2), keepdim=True)
    along = float((d[:, :, :-2] * d[:, :, 2:]).mean() / d.square().mean())
    across = float((d[:, :-2, :] * d[:, 2:, :]).mean() / d.square().mean())
    assert along > 0.3 > 0.1 > across


def test_texture_is_standardised_and_correlates_over_its_length():
    """Two independent unit fields per chip; the autocorrelation at the correlation length is near 1/e."""
    from sartail.data.random_fields import fft_side, texture

    noise = torch.randn(32, 2, fft_side(56), fft_side(56), generator=torch.Generator().manual_seed(1))
    t = texture(torch.tensor([4.0] * 32), 56, noise)
    assert t.shape == (32, 2, 56, 56)
    torch.testing.assert_close(t.mean((2, 3)), torch.zeros(32, 2), atol=1e-5, rtol=0)
    torch.testing.assert_close(t.std((2, 3)), torch.ones(32, 2), atol=1e-5, rtol=0)
    acf4 = float((t[..., :-4] * t[..., 4:]).mean())
    assert 0.15 < acf4 < 0.55  # exp(-1) = 0.37, lowered a little by the per-chip mean removal
    assert abs(float((t[:, 0] * t[:, 1]).mean())) < 0.05


@pytest.mark.parametrize("block", [1, 7, 256, 4096])
def test_rendering_in_blocks_draws_the_same_chips(block):
    labels = torch.randint(0, 10, (300,), generator=torch.Generator().manual_seed(1))
    a = render_chips(labels, 56, torch.Generator().manual_seed(5), block=block)
    b = render_chips(labels, 56, torch.Generator().manual_seed(5), block=300)
    assert torch.equal(a, b)


def test_release_free_memory_is_harmless():
    assert release_free_memory() in (True, False)


# ------------------------------------------------------------------ the long-tail phenomenon
def test_plain_ce_sinks_the_tail_on_the_default(tmp_path):
    """Small settings: ``ce`` on the long-tailed synthetic default learns the head and loses
    the tail (few-shot accuracy far below many-shot), the phenomenon the demo teaches."""
    from tiny_runs import NO_FLOOR

    from sartail import Run, load_config

    cfg = load_config("ce", {"data.scale": 0.006, "data.test_per_class": 20, "model.width": 4,
                             "stages.rough.epochs": 3, "batch_size": 64, "device": "cpu", **NO_FLOOR})
    res = Run.create(cfg, tmp_path / "ce", progress=False).fit_and_test()
    rough = res.stages["rough"]
    assert rough.many_shot is not None and rough.few_shot is not None
    assert rough.many_shot >= 0.5  # sedans (1,405 training chips) are recognised
    assert rough.few_shot < 0.15  # the classes with fewer than 20 chips are not
    assert rough.many_shot - rough.few_shot > 0.35


def test_shadow_length_follows_the_depression_angle():
    import math

    from sartail.data.sources.synthetic import _render_targets

    coords = torch.arange(56, dtype=torch.float32) - 27.5
    one = torch.ones(1)
    model = MODELS[3]  # van: one tall box
    amp = torch.ones(1, len(model.scatterers))
    lengths = []
    for angle in (25.0, 45.0):
        _, shadow, _ = _render_targets(model, coords, torch.zeros(1, 2), one, torch.zeros(1), torch.ones(1, 2), amp,
                                       1 / math.tan(math.radians(angle)))
        lengths.append(int((shadow[0, :, 28] > 0.5).sum()))  # the shadow down the centre column
    # height 2.4 x 1.4 px: 7.2 px at 25 degrees, 3.4 px at 45 degrees
    assert lengths[0] - lengths[1] in (3, 4, 5)


def test_scene_relief_and_field_edges_lengthen_the_autocorrelation(monkeypatch):
    """Large-scale scene structure (relief, field boundaries) makes the clutter correlate over
    longer distances, as in the real chips (autocorrelation length 4.3 px)."""
    from sartail.data import realism
    from sartail.data.sources import synthetic as syn

    labels = torch.zeros(200, dtype=torch.int64)

    def acf_length() -> float:
        chips = render_chips(labels, 56, torch.Generator().manual_seed(3))
        return float(realism.chip_statistics(chips).get("acf_length").mean())

    with_structure = acf_length()
    monkeypatch.setattr(syn, "RELIEF_MAX_SD", 0.0)
    monkeypatch.setattr(syn, "FIELD_SHARE", 0.0)
    flat = acf_length()
    assert with_structure > flat + 0.2
