"""The frozen-body read-out: k-NN and linear probe per shot group on a tiny synthetic case."""
from __future__ import annotations

import pytest
import torch

from sartail.config import ShotGroups
from sartail.errors import ConfigError
from sartail.eval.probe import knn_classify, probe_features, readout


def test_knn_by_hand():
    train_x = torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0]])
    train_y = torch.tensor([0, 0, 1])
    test_x = torch.tensor([[0.1, 1.0], [1.0, 0.05]])
    assert knn_classify(train_x, train_y, test_x, k=1).tolist() == [1, 0]
    assert knn_classify(train_x, train_y, test_x, k=3).tolist() == [0, 0]  # the majority outvotes the nearest
    with pytest.raises(ConfigError, match="k must be >= 1"):
        knn_classify(train_x, train_y, test_x, k=0)


def _case(seed=0):
    g = torch.Generator().manual_seed(seed)
    centres = torch.eye(3) * 6
    ytr = torch.tensor([0] * 30 + [1] * 10 + [2] * 2)  # many, medium, few with the groups below
    yte = torch.tensor([0, 1, 2] * 6)
    xtr = centres[ytr] + torch.randn(len(ytr), 3, generator=g) * 0.3
    xte = centres[yte] + torch.randn(len(yte), 3, generator=g) * 0.3
    return xtr, ytr, xte, yte


def test_separable_features_score_one_in_every_group():
    out = probe_features(*_case(), ["a", "b", "c"], k=3, groups=ShotGroups(many=20, few=5))
    for method in ("knn", "linear"):
        r = out[method]
        assert r["balanced"] == r["many_shot"] == r["medium_shot"] == r["few_shot"] == 1.0 and r["n"] == 18


def test_shot_groups_come_from_training_counts():
    xtr, ytr, xte, yte = _case()
    xte = xte.clone()
    xte[yte == 2] = torch.tensor([6.0, 0.0, 0.0])  # every few-shot test chip now looks like class 0
    r = readout(xtr, ytr, xte, yte, ["a", "b", "c"], method="knn", k=1, groups=ShotGroups(many=20, few=5))
    assert r["few_shot"] == 0.0 and r["many_shot"] == 1.0 and r["medium_shot"] == 1.0
    assert r["balanced"] == pytest.approx(2 / 3)
    with pytest.raises(ConfigError, match="unknown read-out"):
        readout(xtr, ytr, xte, yte, ["a", "b", "c"], method="svm")
