"""The synthetic MAVOC-like generator: determinism, counts, chip statistics, subtle neighbours."""
import pytest
import torch
import torch.nn.functional as F

from sartail.data import DEFAULT_SCALE, MAVOC_CLASS_NAMES, MAVOC_TRAIN_COUNTS, make_synthetic, mavoc_counts
from sartail.data._memory import release_free_memory
from sartail.data.sources.synthetic import (
    MODELS,
    PX,
    _blur_valid,
    _gauss_taps,
    _smear_down,
    _zero_border,
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


@pytest.mark.parametrize("block", [1, 7, 256, 4096])
def test_rendering_in_blocks_draws_the_same_chips(block):
    labels = torch.randint(0, 10, (300,), generator=torch.Generator().manual_seed(1))
    a = render_chips(labels, 56, torch.Generator().manual_seed(5), block=block)
    b = render_chips(labels, 56, torch.Generator().manual_seed(5), block=300)
    assert torch.equal(a, b)


def reference_render(labels, size, g):
    """The plain renderer the fast one replaced: the same random draws, straightforward arithmetic."""
    import math

    b = labels.numel()
    rnd = lambda *shape: torch.rand(*shape, generator=g)  # noqa: E731
    theta = rnd(b) * 2 * math.pi
    centre = (rnd(b, 2) - 0.5) * 6.0
    stretch = 1.0 + (rnd(b, 2) - 0.5) * 0.24
    coords = torch.arange(size, dtype=torch.float32) - (size - 1) / 2
    y = coords.view(1, size, 1).expand(b, size, size) - centre[:, 1].view(b, 1, 1)
    x = coords.view(1, 1, size).expand(b, size, size) - centre[:, 0].view(b, 1, 1)
    c, s = torch.cos(theta).view(b, 1, 1), torch.sin(theta).view(b, 1, 1)
    target, shadow = torch.zeros(b, size, size), torch.zeros(b, size, size)

    def soft_box(u, v, length, width):
        return torch.sigmoid((length / 2 - u.abs()) * 2.0) * torch.sigmoid((width / 2 - v.abs()) * 2.0)

    def smear(mask, steps):
        if steps <= 0:
            return mask
        return F.max_pool2d(F.pad(mask.unsqueeze(1), (0, 0, steps, 0)), (steps + 1, 1), stride=1).squeeze(1)

    for cls in labels.unique().tolist():
        idx = torch.nonzero(labels == cls).reshape(-1)
        model = MODELS[cls]
        xi, yi, ci, si = x[idx], y[idx], c[idx], s[idx]
        su, sv = stretch[idx, 0].view(-1, 1, 1), stretch[idx, 1].view(-1, 1, 1)
        u0, v0 = (xi * ci + yi * si) / (su * PX), (-xi * si + yi * ci) / (sv * PX)
        refl, shad = torch.zeros_like(xi), torch.zeros_like(xi)
        for part in model.parts:
            inside = soft_box(u0 - part.u, v0, part.length, part.width)
            refl = torch.maximum(refl, inside * part.brightness)
            shad = torch.maximum(shad, smear(inside, int(round(part.height * 2.2 * PX))))
        amp = 0.8 + 0.4 * torch.rand(idx.numel(), len(model.scatterers), generator=g)
        for j, (pu, pv, a) in enumerate(model.scatterers):
            refl = refl + (a * amp[:, j]).view(-1, 1, 1) * torch.exp(-((u0 - pu) ** 2 + (v0 - pv) ** 2) / 1.2)
        target[idx], shadow[idx] = refl, shad
    taps = torch.tensor(_gauss_taps(2.0))
    noise = torch.randn(b, 1, size + 8, size + 8, generator=g)
    texture = F.conv2d(noise, torch.outer(taps, taps).view(1, 1, 9, 9)).squeeze(1)
    texture = texture / texture.flatten(1).std(1).clamp_min(1e-6).view(b, 1, 1)
    clutter = (0.18 + 0.1 * rnd(b, 1, 1)) * torch.exp(0.35 * texture)
    shadow_only = (shadow - (target > 0.05).float()).clamp(0, 1)
    intensity = clutter * (1 - 0.8 * shadow_only) + target * (0.9 + 0.3 * rnd(b, 1, 1))
    intensity = intensity * -torch.log(rnd(b, 3, size, size).clamp_min(1e-12)).mean(1)
    db = 10 * torch.log10(intensity.clamp_min(1e-4))
    img = ((db + 14.0) / 20.0 * 255.0 * (0.85 + 0.3 * rnd(b, 1, 1))).clamp(0, 255).round().to(torch.uint8)
    _zero_border(img, g)
    return img.unsqueeze(1)


def test_fast_renderer_matches_the_plain_one():
    """Same chips up to float rounding: at most one grey level, in a handful of pixels."""
    labels = torch.randint(0, 10, (400,), generator=torch.Generator().manual_seed(2))
    fast = render_chips(labels, 56, torch.Generator().manual_seed(9))
    plain = reference_render(labels, 56, torch.Generator().manual_seed(9))
    diff = (fast.int() - plain.int()).abs()
    assert diff.max() <= 1 and (diff > 0).float().mean() < 1e-4


def test_release_free_memory_is_harmless():
    assert release_free_memory() in (True, False)
