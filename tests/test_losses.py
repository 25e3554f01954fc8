"""Losses against values computed by hand."""
import math

import pytest
import torch

from sartail.errors import ConfigError
from sartail.train.losses import Loss, LossConfig, effective_number_weights

LOGITS = torch.tensor([[2.0, 0.5, -1.0], [0.1, 0.2, 0.3]])
TARGETS = torch.tensor([0, 2])
COUNTS = [100, 10, 1]


def ce_by_hand(logits, targets, weights=None):
    total, norm = 0.0, 0.0
    for row, t in zip(logits.tolist(), targets.tolist()):
        lse = math.log(sum(math.exp(v) for v in row))
        w = 1.0 if weights is None else weights[t]
        total += w * (lse - row[t])
        norm += w
    return total / norm


def test_cross_entropy():
    assert Loss(LossConfig("ce"), COUNTS)(LOGITS, TARGETS).item() == pytest.approx(ce_by_hand(LOGITS, TARGETS))


def test_label_smoothing():
    eps = 0.1
    got = Loss(LossConfig("ce", label_smoothing=eps), COUNTS)(LOGITS, TARGETS).item()
    by_hand = 0.0
    for row, t in zip(LOGITS.tolist(), TARGETS.tolist()):
        lse = math.log(sum(math.exp(v) for v in row))
        logp = [v - lse for v in row]
        by_hand += -sum(((1 - eps) * (k == t) + eps / 3) * lp for k, lp in enumerate(logp))
    assert got == pytest.approx(by_hand / 2)


def test_focal_loss_by_hand():
    got = Loss(LossConfig("focal", gamma=2.0), COUNTS)(LOGITS, TARGETS).item()
    vals = []
    for row, t in zip(LOGITS.tolist(), TARGETS.tolist()):
        p = math.exp(row[t]) / sum(math.exp(v) for v in row)
        vals.append(-((1 - p) ** 2) * math.log(p))
    assert got == pytest.approx(sum(vals) / 2)


def test_focal_with_gamma_zero_is_cross_entropy():
    got = Loss(LossConfig("focal", gamma=0.0), COUNTS)(LOGITS, TARGETS).item()
    assert got == pytest.approx(ce_by_hand(LOGITS, TARGETS))


def test_effective_number_weights_by_hand():
    beta = 0.99
    raw = [(1 - beta) / (1 - beta**n) for n in COUNTS]
    want = [r / sum(raw) * 3 for r in raw]
    assert effective_number_weights(COUNTS, beta).tolist() == pytest.approx(want, rel=1e-6)


def test_class_balanced_cross_entropy():
    w = effective_number_weights(COUNTS, 0.999).tolist()
    got = Loss(LossConfig("class_balanced", beta=0.999, gamma=0.0), COUNTS)(LOGITS, TARGETS).item()
    assert got == pytest.approx(ce_by_hand(LOGITS, TARGETS, w), rel=1e-6)


def test_ldam_margins_and_deferred_reweighting():
    cfg = LossConfig("ldam", max_m=0.5, s=30.0, drw_epoch=2, beta=0.999)
    loss = Loss(cfg, COUNTS)
    m = [n ** -0.25 for n in COUNTS]
    m = [v * 0.5 / max(m) for v in m]
    assert loss.margins.tolist() == pytest.approx(m, rel=1e-6)
    shifted = LOGITS.clone()
    for i, t in enumerate(TARGETS.tolist()):
        shifted[i, t] -= 30.0 * m[t]
    assert loss(LOGITS, TARGETS).item() == pytest.approx(ce_by_hand(shifted, TARGETS), rel=1e-5)
    loss.set_epoch(2)  # DRW switches on
    w = effective_number_weights(COUNTS, 0.999).tolist()
    assert loss(LOGITS, TARGETS).item() == pytest.approx(ce_by_hand(shifted, TARGETS, w), rel=1e-5)


@pytest.mark.parametrize("name,tau", [("logit_adjust", 0.5), ("balanced_softmax", 1.0)])
def test_logit_adjusted_losses(name, tau):
    prior = [c / sum(COUNTS) for c in COUNTS]
    adjusted = LOGITS + tau * torch.tensor([math.log(p) for p in prior])
    got = Loss(LossConfig(name, tau=0.5), COUNTS)(LOGITS, TARGETS).item()
    assert got == pytest.approx(ce_by_hand(adjusted, TARGETS), rel=1e-5)


def test_label_aware_smoothing_uses_more_smoothing_for_the_head():
    loss = Loss(LossConfig("label_aware_smoothing", eps_head=0.4, eps_tail=0.1), COUNTS)
    eps = [0.1 + 0.3 * (n - 1) / 99 for n in COUNTS]
    assert loss.eps.tolist() == pytest.approx(eps, rel=1e-6)
    by_hand = 0.0
    for row, t in zip(LOGITS.tolist(), TARGETS.tolist()):
        lse = math.log(sum(math.exp(v) for v in row))
        e = eps[t]
        by_hand += -sum(((1 - e) if k == t else e / 2) * (v - lse) for k, v in enumerate(row))
    assert loss(LOGITS, TARGETS).item() == pytest.approx(by_hand / 2, rel=1e-5)


def test_losses_need_chips_of_every_class_where_they_use_counts():
    with pytest.raises(ConfigError, match=r"class\(es\) \[1\]"):
        Loss(LossConfig("ldam"), [5, 0, 3])


@pytest.mark.parametrize("kw", [{"name": "crossentropy"}, {"label_smoothing": 1.0}, {"beta": 1.0}, {"s": 0}])
def test_bad_loss_configs(kw):
    with pytest.raises(ConfigError):
        LossConfig(**kw)


def test_unknown_loss_suggests_the_nearest():
    with pytest.raises(ConfigError, match="Did you mean 'focal'"):
        LossConfig("focall")


def test_losses_are_differentiable():
    logits = LOGITS.clone().requires_grad_(True)
    for name in ("ce", "focal", "class_balanced", "ldam", "logit_adjust", "balanced_softmax", "label_aware_smoothing"):
        logits.grad = None
        Loss(LossConfig(name), COUNTS)(logits, TARGETS).backward()
        assert torch.isfinite(logits.grad).all() and logits.grad.abs().sum() > 0
