"""The network shapes behind ``model.arch``: sizes, feature widths, and the plain control's twin."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

from sartail.config import ModelConfig
from sartail.errors import ConfigError
from sartail.models import CNN6, build_model

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("width", [8, 32])
def test_cnn6_pools_to_four_times_its_width_and_downsamples_by_eight(width):
    model = build_model(ModelConfig(arch="cnn6", width=width), 10)
    assert model.body.out_features == 4 * width
    assert model(torch.rand(3, 1, 64, 64) * 255).shape == (3, 10)
    feature_map = model.body.layers(torch.rand(2, 1, 64, 64))
    assert feature_map.shape == (2, 4 * width, 8, 8)  # stride 2, then two 2x2 max-pools


def test_cnn6_at_width_32_is_the_plain_scripts_network():
    """The kit's ``cnn6`` (width 32) has the plain script's layers, so the two can be paired by seed."""
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        from plain_mstar import make_net
    finally:
        sys.path.remove(str(REPO / "benchmarks"))
    kit = build_model(ModelConfig(arch="cnn6", width=32), 10)
    plain = make_net("cnn6", 10)
    shapes = [tuple(p.shape) for p in kit.body.parameters()] + [tuple(p.shape) for p in kit.head.parameters()
                                                                 if p.requires_grad]
    assert shapes == [tuple(p.shape) for p in plain.parameters()]
    assert sum(p.numel() for p in plain.parameters()) == 288_170


def test_an_unknown_arch_names_the_shapes_there_are():
    with pytest.raises(ConfigError, match="cnn6"):
        ModelConfig(arch="cnn7")
    assert isinstance(build_model(ModelConfig(arch="cnn6"), 2).body, CNN6)
