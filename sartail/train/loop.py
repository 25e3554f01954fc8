"""The one training loop, shared by every stage and recipe (evaluation: :mod:`sartail.eval.predict`).

A stage is data (:class:`~sartail.config.StageConfig`): which classes it sees, its sampler,
which parameters train, its loss, optimizer, schedule, augmentation and epochs.
:func:`fit_stage` sets the stage up, runs :func:`train_one_epoch` and :func:`validate` for each
epoch, and hands the stage's behaviours (:mod:`sartail.train.behaviours`: mixing, MaxNorm, an
average of the weights, epoch selection, BatchNorm recalibration, tau) their hooks. How a step
turns chips into a loss is the stage's kind (:mod:`sartail.train.kinds`). Nothing here knows
which recipe it serves.

Reproducibility: every epoch draws its chips and its augmentation from generators seeded by
``(seed, stage, epoch)``, and a checkpoint keeps the augmentation generator's state and every
behaviour's state, so a run resumed from any checkpoint (end of an epoch, or mid-epoch)
repeats the same steps bit for bit on the CPU.
"""
from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from typing import Any

import torch
from torch import nn
from tqdm.auto import tqdm

from .. import distributed as D
from ..config import StageConfig
from ..data.chipset import ChipSet
from ..errors import NonFiniteLossError, StopRequested
from ..models import Classifier, channels_last_for
from .behaviours import Behaviour, build_behaviours
from .context import Context, evaluate, stream_seed
from .events import EpochRecord, StageEnd, StageStart, StepEnd
from .heads import set_train_mode, trainable_parameters
from .kinds import build_kind
from .result import StageResult
from .samplers import EpochSampler, plan_batches
from .schedule import build_optimizer, lr_at
from .stage import StageContext, StageKind

Save = Callable[[dict[str, Any]], None]


class Progress:
    """Where a stage is: the epoch, the next step, the epoch's running sums (loss, correct, seen)."""

    def __init__(self, epoch: int = 0, step: int = 0, sums: list[float] | None = None,
                 aug_state: torch.Tensor | None = None) -> None:
        self.epoch, self.step, self.sums, self.aug_state = epoch, step, sums or [0.0, 0.0, 0.0], aug_state

    def at_epoch(self, epoch: int) -> Progress:
        """Where ``epoch`` starts: here if this is a stop in its middle, else at its first step."""
        return self if epoch == self.epoch and self.aug_state is not None else Progress(epoch)


# ------------------------------------------------------------------------------ the loop
def fit_stage(
    model: Classifier,
    stage: StageConfig,
    train: ChipSet,
    val: ChipSet | None,
    ctx: Context,
    *,
    index: int = 0,
    resume: dict[str, Any] | None = None,
    save: Save | None = None,
    kind: StageKind | None = None,
) -> StageResult:
    """Train ``model`` for one stage on ``train`` (already restricted to the stage's classes).

    ``resume`` is the ``"loop"`` part of a checkpoint written through ``save``; ``save``
    receives that part at the end of every epoch, every ``ctx.checkpoint_every`` steps and
    when a stop is requested (then :class:`~sartail.errors.StopRequested` is raised).
    ``kind`` is how a step computes its loss (default: the stage's own, ``stage.kind``); a
    kind that reads no labels (``uses_labels`` false) is not validated.
    """
    kind = kind or build_kind(stage.kind)
    val = val if kind.uses_labels else None  # a stage without labels has no labelled score to validate
    sc = set_up(model, stage, train, val, ctx, index, kind, fresh=resume is None)
    behaviours = build_behaviours(stage)
    for b in behaviours.values():
        b.on_stage_start(sc)
    at = restore(sc, behaviours, resume) if resume is not None else Progress()
    start = StageStart(stage, index, sc.steps_per_epoch, stage.epochs, at.epoch, len(train),
                       list(train.class_names), model, sc.optimizer)
    for cb in ctx.callbacks:
        cb.on_stage_start(start)
    bar = tqdm(total=sc.total_steps, initial=at.epoch * sc.steps_per_epoch + at.step, desc=f"stage {stage.name}",
               unit="step", disable=not (ctx.progress and ctx.dist.is_main), leave=False, mininterval=0.5)
    try:
        for epoch in range(at.epoch, stage.epochs):
            t0 = time.perf_counter()
            at = at.at_epoch(epoch)
            sums = train_one_epoch(sc, behaviours, at, bar, save)
            record = validate(sc, epoch, sums)
            for b in behaviours.values():
                b.on_epoch_end(sc, record)
            sc.log(record.as_dict())
            if ctx.dist.is_main:
                seconds = time.perf_counter() - t0
                ctx.timing({"stage": stage.name, "epoch": epoch + 1, "seconds": seconds,
                            "chips_per_s": sums[2] / max(seconds, 1e-9)})
            if save is not None:
                save(loop_state(sc, behaviours, Progress(epoch + 1)))
            for cb in ctx.callbacks:
                cb.on_epoch_end(record)
    finally:
        bar.close()
    for b in behaviours.values():
        b.on_stage_end(sc)
    sc.kind.on_stage_end(sc)
    val_metrics = evaluate(model, val, ctx) if val is not None and len(val) else {}
    result = StageResult(stage.name, sc.history, val_metrics, sc.tau, sc.best_epoch, sc.selected)
    for cb in ctx.callbacks:
        cb.on_stage_end(StageEnd(stage, result, model))
    return result


def set_up(model: Classifier, stage: StageConfig, train: ChipSet, val: ChipSet | None, ctx: Context, index: int,
           kind: StageKind, *, fresh: bool) -> StageContext:
    """The model on its device and memory format, its optimizer and the stage's kind, ready to train."""
    if list(model.head.class_ids.tolist()) != list(train.class_ids):
        raise ValueError(f"head classes {model.head.class_ids.tolist()} differ from the stage's {list(train.class_ids)}")
    if stage.head == "reinit" and fresh:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(stream_seed(ctx.seed, index, 0, 3))
            model.head.reset_parameters()
    params = trainable_parameters(model, stage)
    model.to(ctx.device)
    channels_last = channels_last_for(model, ctx.device, ctx.channels_last)
    model.to(memory_format=torch.channels_last if channels_last else torch.contiguous_format)
    batch_size = stage.batch_size or ctx.batch_size
    sampler = EpochSampler(stage.sampler, train.labels, train.num_classes, stage.epochs)
    steps = math.ceil(len(sampler) / (batch_size * ctx.dist.world_size))
    net: nn.Module = model
    if ctx.dist.enabled:
        net = nn.parallel.DistributedDataParallel(model, device_ids=[ctx.device.index] if ctx.device.type == "cuda" else None)
    sc = StageContext(stage, index, ctx, model, net, train, val, kind, sampler, batch_size, steps, channels_last,
                      scored=model)
    sc.optimizer = build_optimizer(params + kind.setup(sc), stage.optimizer)
    return sc


def restore(sc: StageContext, behaviours: dict[str, Behaviour], resume: dict[str, Any]) -> Progress:
    """Put back what :func:`loop_state` saved; returns where the stage stopped."""
    sc.model.load_state_dict(resume["model"])
    sc.optimizer.load_state_dict(resume["optimizer"])
    sc.history = list(resume["history"])
    torch.set_rng_state(resume["torch_rng"])
    sc.kind.load_state_dict(resume.get("kind", {}))
    states = resume["behaviours"] if "behaviours" in resume else earlier_states(resume)
    for name, b in behaviours.items():
        b.load_state_dict(states[name])
    return Progress(resume["epoch"], resume["step"], list(resume["partial"]), resume["aug_rng"])


def earlier_states(resume: dict[str, Any]) -> dict[str, Any]:
    """The behaviours' states in a checkpoint written before they had entries of their own (then at its top level)."""
    return {"ema": resume.get("ema"), "max_norm": {"radius": resume.get("max_norm_radius")},
            "selection": {k: resume.get(k) for k in ("best_score", "best_epoch", "best_state")}}


def loop_state(sc: StageContext, behaviours: dict[str, Behaviour], at: Progress,
               aug_rng: torch.Generator | None = None) -> dict[str, Any]:
    """What a checkpoint keeps of a stage in training, to resume it bit for bit."""
    return {
        "model": copy.deepcopy(sc.model.state_dict()),
        "optimizer": copy.deepcopy(sc.optimizer.state_dict()),
        "history": list(sc.history),
        "epoch": at.epoch,
        "step": at.step,
        "partial": list(at.sums),
        "aug_rng": aug_rng.get_state() if aug_rng is not None else None,
        "torch_rng": torch.get_rng_state(),
        "kind": sc.kind.state_dict(),
        "behaviours": {name: b.state_dict() for name, b in behaviours.items()},
    }


def train_one_epoch(sc: StageContext, behaviours: dict[str, Behaviour], at: Progress, bar: Any,
                    save: Save | None) -> list[float]:
    """Train epoch ``at.epoch`` from step ``at.step``; returns its sums (loss, correct, seen) over all processes."""
    stage, ctx, epoch = sc.stage, sc.ctx, at.epoch
    sample_rng = torch.Generator().manual_seed(stream_seed(ctx.seed, sc.index, epoch, 0))
    sc.aug_rng = torch.Generator().manual_seed(stream_seed(ctx.seed, sc.index, epoch, 1))
    if at.aug_state is not None:
        sc.aug_rng.set_state(at.aug_state)
    else:
        torch.manual_seed(stream_seed(ctx.seed, sc.index, epoch, 2))
    sc.kind.set_epoch(epoch)
    batches = plan_batches(sc.sampler.indices(epoch, sample_rng), sc.batch_size, ctx.dist.rank, ctx.dist.world_size)
    set_train_mode(sc.model, stage)
    for step in range(at.step, len(batches)):
        if ctx.stop_requested():
            if save is not None:
                save(loop_state(sc, behaviours, Progress(epoch, step, at.sums), sc.aug_rng))
            raise StopRequested(f"stage {stage.name!r} stopped at epoch {epoch + 1}, step {step}")
        g_step = epoch * sc.steps_per_epoch + step
        lr = lr_at(g_step, sc.total_steps, sc.steps_per_epoch, stage.optimizer.lr, stage.schedule)
        end = train_step(sc, behaviours, batches[step], lr, (epoch, step, len(batches)), at.sums)
        bar.update(1)
        for cb in ctx.callbacks:
            cb.on_step(end)
        if ctx.checkpoint_every and save is not None and (g_step + 1) % ctx.checkpoint_every == 0 \
                and step + 1 < len(batches):
            save(loop_state(sc, behaviours, Progress(epoch, step + 1, at.sums), sc.aug_rng))
    return D.all_reduce_sum(at.sums, ctx.dist, ctx.device)


def train_step(sc: StageContext, behaviours: dict[str, Behaviour], positions: torch.Tensor, lr: float,
               where: tuple[int, int, int], sums: list[float]) -> StepEnd:
    """One optimizer step on the chips at ``positions`` (``where``: epoch, step, steps; ``sums`` gets its figures)."""
    assert sc.aug_rng is not None
    epoch, step, steps = where
    batch = sc.kind.batch(sc, positions, sc.aug_rng)
    for group in sc.optimizer.param_groups:
        group["lr"] = lr
    with sc.ctx.autocast:
        for b in behaviours.values():
            batch = b.before_forward(sc, batch)
        out = sc.kind.forward(sc, batch)
    loss = float(out.loss.detach())
    if not math.isfinite(loss):
        raise NonFiniteLossError(f"stage {sc.stage.name!r}: the loss became {loss} at epoch {epoch + 1}, step {step + 1} "
                                 f"(lr {lr:.3g}); training stopped and the last good checkpoint was kept")
    sc.optimizer.zero_grad(set_to_none=True)
    out.loss.backward()
    sc.optimizer.step()
    end = StepEnd(sc.stage.name, epoch + 1, sc.stage.epochs, step + 1, steps, loss, lr, positions, sc.model, sc.optimizer)
    for b in behaviours.values():
        b.after_step(sc, end)
    n = out.targets.numel() if out.targets is not None else len(positions)
    sums[0] += loss * n
    if out.logits is not None and out.targets is not None:
        sums[1] += float((out.logits.detach().argmax(1) == out.targets).sum())
    sums[2] += n
    return end


def validate(sc: StageContext, epoch: int, sums: list[float]) -> EpochRecord:
    """The epoch's record: its training figures and, with validation chips, the scored model's scores."""
    lr = lr_at((epoch + 1) * sc.steps_per_epoch - 1, sc.total_steps, sc.steps_per_epoch, sc.stage.optimizer.lr,
               sc.stage.schedule)
    record = EpochRecord(sc.stage.name, sc.index, epoch + 1, lr, sums[0] / max(sums[2], 1), sums[1] / max(sums[2], 1),
                         int(sums[2]))
    if sc.val is not None and len(sc.val):
        vm = evaluate(sc.scored, sc.val, sc.ctx)
        record.val_top1, record.val_balanced, record.val_loss = vm["top1"], vm["balanced"], vm.get("loss")
    return record
