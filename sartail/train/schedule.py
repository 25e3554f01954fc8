"""The optimizer of a stage and its learning rate at every step (step-pure: resumable anywhere)."""
from __future__ import annotations

import math

import torch
from torch import nn

from ..config import OptimizerConfig, ScheduleConfig


def build_optimizer(params: list[nn.Parameter], cfg: OptimizerConfig) -> torch.optim.Optimizer:
    if cfg.name == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay,
                               nesterov=cfg.nesterov and cfg.momentum > 0)
    return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)


def lr_at(step: int, total_steps: int, steps_per_epoch: int, base_lr: float, cfg: ScheduleConfig) -> float:
    """Learning rate at global ``step`` of a stage: linear warm-up, then the schedule."""
    warm = int(round(cfg.warmup_epochs * steps_per_epoch))
    if step < warm:
        return base_lr * (step + 1) / warm
    if cfg.name == "constant":
        return base_lr
    if cfg.name == "step":
        epoch = step / max(steps_per_epoch, 1)
        return base_lr * cfg.gamma ** sum(epoch >= m for m in cfg.milestones)
    span = max(total_steps - warm, 1)
    t = min(max(step - warm, 0) / span, 1.0)
    return cfg.min_lr + (base_lr - cfg.min_lr) * 0.5 * (1 + math.cos(math.pi * t))
