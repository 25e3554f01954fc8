"""Metrics agree with scikit-learn."""

import numpy as np
import pytest
import torch
from sklearn import metrics as skm

from sartail.eval.metrics import ShotGroups, calibration, confusion_matrix, evaluate_logits, summarize

NAMES = [f"c{i}" for i in range(5)]


def random_case(seed, n=300, c=5):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(n, c, generator=g) * 2
    targets = torch.randint(0, c, (n,), generator=g)
    return logits, targets


@pytest.mark.parametrize("seed", range(5))
def test_against_scikit_learn(seed):
    logits, targets = random_case(seed)
    preds = logits.argmax(1)
    m = evaluate_logits(logits, targets, NAMES)
    y, p = targets.numpy(), preds.numpy()
    assert m["top1"] == pytest.approx(skm.accuracy_score(y, p))
    assert m["balanced"] == pytest.approx(skm.balanced_accuracy_score(y, p))
    assert m["macro_f1"] == pytest.approx(skm.f1_score(y, p, average="macro", labels=np.unique(np.r_[y, p])))
    assert m["confusion"] == skm.confusion_matrix(y, p, labels=range(5)).tolist()
    recall = skm.recall_score(y, p, average=None, labels=range(5), zero_division=0)
    assert [m["per_class"][n] for n in NAMES] == pytest.approx(recall.tolist())
    assert m["loss"] == pytest.approx(skm.log_loss(y, torch.softmax(logits, 1).numpy(), labels=range(5)), rel=1e-5)


def test_absent_class_is_none_and_left_out_of_balanced():
    targets = torch.tensor([0, 0, 1, 1])
    logits = torch.tensor([[5.0, 0, 0], [0, 5.0, 0], [0, 5.0, 0], [5.0, 0, 0]])
    m = evaluate_logits(logits, targets, ["a", "b", "c"])
    assert m["per_class"] == {"a": 0.5, "b": 0.5, "c": None}
    assert m["balanced"] == pytest.approx(skm.balanced_accuracy_score([0, 0, 1, 1], [0, 1, 1, 0]))


def test_shot_groups():
    cm = torch.diag(torch.tensor([9, 8, 7])) + torch.tensor([[1, 0, 0], [0, 2, 0], [0, 0, 3]])
    out = summarize(cm, ["a", "b", "c"], train_counts=[500, 50, 5], groups=ShotGroups(many=100, few=20))
    assert out["shot_groups"] == {"a": "many", "b": "medium", "c": "few"}
    assert out["many_shot"] == 1.0 and out["medium_shot"] == 1.0 and out["few_shot"] == 1.0
    cm2 = torch.tensor([[10, 0, 0], [5, 5, 0], [0, 8, 2]])
    out2 = summarize(cm2, ["a", "b", "c"], train_counts=[500, 50, 5])
    assert (out2["many_shot"], out2["medium_shot"], out2["few_shot"]) == pytest.approx((1.0, 0.5, 0.2))


def test_ece_by_hand():
    probs = torch.tensor([[0.95, 0.05], [0.85, 0.15], [0.25, 0.75], [0.65, 0.35]], dtype=torch.float64)
    targets = torch.tensor([0, 1, 1, 0])
    out = calibration(probs, targets, bins=10)
    # one chip per bin: 0.95 correct, 0.85 wrong, 0.75 correct, 0.65 correct
    want = (abs(1 - 0.95) + abs(0 - 0.85) + abs(1 - 0.75) + abs(1 - 0.65)) / 4
    assert out["ece"] == pytest.approx(want)
    assert sum(b["count"] for b in out["reliability"]) == 4


def test_confusion_matrix_shape_and_total():
    logits, targets = random_case(9, n=50)
    cm = confusion_matrix(targets, logits.argmax(1), 5)
    assert cm.shape == (5, 5) and int(cm.sum()) == 50 and not cm.is_floating_point()
    assert cm.sum(1).tolist() == torch.bincount(targets, minlength=5).tolist()  # rows are the true classes
    assert cm.diag().sum() == (logits.argmax(1) == targets).sum()
