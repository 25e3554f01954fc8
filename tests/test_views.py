"""Views for self-supervised pre-training: each transform, seeding, real-pixel crops, errors."""
from __future__ import annotations

import pytest
import torch

from sartail.data.views import DEFAULT_VIEW, VIEW_OPS, make_view, parse_view, two_views
from sartail.errors import ConfigError


def _batch(b=6, size=24, seed=0):
    return torch.rand(b, 1, size, size, generator=torch.Generator().manual_seed(seed)) * 200 + 20


def test_same_seed_same_views_other_seed_other_views():
    x = _batch()
    a1, b1 = two_views(x, DEFAULT_VIEW, torch.Generator().manual_seed(3))
    a2, b2 = two_views(x, DEFAULT_VIEW, torch.Generator().manual_seed(3))
    a3, _ = two_views(x, DEFAULT_VIEW, torch.Generator().manual_seed(4))
    assert torch.equal(a1, a2) and torch.equal(b1, b2)
    assert not torch.equal(a1, b1) and not torch.equal(a1, a3)


@pytest.mark.parametrize("name", sorted(VIEW_OPS))
def test_every_transform_changes_the_batch_and_keeps_its_shape(name):
    x = _batch()
    y = VIEW_OPS[name](x, 3.0, torch.Generator().manual_seed(0))
    assert y.shape == x.shape and not torch.equal(y, x)
    assert torch.equal(VIEW_OPS[name](x, 0.0, torch.Generator().manual_seed(0)), x) or name == "shift"


def test_crop_takes_real_pixels_of_larger_chips():
    x = torch.arange(4 * 10 * 10, dtype=torch.float32).reshape(4, 1, 10, 10)
    v = make_view(x, (), torch.Generator().manual_seed(0), size=6)
    assert v.shape == (4, 1, 6, 6)
    for i in range(4):  # every view is a contiguous 6x6 window of its own chip: no zero fill
        r0, c0 = divmod(int(v[i, 0, 0, 0]) - 100 * i, 10)
        assert torch.equal(v[i, 0], x[i, 0, r0:r0 + 6, c0:c0 + 6])


def test_speckle_is_multiplicative_with_unit_mean():
    x = torch.full((64, 1, 16, 16), 100.0)
    y = VIEW_OPS["speckle"](x, 4, torch.Generator().manual_seed(0))
    assert abs(float(y.mean()) - 100.0) < 2.0 and float(y.min()) > 0
    assert abs(float((y / 100).var()) - 0.25) < 0.03  # variance of a 4-look gamma: 1/4


def test_gamma_keeps_the_range_and_flip_mirrors():
    x = _batch()
    y = VIEW_OPS["gamma"](x, 0.5, torch.Generator().manual_seed(0))
    assert float(y.min()) >= 0 and float(y.max()) <= 255
    f = VIEW_OPS["flip"](x, 1, torch.Generator().manual_seed(0))
    assert all(torch.equal(f[i], x[i]) or torch.equal(f[i], x[i].flip(-1)) for i in range(len(x)))


def test_parse_and_errors():
    assert parse_view("flip=1, rotate=10,speckle=4") == (("flip", 1.0), ("rotate", 10.0), ("speckle", 4.0))
    assert parse_view("") == ()
    with pytest.raises(ConfigError, match="unknown view transform 'blur'"):
        parse_view("blur=1")
    with pytest.raises(ConfigError, match="must be >= 0"):
        parse_view("rotate=-3")
    with pytest.raises(ConfigError, match="must be a number"):
        parse_view("rotate=x")
    with pytest.raises(ConfigError, match="cannot be cut"):
        make_view(_batch(size=8), (), torch.Generator(), size=16)
