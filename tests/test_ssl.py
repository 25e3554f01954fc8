"""Self-supervised heads, losses and the pre-training step."""
from __future__ import annotations

import math

import pytest
import torch

from sartail.config import ModelConfig
from sartail.errors import ConfigError
from sartail.models import build_model
from sartail.ssl_heads import SSL_METHODS, build_ssl_heads
from sartail.train.ssl_losses import (
    negative_cosine,
    nt_xent,
    pretrain_step,
    rotate_quarters,
    rotation_targets,
    simsiam_loss,
)


def test_negative_cosine_stops_the_gradient_of_its_target():
    p = torch.tensor([[1.0, 0.0]], requires_grad=True)
    z = torch.tensor([[1.0, 1.0]], requires_grad=True)
    loss = negative_cosine(p, z)
    loss.backward()
    assert math.isclose(float(loss.detach()), -1 / math.sqrt(2), rel_tol=1e-6)
    assert z.grad is None and p.grad is not None


def test_simsiam_loss_is_minus_one_when_predictions_match():
    z = torch.randn(5, 8, generator=torch.Generator().manual_seed(0))
    assert math.isclose(float(simsiam_loss(2 * z, 3 * z, z, z)), -1.0, rel_tol=1e-6)


def test_nt_xent_prefers_matching_views():
    g = torch.Generator().manual_seed(0)
    z = torch.randn(16, 32, generator=g)
    assert float(nt_xent(z, z + 0.01 * torch.randn(16, 32, generator=g))) < float(nt_xent(z, torch.randn(16, 32, generator=g)))


def test_rotation_targets_and_quarter_turns():
    assert rotation_targets(6).tolist() == [0, 1, 2, 3, 0, 1]
    assert rotation_targets(4, 2).tolist() == [2, 3, 0, 1]
    x = torch.arange(16.0).reshape(1, 1, 4, 4).repeat(4, 1, 1, 1)
    y = rotate_quarters(x, torch.arange(4))
    for k in range(4):
        assert torch.equal(y[k], torch.rot90(x[k], k, dims=(-2, -1)))


def test_unknown_method_is_an_error():
    with pytest.raises(ConfigError, match="unknown self-supervised method 'moco'"):
        build_ssl_heads("moco", 16)


@pytest.mark.parametrize("method", SSL_METHODS)
def test_pretrain_step_trains_the_body_and_never_the_classifier_head(method):
    torch.manual_seed(0)
    model = build_model(ModelConfig(width=4), 3)
    heads = build_ssl_heads(method, model.body.out_features, dim=16)
    head_before = {k: v.clone() for k, v in model.head.state_dict().items()}
    x = torch.rand(8, 1, 16, 16, generator=torch.Generator().manual_seed(1)) * 255
    model.eval()
    f_before = model.features(x).detach()
    model.train()
    opt = torch.optim.SGD([*model.body.parameters(), *heads.parameters()], lr=0.1)
    loss = pretrain_step(model, heads, x, x.flip(-1))
    assert loss.ndim == 0 and torch.isfinite(loss)
    loss.backward()
    assert all(p.grad is None for p in model.head.parameters())
    opt.step()
    model.eval()
    assert not torch.allclose(model.features(x), f_before)
    assert all(torch.equal(v, model.head.state_dict()[k]) for k, v in head_before.items())


def test_pretrain_step_is_deterministic():
    x = torch.rand(8, 1, 16, 16, generator=torch.Generator().manual_seed(1)) * 255
    losses = []
    for _ in range(2):
        torch.manual_seed(0)
        model = build_model(ModelConfig(width=4), 3)
        losses.append(float(pretrain_step(model, build_ssl_heads("simsiam", model.body.out_features, 16), x, x).detach()))
    assert losses[0] == losses[1]
