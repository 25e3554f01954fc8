"""The one training loop, shared by every stage and recipe (evaluation: :mod:`sartail.eval.predict`).

A stage is data (:class:`~sartail.config.StageConfig`): which classes it sees, its
sampler, which parameters train, its loss, optimizer, schedule, augmentation (mixup, CutMix),
epochs, a MaxNorm cap on the head's rows and an average of the weights (EMA).
:func:`fit_stage` turns that data into training; nothing here knows which recipe it serves.

Reproducibility: every epoch draws its chips and its augmentation from generators seeded by
``(seed, stage, epoch)``, and a checkpoint keeps the augmentation generator's state, so a
run resumed from any checkpoint (end of an epoch, or mid-epoch) repeats the same steps bit
for bit on the CPU (the weight average and the MaxNorm radius are in the checkpoint too).
"""
from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from tqdm.auto import tqdm

from .. import distributed as D
from ..config import ShotGroups, StageConfig
from ..data.augment import augment_batch, mix_batch, random_crop
from ..data.chipset import ChipSet
from ..errors import NonFiniteLossError, StopRequested
from ..eval.metrics import evaluate_logits
from ..eval.predict import predict_logits
from ..models import Classifier, channels_last_for
from .batchnorm import recalibrate_bn
from .callbacks import Callback
from .ema import WeightEMA
from .heads import clip_row_norms, max_norm_radius, set_train_mode, trainable_parameters
from .losses import Loss, mixed_loss
from .result import StageResult
from .samplers import EpochSampler, plan_batches
from .schedule import build_optimizer, lr_at
from .selection import is_better, overrule_best, selection_mode


@dataclass
class Context:
    """What the loop needs besides the stage: device, seeds, batch sizes, hooks."""

    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    seed: int = 0
    batch_size: int = 128
    eval_batch_size: int = 512
    amp: bool = True
    channels_last: bool | str = "auto"  #: see :func:`sartail.models.channels_last_for`
    checkpoint_every: int = 0
    shots: ShotGroups = field(default_factory=ShotGroups)
    dist: D.DistInfo = field(default_factory=D.DistInfo)
    callbacks: Sequence[Callback] = ()
    progress: bool = True
    log: Callable[[dict[str, Any]], None] = lambda record: None
    timing: Callable[[dict[str, Any]], None] = lambda record: None
    input_size: int | None = None  #: train on random crops of this size when the chips are larger (data.load_size)

    @property
    def autocast(self):
        if self.amp and self.device.type == "cuda":
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return nullcontext()

    def stop_requested(self) -> bool:
        local = any(cb.should_stop() for cb in self.callbacks)
        if self.dist.enabled:
            return bool(D.all_reduce_sum([float(local)], self.dist, self.device)[0])
        return local


def stream_seed(seed: int, stage: int, epoch: int, stream: int) -> int:
    """A distinct, reproducible seed per (run seed, stage, epoch, stream)."""
    return (int(seed) * 1_000_003 + stage * 10_007 + epoch * 101 + stream) % (2**62)


def evaluate(model: Classifier, chips: ChipSet, ctx: Context, train_counts: Sequence[int] | None = None) -> dict[str, Any]:
    """All metrics of ``model`` on ``chips`` (whose classes must match the head's)."""
    logits = predict_logits(model, chips, ctx)
    return evaluate_logits(logits, chips.labels, chips.class_names, train_counts=train_counts, groups=ctx.shots)


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
    save: Callable[[dict[str, Any]], None] | None = None,
) -> StageResult:
    """Train ``model`` for one stage on ``train`` (already restricted to the stage's classes).

    ``resume`` is the ``"loop"`` part of a checkpoint written through ``save``; ``save``
    receives that part at the end of every epoch, every ``ctx.checkpoint_every`` steps and
    when a stop is requested (then :class:`~sartail.errors.StopRequested` is raised).
    """
    device = ctx.device
    if list(model.head.class_ids.tolist()) != list(train.class_ids):
        raise ValueError(f"head classes {model.head.class_ids.tolist()} differ from the stage's {list(train.class_ids)}")
    if stage.head == "reinit" and resume is None:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(stream_seed(ctx.seed, index, 0, 3))
            model.head.reset_parameters()
    params = trainable_parameters(model, stage)
    model.to(device)
    channels_last = channels_last_for(model, device, ctx.channels_last)
    model.to(memory_format=torch.channels_last if channels_last else torch.contiguous_format)
    optimizer = build_optimizer(params, stage.optimizer)
    counts = train.class_counts()
    loss_fn = Loss(stage.loss, counts).to(device)
    sampler = EpochSampler(stage.sampler, train.labels, train.num_classes, stage.epochs)
    batch_size = stage.batch_size or ctx.batch_size
    steps_per_epoch = math.ceil(len(sampler) / (batch_size * ctx.dist.world_size))
    total_steps = steps_per_epoch * stage.epochs
    net: nn.Module = model
    if ctx.dist.enabled:
        net = nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    ema = WeightEMA(model, stage.ema) if stage.ema > 0 else None
    scored = ema.model if ema is not None else model  # what is validated, selected and kept
    radius = max_norm_radius(model.head, stage.max_norm.thresh, stage.max_norm.relative) \
        if stage.max_norm.thresh > 0 else None
    images = train.images.to(device)  # the shared pixel storage, moved once (a no-op on the CPU)
    rows = train.rows.to(device)
    labels = train.labels.to(device)

    history: list[dict[str, Any]] = []
    val_counts = val.class_counts().tolist() if val is not None and len(val) else []
    select, why = selection_mode(stage, val_counts or None)
    best_score, best_state, best_epoch = -1.0, None, None
    start_epoch, start_step = 0, 0
    partial = [0.0, 0.0, 0.0]  # loss sum, correct, seen in the current epoch
    aug_state = None
    if resume is not None:
        model.load_state_dict(resume["model"])
        optimizer.load_state_dict(resume["optimizer"])
        history = list(resume["history"])
        best_score, best_epoch = resume["best_score"], resume["best_epoch"]
        best_state = resume["best_state"]
        start_epoch, start_step = resume["epoch"], resume["step"]
        partial = list(resume["partial"])
        aug_state = resume["aug_rng"]
        torch.set_rng_state(resume["torch_rng"])
        if ema is not None:
            ema.load_state_dict(resume["ema"])
        radius = resume.get("max_norm_radius", radius)
    for cb in ctx.callbacks:
        cb.on_stage_start(stage, {"index": index, "steps_per_epoch": steps_per_epoch, "epochs": stage.epochs,
                                  "start_epoch": start_epoch, "chips": len(train), "classes": list(train.class_names)})

    def loop_state(epoch: int, step: int, aug_g: torch.Generator | None) -> dict[str, Any]:
        return {
            "model": copy.deepcopy(model.state_dict()),
            "optimizer": copy.deepcopy(optimizer.state_dict()),
            "history": list(history),
            "best_score": best_score,
            "best_epoch": best_epoch,
            "best_state": best_state,
            "epoch": epoch,
            "step": step,
            "partial": list(partial),
            "aug_rng": aug_g.get_state() if aug_g is not None else None,
            "torch_rng": torch.get_rng_state(),
            "ema": ema.state_dict() if ema is not None else None,
            "max_norm_radius": radius,
        }

    bar = tqdm(total=total_steps, initial=start_epoch * steps_per_epoch + start_step, desc=f"stage {stage.name}",
               unit="step", disable=not (ctx.progress and ctx.dist.is_main), leave=False, mininterval=0.5)
    try:
        for epoch in range(start_epoch, stage.epochs):
            t0 = time.perf_counter()
            sample_g = torch.Generator().manual_seed(stream_seed(ctx.seed, index, epoch, 0))
            aug_g = torch.Generator().manual_seed(stream_seed(ctx.seed, index, epoch, 1))
            if epoch == start_epoch and aug_state is not None:
                aug_g.set_state(aug_state)
            else:
                torch.manual_seed(stream_seed(ctx.seed, index, epoch, 2))
                partial = [0.0, 0.0, 0.0]
            loss_fn.set_epoch(epoch)
            epoch_positions = sampler.indices(epoch, sample_g)
            batches = plan_batches(epoch_positions, batch_size, ctx.dist.rank, ctx.dist.world_size)
            first = start_step if epoch == start_epoch else 0
            set_train_mode(model, stage)
            for step in range(first, len(batches)):
                if ctx.stop_requested():
                    if save is not None:
                        save(loop_state(epoch, step, aug_g))
                    raise StopRequested(f"stage {stage.name!r} stopped at epoch {epoch + 1}, step {step}")
                pos = batches[step].to(device)
                x = images.index_select(0, rows[pos]).float()
                if ctx.input_size is not None and x.shape[-1] > ctx.input_size:
                    x = random_crop(x, ctx.input_size, aug_g)
                y = labels[pos]
                x = augment_batch(x, stage.augment, aug_g)
                if channels_last:
                    x = x.contiguous(memory_format=torch.channels_last)
                g_step = epoch * steps_per_epoch + step
                lr = lr_at(g_step, total_steps, steps_per_epoch, stage.optimizer.lr, stage.schedule)
                for group in optimizer.param_groups:
                    group["lr"] = lr
                with ctx.autocast:
                    mixed = mix_batch(x, stage.augment, aug_g, y)
                    if mixed is not None:
                        x, perm, lam = mixed
                        logits = net(x)
                        loss = mixed_loss(loss_fn, logits, y, perm, lam)
                    else:
                        logits = net(x)
                        loss = loss_fn(logits, y)
                loss_value = float(loss.detach())
                if not math.isfinite(loss_value):
                    raise NonFiniteLossError(
                        f"stage {stage.name!r}: the loss became {loss_value} at epoch {epoch + 1}, step {step + 1} "
                        f"(lr {lr:.3g}); training stopped and the last good checkpoint was kept"
                    )
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                if radius is not None:
                    clip_row_norms(model.head, radius)
                if ema is not None:
                    ema.update(model)
                partial[0] += loss_value * y.numel()
                partial[1] += float((logits.detach().argmax(1) == y).sum())
                partial[2] += y.numel()
                bar.update(1)
                info = {"stage": stage.name, "epoch": epoch + 1, "epochs": stage.epochs, "step": step + 1,
                        "steps": len(batches), "loss": loss_value, "lr": lr, "positions": batches[step]}
                for cb in ctx.callbacks:
                    cb.on_step(info)
                if ctx.checkpoint_every and save is not None and (g_step + 1) % ctx.checkpoint_every == 0 \
                        and step + 1 < len(batches):
                    save(loop_state(epoch, step + 1, aug_g))
            # ---- end of epoch
            sums = D.all_reduce_sum(partial, ctx.dist, device)
            record: dict[str, Any] = {
                "stage": stage.name,
                "stage_index": index,
                "epoch": epoch + 1,
                "lr": lr_at((epoch + 1) * steps_per_epoch - 1, total_steps, steps_per_epoch, stage.optimizer.lr,
                            stage.schedule),
                "train_loss": sums[0] / max(sums[2], 1),
                "train_acc": sums[1] / max(sums[2], 1),
                "train_seen": int(sums[2]),
            }
            if val is not None and len(val):
                vm = evaluate(scored, val, ctx)
                record.update(val_top1=vm["top1"], val_balanced=vm["balanced"], val_loss=vm.get("loss"))
                score = vm["balanced"]
                if select == "best" and is_better(score, best_score):
                    best_score, best_epoch = score, epoch + 1
                    best_state = copy.deepcopy(scored.state_dict())
            history.append(record)
            partial = [0.0, 0.0, 0.0]
            if ctx.dist.is_main:
                ctx.log(record)
                ctx.timing({"stage": stage.name, "epoch": epoch + 1, "seconds": time.perf_counter() - t0,
                            "chips_per_s": sums[2] / max(time.perf_counter() - t0, 1e-9)})
            if save is not None:
                save(loop_state(epoch + 1, 0, None))
            for cb in ctx.callbacks:
                cb.on_epoch_end(record)
    finally:
        bar.close()
    if ema is not None:
        model.load_state_dict(ema.model.state_dict())
    if select == "best" and best_state is not None:
        scored_epochs = {r["epoch"]: r["val_top1"] for r in history if "val_top1" in r}
        last_top1 = scored_epochs.get(stage.epochs)
        overruled = overrule_best(stage, best_epoch, scored_epochs.get(best_epoch, 0.0), last_top1, sum(val_counts))
        if overruled:
            select, why, best_epoch = "last", overruled, None
    if select == "best" and best_state is not None:
        model.load_state_dict(best_state)
        why = f"epoch {best_epoch} of {stage.epochs}: {why}"
    elif stage.epochs:
        why = f"epoch {stage.epochs} of {stage.epochs}: {why}"
    if stage.bn_recalibrate:
        layers = recalibrate_bn(model, train, batch_size, size=ctx.input_size, device=device,
                                channels_last=channels_last)
        rec = {"stage": stage.name, "stage_index": index, "epoch": stage.epochs, "bn_recalibrated": len(train),
               "bn_layers": layers}
        history.append(rec)
        if ctx.dist.is_main:
            ctx.log(rec)
    tau = None
    if stage.tau_grid:
        tau = select_tau(model, val, stage.tau_grid, ctx)
        rec = {"stage": stage.name, "stage_index": index, "epoch": stage.epochs, "tau": tau}
        history.append(rec)
        if ctx.dist.is_main:
            ctx.log(rec)
    val_metrics = evaluate(model, val, ctx) if val is not None and len(val) else {}
    result = StageResult(stage.name, history, val_metrics, tau, best_epoch, why)
    for cb in ctx.callbacks:
        cb.on_stage_end(stage, result)
    return result


def select_tau(model: Classifier, val: ChipSet | None, grid: Sequence[float], ctx: Context) -> float:
    """Pick the head's tau-normalisation from ``grid`` by validation balanced accuracy."""
    if val is None or not len(val):
        raise ValueError("choosing tau needs a validation set")
    best_tau, best = float(grid[0]), -1.0
    for tau in grid:
        model.head.tau.fill_(float(tau))
        score = evaluate(model, val, ctx)["balanced"]
        if score > best + 1e-12:
            best, best_tau = score, float(tau)
    model.head.tau.fill_(best_tau)
    return best_tau
