"""The one training loop: freezing, class removal, head hand-over, samplers in the loop, stops."""
import pytest
import torch
from tiny_runs import TINY, Recorder

from sartail import Run
from sartail.config import load_config
from sartail.data import stage_view
from sartail.errors import NonFiniteLossError, StopRequested
from sartail.models import ModelConfig, build_model
from sartail.train.heads import set_head_classes
from sartail.train.loop import Context, fit_stage, stream_seed
from sartail.train.samplers import EpochSampler, plan_batches
from sartail.train.schedule import lr_at


@pytest.fixture(scope="module")
def three_stage(tmp_path_factory):
    """A finished tiny three-stage run, with every step recorded."""
    rec = Recorder()
    cfg = load_config("three_stage", {**TINY, "stages.rough.epochs": 2})
    run = Run.create(cfg, tmp_path_factory.mktemp("runs") / "three", progress=False, callbacks=[rec])
    run.fit()
    return run, rec


def body_state(model):
    return {k: v.clone() for k, v in model.state_dict().items() if k.startswith("body.")}


def test_head_only_stage_leaves_the_body_bit_identical(three_stage):
    run, _ = three_stage
    before = run.load_model(run.dir.stage_checkpoint(2, "balanced"))
    after = run.load_model(run.dir.stage_checkpoint(3, "classifier"))
    b0, b1 = body_state(before), body_state(after)
    assert b0.keys() == b1.keys() and b0  # weights and BatchNorm statistics alike
    for k in b0:
        assert torch.equal(b0[k], b1[k]), k
    # ... while the head did change (re-initialised and trained)
    assert not torch.equal(before.head.weight, after.head.weight)


def test_bn_update_option_changes_only_batchnorm_statistics(tmp_path):
    cfg = load_config("mislas", {**TINY, "stages.rough.augment.mixup": 0.0})
    run = Run.create(cfg, tmp_path / "m", progress=False)
    run.fit()
    before = body_state(run.load_model(run.dir.stage_checkpoint(0, "rough")))
    after = body_state(run.load_model(run.dir.stage_checkpoint(1, "classifier")))
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert changed and all("running_" in k or "num_batches" in k for k in changed)


def test_stage_two_never_sees_a_removed_class(three_stage):
    run, rec = three_stage
    stage = run.cfg.stage("residual")
    view = stage_view(run.data.train, stage)
    assert 0 not in view.class_ids and len(view.class_ids) == 9
    seen = [p for s, _, _, p in rec.steps if s == "residual"]
    assert seen
    global_labels = torch.tensor(view.class_ids)[view.labels[torch.cat(seen)]]
    assert 0 not in set(global_labels.tolist())
    ckpt = run.dir.load(run.dir.stage_checkpoint(1, "residual"))
    assert ckpt["head_class_ids"] == list(range(1, 10))


def test_head_hand_over_keeps_class_order():
    model = build_model(ModelConfig(width=4), 4)
    torch.nn.init.normal_(model.head.weight)
    rows = model.head.weight.detach().clone()
    set_head_classes(model, [1, 3])
    assert model.head.class_ids.tolist() == [1, 3]
    assert torch.equal(model.head.weight.detach(), rows[[1, 3]])
    with torch.no_grad():
        model.head.weight.add_(1.0)  # "train" stage 2
    set_head_classes(model, [0, 1, 2, 3])
    w = model.head.weight.detach()
    assert torch.equal(w[[0, 2]], rows[[0, 2]])  # removed classes: their stage-1 rows
    assert torch.equal(w[[1, 3]], rows[[1, 3]] + 1.0)  # kept classes: their stage-2 rows


def test_three_stage_run_hands_rows_over_between_stages(three_stage):
    run, _ = three_stage
    s1 = run.dir.load(run.dir.stage_checkpoint(0, "rough"))
    s2 = run.dir.load(run.dir.stage_checkpoint(1, "residual"))
    # stage 2's bank holds class 0's row exactly as stage 1 left it
    assert torch.equal(s2["bank"][0]["weight"], s1["model"]["head.weight"][0])
    s3 = run.dir.load(run.dir.stage_checkpoint(2, "balanced"))
    assert s3["head_class_ids"] == list(range(10))


def test_the_loop_trains_on_exactly_what_the_sampler_draws(three_stage):
    run, rec = three_stage
    for index, stage in enumerate(run.cfg.stages):
        view = stage_view(run.data.train, stage)
        sampler = EpochSampler(stage.sampler, view.labels, view.num_classes, stage.epochs)
        for epoch in range(stage.epochs):
            g = torch.Generator().manual_seed(stream_seed(run.cfg.seed, index, epoch, 0))
            want = plan_batches(sampler.indices(epoch, g), stage.batch_size or run.cfg.batch_size)
            got = [p for s, e, _, p in rec.steps if s == stage.name and e == epoch + 1]
            assert len(got) == len(want)
            assert all(torch.equal(a, b) for a, b in zip(got, want)), stage.name
    # and the balanced stage's batches are (statistically) class-balanced
    stage = run.cfg.stage("balanced")
    pos = torch.cat([p for s, _, _, p in rec.steps if s == "balanced"])
    freq = torch.bincount(run.data.train.labels[pos], minlength=10).double() / pos.numel()
    assert freq.min() > 0.05 and freq.max() < 0.15


def test_stop_request_keeps_a_checkpoint_and_says_how_to_resume(tmp_path):
    cfg = load_config("ce", TINY)
    rec = Recorder(stop_at=("rough", 1, 3))
    run = Run.create(cfg, tmp_path / "stopped", progress=False, callbacks=[rec])
    with pytest.raises(StopRequested, match="sartail run --resume"):
        run.fit()
    last = run.dir.load(run.dir.checkpoints / "last.pt")
    assert last["stage_index"] == 0 and last["loop"]["step"] == 3


def test_nan_loss_stops_the_stage_naming_the_step_and_keeps_the_last_checkpoint(tmp_path, monkeypatch):
    import sartail.train.losses as S

    cfg = load_config("ce", {**TINY, "stages.rough.epochs": 2})
    run = Run.create(cfg, tmp_path / "nan", progress=False)
    real = S.Loss.forward
    calls = {"n": 0}
    steps_per_epoch = None

    def poisoned(self, logits, targets):
        calls["n"] += 1
        out = real(self, logits, targets)
        return out * float("nan") if calls["n"] == steps_per_epoch + 2 else out

    view = run.data.train
    steps_per_epoch = len(plan_batches(torch.arange(len(view)), run.cfg.batch_size))
    monkeypatch.setattr(S.Loss, "forward", poisoned)
    with pytest.raises(NonFiniteLossError, match=r"epoch 2, step 2"):
        run.fit()
    last = run.dir.load(run.dir.checkpoints / "last.pt")  # the end-of-epoch-1 checkpoint
    assert last["loop"]["epoch"] == 1 and last["loop"]["step"] == 0
    assert all(torch.isfinite(v).all() for v in last["loop"]["model"].values() if v.is_floating_point())
    assert len(run.dir.metrics()) == 1


def test_warmup_then_cosine_schedule():
    from sartail.config import ScheduleConfig

    cfg = ScheduleConfig(name="cosine", warmup_epochs=1)
    lrs = [lr_at(s, 40, 10, 0.1, cfg) for s in range(40)]
    assert lrs[0] == pytest.approx(0.01) and lrs[9] == pytest.approx(0.1)
    assert lrs[10] == pytest.approx(0.1) and lrs[-1] < 0.002
    assert all(a >= b for a, b in zip(lrs[10:], lrs[11:]))
    step = ScheduleConfig(name="step", milestones=(2, 3), gamma=0.1)
    assert [round(lr_at(s * 10, 40, 10, 1.0, step), 6) for s in range(4)] == [1.0, 1.0, 0.1, 0.01]


def test_fit_stage_checks_the_head_matches_the_stage(three_stage):
    run, _ = three_stage
    model = build_model(ModelConfig(width=4), 10)
    view = stage_view(run.data.train, run.cfg.stage("residual"))
    with pytest.raises(ValueError, match="head classes"):
        fit_stage(model, run.cfg.stage("residual"), view, None, Context())


def test_resuming_between_stages_keeps_the_removed_classes_rows(three_stage, tmp_path):
    """A run resumed after stage 2 (a new process, as notebook 03 does) hands stage 1's row of
    the removed class to stage 3, exactly as the run that never stopped."""
    run, _ = three_stage
    cfg = load_config("three_stage", {**TINY, "stages.rough.epochs": 2})
    part = Run.create(cfg, tmp_path / "part", progress=False)
    part.fit(until="residual")
    again = Run.resume(tmp_path / "part", progress=False)
    again.fit()
    whole = run.dir.load(run.dir.stage_checkpoint(2, "balanced"))["model"]
    resumed = again.dir.load(again.dir.stage_checkpoint(2, "balanced"))["model"]
    assert all(torch.equal(whole[k], resumed[k]) for k in whole)
