"""The budget floor (chip presentations, fair at any data size), the equal-budget control and selection."""
import math

import pytest
import torch

from sartail.config import load_config
from sartail.config.schema import StageConfig
from sartail.data.chipset import ChipSet
from sartail.data.splits import Splits
from sartail.run.budget import body_presentations, equal_budget_control, floor_epochs, resolve_budget, stage_lengths
from sartail.run.sweep import Planned, resolved_plan
from sartail.train.behaviours.selection import beats_last, chip_lead, is_better, overrule_best, selection_mode


def lengths(cfg, n):
    """Chips per epoch of every stage on ``n`` training chips (instance / class-balanced samplers: ``n``)."""
    return [n] * len(cfg.stages)


def steps(cfg, n, batch=64):
    epochs, _, _ = floor_epochs(cfg, lengths(cfg, n))
    return [e * math.ceil(n / batch) for e in epochs]


def test_the_floor_gives_400_and_4000_chips_the_same_budget_and_leaves_40000_at_the_shipped_epochs():
    cfg = load_config("ce")
    small, mid, big = floor_epochs(cfg, [400]), floor_epochs(cfg, [2000]), floor_epochs(cfg, [40_000])
    assert small[0] == [375] and small[1] == pytest.approx(150_000 / (30 * 400))  # 150 k presentations
    assert mid[0] == [75] and "body epochs x2.5" in mid[2]
    assert big[0] == [30] and big[1] == 1.0 and "not binding" in big[2]  # 1.2 M presentations: shipped epochs
    # the same optimizer steps on 400 and 2,000 chips: the body's budget does not depend on the data size
    assert steps(cfg, 400, batch=40) == steps(cfg, 2000, batch=40) == [3750]
    assert steps(cfg, 40_000, batch=40) == [30 * 1000]


def test_a_multi_stage_recipe_keeps_its_proportions_and_head_stages_get_their_own_floor():
    cfg = load_config("three_stage")
    epochs, k, note = floor_epochs(cfg, [400, 300, 400, 400])
    body = 30 * 400 + 20 * 300 + 10 * 400
    assert k == pytest.approx(150_000 / body)
    assert epochs[:3] == [math.ceil(e * k) for e in (30, 20, 10)]  # one factor for every body stage
    assert epochs[3] == 50 and "classifier 10 -> 50 epochs" in note  # 20 k presentations / 400
    off = load_config("three_stage", {"budget.min_samples": 0, "budget.head_min_samples": 0})
    assert floor_epochs(off, [400, 300, 400, 400])[0] == [30, 20, 10, 10]


def test_ldam_drw_epoch_follows_the_one_scaling_rule():
    cfg = load_config("ldam_drw")
    epochs, _, _ = floor_epochs(cfg, [400])
    from sartail.config import scaled_drw_epoch

    out = cfg.with_epochs(epochs, cfg.budget)
    drw = cfg.stages[0].loss.drw_epoch
    assert out.stages[0].loss.drw_epoch == scaled_drw_epoch(drw, 30, epochs[0]) > drw


def test_the_warm_up_and_step_milestones_keep_their_fraction_of_a_lengthened_stage():
    """On 387 chips the floor makes ce's 30 epochs 388: its 1-epoch warm-up (3 %) becomes 12.9 epochs, not 0.3 %."""
    from sartail.config import epoch_scaled
    from sartail.train.schedule import lr_at

    cfg = load_config("ce")
    epochs, k, _ = floor_epochs(cfg, [387])
    out = cfg.with_epochs(epochs, cfg.budget).stages[0].schedule
    assert epochs == [388] and out.warmup_epochs == pytest.approx(388 / 30)
    # in steps (7 per epoch): the learning rate reaches its peak after 91 steps, 3 % of 2,716
    assert lr_at(89, 2716, 7, 0.05, out) < 0.05 == pytest.approx(lr_at(90, 2716, 7, 0.05, out))
    step = load_config("ce", {"stages.rough.schedule.name": "step", "stages.rough.schedule.milestones": [20, 25]})
    got = step.with_epochs([60], step.budget).stages[0].schedule
    assert got.milestones == (40.0, 50.0) and got.warmup_epochs == 2.0
    assert cfg.with_epochs([30], cfg.budget).stages[0].schedule == cfg.stages[0].schedule  # unchanged length
    scaled = epoch_scaled(cfg, 4).stages[0]  # --epoch-scale follows the same rule
    assert scaled.epochs == 120 and scaled.schedule.warmup_epochs == 4.0
    tail = load_config("crt").stage("classifier")  # a stage without warm-up stays without
    assert load_config("crt").with_epochs([388, 52], cfg.budget).stage("classifier").schedule.warmup_epochs == 0 \
        == tail.schedule.warmup_epochs


def tiny_splits(per_class=(40, 20, 10), val=(4, 2, 1)):
    def chips(counts):
        labels = torch.cat([torch.full((n,), c) for c, n in enumerate(counts)])
        return ChipSet.from_tensors(torch.zeros(len(labels), 1, 8, 8, dtype=torch.uint8), labels, ["a", "b", "c"])
    return Splits(chips(per_class), chips(val), chips(val))


def test_resolve_budget_records_what_it_did_and_is_idempotent():
    data = tiny_splits()
    cfg = resolve_budget(load_config("ce", {"budget.min_samples": 7000}), data)
    assert cfg.stages[0].epochs == 100 and cfg.budget.scale == pytest.approx(7000 / (30 * 70), rel=1e-3)
    assert "body epochs x3.3" in cfg.budget.note
    assert resolve_budget(cfg, data) is cfg  # a resumed run's saved config is not scaled again


def test_the_equal_budget_control_gets_the_body_presentations_of_the_longest_recipe(tmp_path):
    data = tiny_splits()
    budget = {"budget.min_samples": 0, "budget.head_min_samples": 0}
    plan = [Planned(r, load_config(r, {**budget, "seed": 0}), tmp_path / r / "seed-0") for r in ("ce", "three_stage")]
    datasets = {}
    from sartail.run.sweep import data_key

    datasets[data_key(plan[0].cfg)] = data
    out = resolved_plan(plan, datasets, control=True)
    assert [p.name for p in out] == ["ce", "three_stage", "ce@equal"]
    control = out[-1]
    assert control.path == tmp_path / "ce@equal" / "seed-0"
    three = body_presentations(out[1].cfg, stage_lengths(out[1].cfg, data))
    assert three == 30 * 70 + 20 * 30 + 10 * 70  # the residual stage removes class 0
    assert control.cfg.recipe == "ce" and control.cfg.stages[0].epochs == round(three / 70) == 49
    # optimizer steps of the control = steps of the three-stage body, to an epoch
    assert abs(control.cfg.stages[0].epochs * 70 - three) <= 70
    assert equal_budget_control(plan[1].cfg, three, data).stages[0].epochs == 49  # also without a ce template


def test_where_the_floor_binds_every_recipe_the_control_is_ce_itself(tmp_path):
    """Rounding each stage's epochs up leaves three_stage's body 100 presentations (more than an
    epoch of these 70 chips, under 1 %) longer than ce's at the same 150 k floor: ce is the control."""
    from sartail.run.sweep import data_key

    data = tiny_splits()
    plan = [Planned(r, load_config(r, {"seed": 0}), tmp_path / r / "seed-0") for r in ("ce", "three_stage")]
    out = resolved_plan(plan, {data_key(plan[0].cfg): data}, control=True)
    ce, three, control = (body_presentations(p.cfg, stage_lengths(p.cfg, data)) for p in out)
    assert ce == 2143 * 70 == 150_010 and three == 1324 * 70 + 883 * 30 + 442 * 70 == 150_110
    assert control == ce and out[-1].cfg.stages == out[0].cfg.stages  # the same stage: reused, not retrained
    # a target more than 1 % and an epoch away is trained for
    assert equal_budget_control(out[0].cfg, 152_000, data).stages[0].epochs == round(30 * 152_000 / 2100) == 2171


@pytest.mark.parametrize("select,val,want", [
    ("auto", [6, 5, 1], "last"), ("auto", [6, 5, 5], "best"), ("last", [9, 9, 9], "last"),
    ("best", [1, 1, 1], "best"), ("auto", None, "last"),
])
def test_selection_auto_trusts_the_best_epoch_only_with_enough_validation_chips(select, val, want):
    mode, why = selection_mode(StageConfig("s", select=select), val)
    assert mode == want
    if select == "auto" and want == "last" and val:
        assert "1 of 3 classes have fewer than 5 validation chips" in why


def test_ties_go_to_the_later_epoch():
    assert is_better(0.9, 0.9) and not is_better(0.89, 0.9)


def test_select_auto_keeps_the_last_epoch_with_a_one_chip_validation_class(tmp_path):
    from tiny_runs import TINY

    from sartail import Run

    over = {**TINY, "stages.rough.epochs": 3}
    run = Run.create(load_config("ce", over), tmp_path / "r", progress=False)
    res = run.fit_and_test()
    vc = res.data["val_counts"]
    assert min(vc) < 5 and run.results["rough"].best_epoch is None
    assert res.selected["rough"].startswith("epoch 3 of 3: last epoch (select: auto)")
    best = Run.create(load_config("ce", {**over, "stages.rough.select": "best"}), tmp_path / "b", progress=False)
    best.fit()
    rec = [r["val_balanced"] for r in best.results["rough"].history]
    assert best.results["rough"].best_epoch == max(i + 1 for i, v in enumerate(rec) if v == max(rec))  # later on ties


def test_the_margin_of_auto_is_counted_in_validation_chips_not_in_balanced_accuracy():
    n = 204  # full MSTAR's validation split: [22, 18, 22, 19, 18, 22, 22, 17, 22, 22]
    assert chip_lead(204 / n, 203 / n, n) == 1 and chip_lead(0.5, 0.5, n) == 0
    assert not beats_last(1.0, 203 / n, n)  # seed 1: a one-epoch spike to 1.000 against 0.995 at the end
    # seed 4: epoch 34 (one error, in a class of 22: balanced 0.9955) against the last epoch (two errors,
    # in classes of 18 and 19: balanced 0.9892). Balanced accuracy says 0.0063, more than one chip of the
    # smallest class (1/170 = 0.0059); the chips say one.
    assert not beats_last(203 / n, 202 / n, n)
    assert beats_last(204 / n, 202 / n, n) and not beats_last(0.9, 0.9, 10)


def test_select_auto_keeps_the_best_epoch_only_when_it_beats_the_last_by_a_chip(tmp_path, monkeypatch):
    from tiny_runs import TINY

    import sartail.train.behaviours.selection as selection
    from sartail import Run

    monkeypatch.setattr(selection, "selection_mode", lambda stage, counts: selection_mode(stage, counts, min_val=1))
    run = Run.create(load_config("ce", {**TINY, "stages.rough.epochs": 4}), tmp_path / "r", progress=False)
    run.fit()
    stage = run.results["rough"]
    rec = [r["val_balanced"] for r in stage.history]
    best = max(i + 1 for i, v in enumerate(rec) if v == max(rec))
    top1 = [r["val_top1"] for r in stage.history]
    if best == 4 or beats_last(top1[best - 1], top1[-1], len(run.data.val)):  # the best epoch is kept (it may be the last)
        assert stage.best_epoch == best and "best validation epoch" in stage.selected
    else:  # an earlier best within one chip of the last: the last is kept, and the summary says why
        assert stage.best_epoch is None and stage.selected.startswith("epoch 4 of 4: last epoch")
        assert "by no more than one chip" in stage.selected


def test_auto_overrules_an_earlier_best_within_one_chip_and_nothing_else():
    auto, best = StageConfig("s", epochs=54, select="auto"), StageConfig("s", epochs=54, select="best")
    n = 204
    why = overrule_best(auto, 34, 203 / n, 202 / n, n)
    assert why is not None and "(34, 203 of 204 validation chips right) leads the last (202) by no more than one chip" in why
    assert overrule_best(auto, 29, 1.0, 202 / n, n) is None  # two chips better: the best stands
    assert overrule_best(auto, 54, 1.0, 1.0, n) is None  # the best is the last epoch
    assert overrule_best(best, 29, 1.0, 203 / n, n) is None  # select: best means best
