"""Balanced knowledge distillation: the loss against a hand computation, and the teacher-logit cache."""
from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from sartail.config import ModelConfig
from sartail.data.chipset import ChipSet
from sartail.errors import ConfigError, DataError
from sartail.models import build_model
from sartail.train.bkd import bkd_loss, bkd_weights
from sartail.train.teacher_cache import TeacherLogits, check_teacher

LN3 = math.log(3)


def test_bkd_loss_by_hand():
    s = torch.zeros(1, 2)  # the student says 1/2, 1/2 at any temperature
    t = torch.tensor([[2 * LN3, 0.0]])  # at T = 2 the teacher says 3/4, 1/4
    y = torch.tensor([0])
    plain = 0.75 * math.log(0.75 / 0.5) + 0.25 * math.log(0.25 / 0.5)
    assert math.isclose(float(bkd_loss(s, t, y, None, temperature=2, alpha=1)), math.log(2) + 4 * plain, rel_tol=1e-6)
    # weights 1 and 2: the teacher's 3/4, 1/4 becomes 3/4, 2/4, renormalised to 0.6, 0.4
    weighted = 0.6 * math.log(0.6 / 0.5) + 0.4 * math.log(0.4 / 0.5)
    got = float(bkd_loss(s, t, y, torch.tensor([1.0, 2.0]), temperature=2, alpha=0.5))
    assert math.isclose(got, math.log(2) + 0.5 * 4 * weighted, rel_tol=1e-6)
    # weights 1 and 3 balance the teacher to 1/2, 1/2: only the cross-entropy is left
    assert math.isclose(float(bkd_loss(s, t, y, torch.tensor([1.0, 3.0]))), math.log(2), rel_tol=1e-6)


def test_bkd_weights_favour_the_tail_and_sum_to_c():
    w = bkd_weights([100, 10, 1])
    assert math.isclose(float(w.sum()), 3, rel_tol=1e-6) and w[0] < w[1] < w[2]


def test_teacher_logits_carry_no_gradient():
    s = torch.zeros(2, 3, requires_grad=True)
    t = torch.randn(2, 3, requires_grad=True)
    bkd_loss(s, t, torch.tensor([0, 1]), bkd_weights([5, 3, 1])).backward()
    assert t.grad is None and s.grad is not None


class CountingTeacher(nn.Module):
    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model
        self.rows = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.rows += x.shape[0]
        return self.model(x)


def _chips(n=10, size=16, classes=("a", "b", "c")) -> ChipSet:
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 255, (n, 1, size, size), generator=g, dtype=torch.uint8)
    return ChipSet.from_tensors(images, [i % len(classes) for i in range(n)], classes)


def test_cache_computes_once_and_the_teacher_is_never_trained():
    torch.manual_seed(0)
    chips = _chips()
    teacher = CountingTeacher(build_model(ModelConfig(width=4), 3))
    teacher.train()
    before = {k: v.clone() for k, v in teacher.state_dict().items()}
    cache = TeacherLogits.compute(teacher, chips, batch_size=4)
    assert teacher.rows == len(chips) and len(cache) == len(chips) and cache.num_classes == 3
    assert teacher.training  # modes restored
    assert not any(p.requires_grad for p in teacher.parameters())
    student = build_model(ModelConfig(width=4), 3)
    opt = torch.optim.SGD(student.parameters(), lr=0.5)
    weights = bkd_weights(chips.class_counts())
    for start in (0, 4, 8, 0):  # several steps, revisiting chips: the teacher does not run again
        pos = torch.arange(start, min(start + 4, len(chips)))
        sub = chips.take(pos)
        loss = bkd_loss(student(sub.pixels().float()), cache.lookup(sub.chip_ids), sub.labels, weights)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert teacher.rows == len(chips)
    assert all(torch.equal(v, teacher.state_dict()[k]) for k, v in before.items())
    teacher.eval()
    with torch.no_grad():
        again = teacher(chips.pixels().float())
    assert torch.allclose(cache.lookup(chips.chip_ids), again, atol=1e-5)


def test_cache_errors():
    chips = _chips()
    with pytest.raises(ConfigError, match="predicts 4 classes but the chips have 3"):
        TeacherLogits.compute(build_model(ModelConfig(width=4), 4), chips)
    cache = TeacherLogits.compute(build_model(ModelConfig(width=4), 3), chips)
    with pytest.raises(DataError, match="no teacher logits for chip 'nope'"):
        cache.lookup(["nope"])


def test_check_teacher_names_the_difference():
    check_teacher(["a", "b"], 64, ["a", "b"], 64)
    with pytest.raises(ConfigError, match=r"predicts classes \['b', 'a'\]"):
        check_teacher(["b", "a"], 64, ["a", "b"], 64, "teacher run r")
    with pytest.raises(ConfigError, match="reads 56 px chips but the student reads 64 px"):
        check_teacher(["a"], 56, ["a"], 64)


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    from tiny_runs import TINY

    from sartail.config import load_config
    from sartail.run.run import Run

    root = tmp_path_factory.mktemp("teacher") / "a"
    Run.create(load_config("ce", TINY), root, progress=False).fit_and_test()
    return root


def test_teacher_logits_of_a_seed_ensemble(finished_run):
    import dataclasses

    from sartail.run.run import Run
    from sartail.run.teacher import teacher_logits

    chips = Run.resume(finished_run, progress=False).data.train
    cache = teacher_logits([finished_run, finished_run], chips, progress=False)
    assert len(cache) == len(chips) and cache.num_classes == chips.num_classes
    probs = cache.lookup(chips.chip_ids[:3]).exp()  # an ensemble gives log averaged probabilities
    assert torch.allclose(probs.sum(1), torch.ones(3), atol=1e-5)
    renamed = dataclasses.replace(chips, class_names=tuple(f"x{i}" for i in range(chips.num_classes)))
    with pytest.raises(ConfigError, match="distillation needs the same classes"):
        teacher_logits([finished_run], renamed, progress=False)
    with pytest.raises(ConfigError, match="px chips but the student reads"):
        teacher_logits([finished_run], chips.center_crop(chips.chip_size[0] - 8), progress=False)
