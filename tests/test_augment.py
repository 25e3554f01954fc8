"""Batched augmentation: every chip gets its own exact shift / flip / rotation, reproducibly."""
import math

import pytest
import torch

from sartail.data.augment import (
    AugmentConfig,
    augment_batch,
    mixup,
    random_flip,
    random_rot90,
    random_speckle,
    random_translate,
)
from sartail.errors import ConfigError


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def batch(b=64, h=12, w=12, seed=0):
    """Distinct positive values everywhere, so zero marks padding and any shift can be found."""
    return torch.rand(b, 1, h, w, generator=gen(seed)) * 200 + 1


def shifted(x, dy, dx):
    """``x`` [1, H, W] moved by (dy, dx) pixels with zero fill."""
    out = torch.zeros_like(x)
    h, w = x.shape[-2:]
    out[:, max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = x[:, max(-dy, 0):h - max(dy, 0),
                                                                     max(-dx, 0):w - max(dx, 0)]
    return out


def test_config_validation():
    for kw, match in (({"crop": -1}, "crop"), ({"speckle": -1}, "speckle"), ({"mixup": -0.5}, "mixup")):
        with pytest.raises(ConfigError, match=match):
            AugmentConfig(**kw)


def test_translate_shifts_each_chip_by_its_own_offset():
    x = batch()
    out = random_translate(x, 4, gen())
    assert out.shape == x.shape and out.dtype == x.dtype
    offsets = set()
    for i in range(x.shape[0]):
        found = [(dy, dx) for dy in range(-4, 5) for dx in range(-4, 5) if torch.equal(out[i], shifted(x[i], dy, dx))]
        assert len(found) == 1, i
        offsets.add(found[0])
    assert len(offsets) > 20  # not one offset for the whole batch
    dys, dxs = {dy for dy, _ in offsets}, {dx for _, dx in offsets}
    assert min(dys) == min(dxs) == -4 and max(dys) == max(dxs) == 4  # the full range, no further


def test_translate_zero_is_the_identity():
    x = batch(4)
    assert random_translate(x, 0, gen()) is x


def test_flip_mirrors_about_half_of_the_chips():
    x = batch(400)
    out = random_flip(x, gen())
    flipped = [torch.equal(out[i], x[i].flip(-1)) for i in range(400)]
    kept = [torch.equal(out[i], x[i]) for i in range(400)]
    assert all(f or k for f, k in zip(flipped, kept))
    assert 150 < sum(flipped) < 250


def test_rot90_rotates_each_chip_by_a_multiple_of_90_degrees():
    x = batch(200)
    out = random_rot90(x, gen())
    ks = []
    for i in range(200):
        k = [r for r in range(4) if torch.equal(out[i], torch.rot90(x[i], r, dims=(-2, -1)))]
        assert len(k) == 1
        ks.append(k[0])
    assert set(ks) == {0, 1, 2, 3}
    with pytest.raises(ValueError, match="square"):
        random_rot90(batch(2, 8, 10), gen())


def test_speckle_is_unit_mean_gamma_noise():
    x = torch.full((100, 1, 32, 32), 50.0)
    out = random_speckle(x, 4, gen())
    ratio = out / x
    assert (ratio > 0).all()
    assert ratio.mean().item() == pytest.approx(1.0, abs=0.01)
    assert ratio.var().item() == pytest.approx(1 / 4, rel=0.05)  # gamma with 4 looks: variance 1/L


def test_augment_batch_is_reproducible_and_leaves_the_input_alone():
    x = batch()
    keep = x.clone()
    cfg = AugmentConfig(crop=3, flip=True, rot90=True, speckle=3)
    a, b = augment_batch(x, cfg, gen(7)), augment_batch(x, cfg, gen(7))
    c = augment_batch(x, cfg, gen(8))
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert torch.equal(x, keep)
    assert a.shape == x.shape and a.dtype == torch.float32


def test_augment_batch_with_nothing_active_is_the_identity():
    x = batch(8)
    assert torch.equal(augment_batch(x, AugmentConfig(crop=0, flip=False), gen()), x)


def test_augment_batch_on_real_chips(mstar_chips):
    x = mstar_chips.pixels(torch.arange(128)).float()
    out = augment_batch(x, AugmentConfig(crop=4, flip=True), gen())
    assert out.shape == (128, 1, 64, 64)
    # a shift with zero fill only moves pixels around: per chip, no new values appear
    for i in (0, 50, 127):
        assert set(out[i].unique().tolist()) <= set(x[i].unique().tolist()) | {0.0}


def test_mixup_mixes_with_a_permutation():
    x = batch(16)
    mixed, perm, lam = mixup(x, 0.4, gen(3))
    assert 0 <= lam <= 1 and sorted(perm.tolist()) == list(range(16))
    torch.testing.assert_close(mixed, lam * x + (1 - lam) * x[perm])
    again = mixup(x, 0.4, gen(3))
    assert again[2] == lam and torch.equal(again[1], perm)
    _, _, one = mixup(x, 0.0, gen(3))
    assert one == 1.0


@pytest.mark.parametrize("shape", [(32, 1, 16, 16), (8, 3, 10, 14)])
def test_fused_crop_and_flip_equal_a_shift_then_a_flip(shape):
    """augment_batch does crop + flip in one gather; it must draw and give exactly what the
    two separate steps give."""
    x = torch.rand(*shape, generator=gen(1)) * 255
    g = gen(4)
    expected = random_flip(random_translate(x, 3, g), g)
    assert torch.equal(augment_batch(x, AugmentConfig(crop=3, flip=True), gen(4)), expected)


# ---- small rotations, random erasing, intensity gamma (issue 9, item 3)
def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def test_rotation_turns_a_point_about_the_centre_by_the_drawn_angle():
    from sartail.data.augment import random_rotate

    x = torch.zeros(1, 1, 41, 41)
    x[0, 0, 20, 30] = 255.0  # 10 px right of the centre
    deg = 20.0
    angle = float((torch.rand(1, generator=_gen(3)) * 2 - 1) * deg)
    out = random_rotate(x, deg, _gen(3))
    y, xx = divmod(int(out[0, 0].argmax()), 41)
    radius, got = math.hypot(y - 20, xx - 20), math.degrees(math.atan2(y - 20, xx - 20))
    assert abs(radius - 10) <= 1.0
    assert abs(abs(got) - abs(angle)) <= 4.0 and abs(angle) > 1  # pixel grid: a few degrees
    flat = torch.full((2, 1, 16, 16), 90.0)
    assert torch.allclose(random_rotate(flat, 15.0, _gen()), flat)  # reflected edges: no zero corners


def test_random_erasing_fills_one_box_with_the_chip_mean():
    from sartail.data.augment import random_erase

    x = torch.rand(8, 1, 32, 32, generator=_gen(1)) * 255
    out = random_erase(x, 1.0, _gen(2))
    for i in range(8):
        changed = out[i, 0] != x[i, 0]
        share = changed.float().mean().item()
        assert 0.01 <= share <= 0.21
        assert torch.allclose(out[i, 0][changed], x[i].mean().expand(int(changed.sum())))
    assert torch.equal(random_erase(x, 0.0, _gen(2)), x)


def test_gamma_keeps_black_white_and_order_and_changes_contrast():
    from sartail.data.augment import random_gamma

    ramp = torch.linspace(0, 255, 256).expand(4, 1, 1, 256).contiguous()
    out = random_gamma(ramp, 0.5, _gen(4))
    assert torch.allclose(out[..., 0], torch.zeros(4, 1, 1)) and torch.allclose(out[..., -1], torch.full((4, 1, 1), 255.0))
    assert (out.diff(dim=-1) >= 0).all()  # monotone per chip
    assert not torch.allclose(out, ramp, atol=1.0)


def test_new_augmentations_are_seeded_and_draw_nothing_when_off():
    x = torch.rand(4, 1, 24, 24, generator=_gen(5)) * 255
    on = AugmentConfig(crop=2, flip=True, rotate=10.0, erase=0.5, gamma=0.3)
    assert torch.equal(augment_batch(x, on, _gen(6)), augment_batch(x, on, _gen(6)))
    g_old, g_new = _gen(7), _gen(7)
    a = augment_batch(x, AugmentConfig(crop=2, flip=True), g_old)
    b = augment_batch(x, AugmentConfig(crop=2, flip=True, rotate=0.0, erase=0.0, gamma=0.0), g_new)
    assert torch.equal(a, b) and torch.equal(g_old.get_state(), g_new.get_state())


@pytest.mark.parametrize("field,value", [("rotate", -1.0), ("rotate", 200.0), ("erase", 1.5), ("gamma", -0.1)])
def test_bad_augmentation_values_are_refused_by_name(field, value):
    with pytest.raises(ConfigError, match=f"augment.{field}"):
        AugmentConfig(**{field: value})
