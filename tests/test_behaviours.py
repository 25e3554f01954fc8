"""Stage behaviours through their hooks, a behaviour and stage kinds added from outside the loop."""
import copy
import dataclasses

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from sartail.config import MaxNormConfig, ModelConfig, load_config
from sartail.data.chipset import ChipSet
from sartail.models import build_model
from sartail.train.behaviours import REGISTRY, Behaviour, build_behaviours, entry
from sartail.train.behaviours.bn_recalibration import BNRecalibration
from sartail.train.behaviours.ema import EMA
from sartail.train.behaviours.max_norm import MaxNorm
from sartail.train.behaviours.mixing import Mixing
from sartail.train.behaviours.selection import EpochSelection
from sartail.train.behaviours.tau import TauSelection
from sartail.train.events import EpochRecord, StepEnd
from sartail.train.kinds import KINDS, Supervised, build_kind
from sartail.train.loop import Context, fit_stage, set_up
from sartail.train.stage import Batch, StageContext, StageKind, StepOutput

CLASSES = "abc"


def chips(n: int, seed: int) -> ChipSet:
    g = torch.Generator().manual_seed(seed)
    return ChipSet.from_tensors(torch.randint(0, 256, (n, 1, 16, 16), generator=g, dtype=torch.uint8),
                                torch.arange(n) % 3, CLASSES)


def stage_of(**changes):
    stage = load_config("ce", {"stages.rough.epochs": 2, "stages.rough.optimizer.lr": 0.05}).stage("rough")
    return dataclasses.replace(stage, **changes)


def context(stage=None, val=True, seed=0) -> StageContext:
    torch.manual_seed(seed)
    model = build_model(ModelConfig(width=4), 3)
    return set_up(model, stage or stage_of(), chips(48, 1), chips(30, 2) if val else None,
                  Context(batch_size=16, progress=False), 0, Supervised(), fresh=True)


def step_end(sc: StageContext) -> StepEnd:
    return StepEnd(sc.stage.name, 1, 1, 1, 1, 0.0, 0.1, torch.arange(4), sc.model, sc.optimizer)


def record(epoch: int, top1: float, balanced: float) -> EpochRecord:
    return EpochRecord("rough", 0, epoch, 0.1, 1.0, 0.5, 48, top1, balanced, 1.0)


# ------------------------------------------------------------------------------ one test per behaviour
def test_ema_scores_its_average_moves_it_after_each_step_and_hands_it_to_the_model():
    sc = context(stage_of(ema=0.5))
    ema = EMA(sc.stage)
    ema.on_stage_start(sc)
    assert sc.scored is not sc.model
    w0 = sc.model.head.weight.detach().clone()
    with torch.no_grad():
        sc.model.head.weight.add_(1.0)
    ema.after_step(sc, step_end(sc))  # first update: decay min(0.5, 2 / 11)
    d = 2 / 11
    assert torch.allclose(sc.scored.head.weight, w0 + (1 - d) * 1.0)
    saved = ema.state_dict()
    ema.on_stage_end(sc)
    assert torch.equal(sc.model.head.weight, sc.scored.head.weight)
    again = EMA(sc.stage)
    again.on_stage_start(sc)
    again.load_state_dict(saved)
    assert again.state_dict()["updates"] == 1 and torch.equal(again.average.model.head.weight, sc.scored.head.weight)


def test_max_norm_caps_the_head_rows_after_a_step_at_the_radius_it_fixed_at_the_start():
    sc = context(stage_of(max_norm=MaxNormConfig(thresh=0.5, relative=False)))
    mn = MaxNorm(sc.stage)
    mn.on_stage_start(sc)
    assert mn.radius == 0.5
    with torch.no_grad():
        sc.model.head.weight.mul_(100.0)
    mn.after_step(sc, step_end(sc))
    assert sc.model.head.weight.norm(dim=1).max().item() == pytest.approx(0.5, abs=1e-5)
    other = MaxNorm(sc.stage)
    other.load_state_dict({"radius": 0.25})
    assert other.state_dict() == {"radius": 0.25}
    assert MaxNorm.wanted(sc.stage) and not MaxNorm.wanted(stage_of())


def test_mixing_mixes_the_batch_and_wraps_its_loss_with_the_epochs_generator():
    sc = context(stage_of(augment=dataclasses.replace(stage_of().augment, mixup=0.4)))
    kind = sc.kind
    sc.aug_rng = torch.Generator().manual_seed(7)
    batch = kind.batch(sc, torch.arange(16), sc.aug_rng)
    x0, y = batch.x.clone(), batch.y
    mixed = Mixing(sc.stage).before_forward(sc, batch)
    assert not torch.equal(mixed.x, x0)
    g = torch.Generator().manual_seed(7)
    kind.batch(sc, torch.arange(16), g)  # the same draws as above, up to the mix
    logits = sc.model(mixed.x)
    from sartail.data.augment import mix_batch

    _, perm, lam = mix_batch(x0, sc.stage.augment, g, y)
    want = lam * F.cross_entropy(logits, y) + (1 - lam) * F.cross_entropy(logits, y[perm])
    assert mixed.loss(logits).item() == pytest.approx(want.item(), rel=1e-5)
    with pytest.raises(ValueError, match="need labelled batches"):
        Mixing(sc.stage).before_forward(sc, Batch(x0, None, torch.arange(16), loss=lambda z: z.sum()))


def test_bn_recalibration_replaces_the_statistics_at_the_stage_end_and_logs_it():
    sc = context(stage_of(bn_recalibrate=True))
    bns = [m for m in sc.model.modules() if isinstance(m, nn.BatchNorm2d)]
    for m in bns:
        m.running_mean.fill_(123.0)
    BNRecalibration(sc.stage).on_stage_end(sc)
    assert all(m.running_mean.abs().max() < 100 for m in bns)
    assert sc.history[-1] == {"stage": "rough", "stage_index": 0, "epoch": 2, "bn_recalibrated": 48,
                              "bn_layers": len(bns)}


def test_tau_selection_keeps_the_grid_value_with_the_best_validation_balanced_accuracy():
    from sartail.train.context import evaluate

    sc = context(stage_of(tau_grid=[0.0, 1.0, 2.0]))
    TauSelection(sc.stage).on_stage_end(sc)
    assert sc.tau in (0.0, 1.0, 2.0) and float(sc.model.head.tau) == sc.tau
    assert sc.history[-1] == {"stage": "rough", "stage_index": 0, "epoch": 2, "tau": sc.tau}
    best = evaluate(sc.model, sc.val, sc.ctx)["balanced"]
    for tau in (0.0, 1.0, 2.0):
        sc.model.head.tau.fill_(tau)
        assert evaluate(sc.model, sc.val, sc.ctx)["balanced"] <= best + 1e-12


def test_selection_restores_the_best_epochs_weights_and_says_why():
    sc = context(stage_of(select="best", epochs=3))
    sel = EpochSelection(sc.stage)
    sel.on_stage_start(sc)
    assert sel.mode == "best"
    weights = []
    for epoch, (top1, bal) in enumerate([(0.5, 0.5), (0.9, 0.9), (0.6, 0.6)], start=1):
        with torch.no_grad():
            sc.model.head.weight.fill_(float(epoch))
        weights.append(sc.model.head.weight.clone())
        rec = record(epoch, top1, bal)
        sel.on_epoch_end(sc, rec)
        sc.history.append(rec.as_dict())
    saved = sel.state_dict()
    sel.on_stage_end(sc)
    assert torch.equal(sc.model.head.weight, weights[1]) and sc.best_epoch == 2
    assert sc.selected.startswith("epoch 2 of 3: best validation epoch")
    again = EpochSelection(sc.stage)
    again.load_state_dict(saved)
    assert (again.best_epoch, again.best_score) == (2, 0.9) and torch.equal(again.best_state["head.weight"], weights[1])
    last = EpochSelection(dataclasses.replace(sc.stage, select="last"))
    last.on_stage_start(sc)
    for epoch in (1, 2, 3):
        last.on_epoch_end(sc, record(epoch, 0.3 * epoch, 0.3 * epoch))
    last.on_stage_end(sc)
    assert sc.best_epoch is None and sc.selected == "epoch 3 of 3: last epoch (select: last)"


def test_the_registry_builds_what_a_stage_asks_for_in_hook_order():
    assert list(build_behaviours(stage_of())) == ["selection"]
    stage = stage_of(ema=0.9, tau_grid=[1.0], bn_recalibrate=True, max_norm=MaxNormConfig(thresh=0.1),
                     augment=dataclasses.replace(stage_of().augment, cutmix=1.0))
    assert list(build_behaviours(stage)) == ["mixing", "max_norm", "ema", "selection", "bn_recalibration", "tau"]


# ------------------------------------------------------------------------------ extending without touching the loop
class CountSteps(Behaviour):
    """A toy behaviour: counts the steps and sees every epoch's typed record."""

    name = "count_steps"

    def __init__(self, stage):
        self.steps, self.records, self.lr_seen = 0, [], []

    @staticmethod
    def wanted(stage):
        return stage.name == "rough"

    def after_step(self, context, step):
        self.steps += 1
        self.lr_seen.append(context.optimizer.param_groups[0]["lr"])

    def on_epoch_end(self, context, record):
        self.records.append(record)

    def state_dict(self):
        return {"steps": self.steps}


def test_a_behaviour_registered_from_a_test_module_gets_its_hooks_and_a_place_in_the_checkpoint(monkeypatch):
    monkeypatch.setitem(REGISTRY, "count_steps", entry(CountSteps))
    built = {}
    real = CountSteps.__init__

    def init(self, stage):
        real(self, stage)
        built["it"] = self

    monkeypatch.setattr(CountSteps, "__init__", init)
    saved = []
    torch.manual_seed(0)
    model = build_model(ModelConfig(width=4), 3)
    result = fit_stage(model, stage_of(), chips(48, 1), chips(30, 2), Context(batch_size=16, progress=False),
                       save=saved.append)
    toy = built["it"]
    assert toy.steps == 2 * 3 and len(toy.lr_seen) == 6  # 48 chips, batch 16, two epochs
    assert [r.epoch for r in toy.records] == [1, 2] and all(isinstance(r, EpochRecord) for r in toy.records)
    assert [s["behaviours"]["count_steps"] for s in saved] == [{"steps": 3}, {"steps": 6}]
    assert len(result.history) == 2


class TwoViews(StageKind):
    """A toy self-supervised kind: two noisy views of each chip, no labels, a projector dropped afterwards."""

    name = "two_views"

    def setup(self, context):
        self.images = context.train.pixels().float()
        self.projector = nn.Linear(context.model.head.weight.shape[1], 8)
        return list(self.projector.parameters())

    def batch(self, context, positions, rng):
        x = self.images[positions]
        views = [x + 8 * torch.randn(x.shape, generator=rng) for _ in range(2)]
        return Batch(torch.cat(views), None, positions, loss=lambda z: z)

    def forward(self, context, batch):
        z = F.normalize(self.projector(context.model.features(batch.x)), dim=1)
        a, b = z.chunk(2)
        logits = a @ b.T / 0.5
        return StepOutput(F.cross_entropy(logits, torch.arange(len(a))))  # each view's partner is its positive

    def on_stage_end(self, context):
        self.dropped = self.projector
        self.projector = None

    def state_dict(self):
        return {"projector": self.projector.state_dict()}


class Distill(Supervised):
    """A toy distillation kind: a frozen teacher's cached logits beside the labels."""

    name = "distill"

    def __init__(self, teacher_logits):
        self.teacher = teacher_logits

    def batch(self, context, positions, rng):
        batch = super().batch(context, positions, rng)
        batch.extra["teacher"] = self.teacher[positions]
        return batch

    def forward(self, context, batch):
        logits = context.net(batch.x)
        kd = F.kl_div(F.log_softmax(logits, 1), F.softmax(batch.extra["teacher"], 1), reduction="batchmean")
        return StepOutput(0.5 * batch.loss(logits) + 0.5 * kd, logits, batch.y)


def test_a_self_supervised_kind_plugs_into_the_one_loop_and_leaves_the_head_alone():
    torch.manual_seed(0)
    model = build_model(ModelConfig(width=4), 3)
    head, body = model.head.weight.detach().clone(), model.body.layers[0][0].weight.detach().clone()
    kind = TwoViews()
    saved = []
    result = fit_stage(model, stage_of(), chips(48, 1), None, Context(batch_size=16, progress=False), kind=kind,
                       save=saved.append)
    assert torch.equal(model.head.weight, head) and not torch.equal(model.body.layers[0][0].weight, body)
    assert kind.projector is None and isinstance(kind.dropped, nn.Linear)
    assert [r["train_acc"] for r in result.history] == [0.0, 0.0] and all(r["train_loss"] > 0 for r in result.history)
    assert set(saved[0]["kind"]["projector"]) == {"weight", "bias"}


def test_a_distillation_kind_reads_the_teachers_logits_beside_the_labels(monkeypatch):
    train = chips(48, 1)
    teacher = F.one_hot(train.labels, 3).float() * 5
    runs = []
    for kind in (Supervised(), Distill(teacher)):
        torch.manual_seed(0)
        model = build_model(ModelConfig(width=4), 3)
        runs.append(fit_stage(model, stage_of(), train, None, Context(batch_size=16, progress=False), kind=kind))
    assert runs[0].history[0]["train_loss"] != runs[1].history[0]["train_loss"]
    monkeypatch.setitem(KINDS, "distill", lambda: Distill(teacher))
    assert isinstance(build_kind("distill"), Distill)
    with pytest.raises(ValueError, match="unknown stage kind 'nope'"):
        build_kind("nope")


def test_a_loop_checkpoint_written_before_behaviours_had_entries_resumes_the_same():
    stage = stage_of(ema=0.9, max_norm=MaxNormConfig(thresh=0.5, relative=False), select="best")
    train, val = chips(48, 1), chips(30, 2)

    def fit(resume=None, save=None):
        torch.manual_seed(0)
        model = build_model(ModelConfig(width=4), 3)
        fit_stage(model, stage, train, val, Context(batch_size=16, progress=False, checkpoint_every=2),
                  resume=resume, save=save)
        return model.state_dict()

    saved = []
    full = fit(save=saved.append)
    new = next(s for s in saved if (s["epoch"], s["step"]) == (1, 1))  # mid-epoch 2, after a validated epoch
    old = {k: v for k, v in new.items() if k not in ("behaviours", "kind")}
    old.update(new["behaviours"]["selection"], ema=new["behaviours"]["ema"],
               max_norm_radius=new["behaviours"]["max_norm"]["radius"])
    a, b = fit(resume=copy.deepcopy(new)), fit(resume=copy.deepcopy(old))  # as if read from disk: the optimizer's
    # load_state_dict keeps the tensors it is given and steps them in place
    assert all(torch.equal(a[k], b[k]) and torch.equal(a[k], full[k]) for k in a)
