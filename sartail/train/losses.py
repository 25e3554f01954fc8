"""Losses for long-tailed training.

Every loss is built from a :class:`LossConfig` and the class counts of the stage's training
data (in the stage's class order), and is called as ``loss(logits, targets)`` with integer
targets. ``set_epoch`` lets a loss change over training (LDAM's deferred re-weighting).

- ``ce``: cross-entropy, optional label smoothing.
- ``focal``: focal loss (Lin et al.), ``gamma``.
- ``class_balanced``: cross-entropy (or focal with ``gamma > 0``) weighted by the inverse
  effective number of samples, ``(1 - beta) / (1 - beta**n_c)`` (Cui et al.).
- ``ldam``: label-distribution-aware margins ``m_c ~ n_c**-1/4`` scaled to ``max_m``,
  subtracted from the target logit as ``s * m_y`` (Cao et al.; use a cosine head whose
  temperature is ``s``, as their normed linear layer); ``drw_epoch`` turns on class-balanced
  re-weighting from that epoch (DRW).
- ``logit_adjust``: logits plus ``tau * log(prior)`` during training (Menon et al.);
  ``balanced_softmax`` is the same with ``tau = 1`` (Ren et al.).
- ``label_aware_smoothing``: MiSLAS's smoothing, ``eps_head`` for the largest class down
  to ``eps_tail`` for the smallest, linear in the class count.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..config import LossConfig
from ..errors import ConfigError


def effective_number_weights(counts: Sequence[int] | torch.Tensor, beta: float) -> torch.Tensor:
    """Cui et al.'s class weights ``(1 - beta) / (1 - beta**n)``, normalised to sum to C."""
    n = torch.as_tensor(counts, dtype=torch.float64).clamp_min(1)
    w = (1 - beta) / (1 - torch.pow(beta, n))
    return (w / w.sum() * n.numel()).float()


def focal_terms(logits: torch.Tensor, targets: torch.Tensor, gamma: float) -> torch.Tensor:
    """Each chip's focal term ``-(1 - p_t)**gamma * log p_t`` ``[B]``."""
    logp = F.log_softmax(logits.float(), dim=1).gather(1, targets[:, None]).squeeze(1)
    return -((1 - logp.exp()) ** gamma) * logp


def focal_loss(logits: torch.Tensor, targets: torch.Tensor, gamma: float, weight: torch.Tensor | None = None) -> torch.Tensor:
    """Mean focal loss ``-(1 - p_t)**gamma * log p_t`` (weighted by ``weight[target]``)."""
    loss = focal_terms(logits, targets, gamma)
    if weight is not None:
        w = weight[targets]
        return (loss * w).sum() / w.sum()
    return loss.mean()


class Loss(nn.Module):
    """A configured loss: ``loss(logits, targets)``; ``set_epoch(e)`` before each epoch."""

    counts: torch.Tensor  # buffers (typed for mypy: nn.Module.__getattr__ is Tensor | Module)
    cb_weight: torch.Tensor
    log_prior: torch.Tensor
    margins: torch.Tensor
    eps: torch.Tensor

    def __init__(self, cfg: LossConfig, class_counts: Sequence[int] | torch.Tensor) -> None:
        super().__init__()
        self.cfg = cfg
        counts = torch.as_tensor(class_counts, dtype=torch.float64)
        if (counts <= 0).any() and cfg.name in ("class_balanced", "ldam", "logit_adjust", "balanced_softmax"):
            empty = torch.nonzero(counts <= 0).reshape(-1).tolist()
            raise ConfigError(f"loss {cfg.name!r} needs chips of every class; class(es) {empty} have none")
        self.register_buffer("counts", counts.float())
        self.register_buffer("cb_weight", effective_number_weights(counts, cfg.beta))
        prior = counts.clamp_min(1) / counts.clamp_min(1).sum()
        self.register_buffer("log_prior", prior.log().float())
        margins = 1.0 / counts.clamp_min(1).pow(0.25)
        self.register_buffer("margins", (margins * (cfg.max_m / margins.max())).float())
        if counts.numel() > 1 and counts.max() > counts.min():
            frac = (counts - counts.min()) / (counts.max() - counts.min())
        else:
            frac = torch.ones_like(counts)
        self.register_buffer("eps", (cfg.eps_tail + (cfg.eps_head - cfg.eps_tail) * frac).float())
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    @property
    def weight(self) -> torch.Tensor | None:
        """The per-class weight in force this epoch (or ``None``)."""
        name = self.cfg.name
        if name == "class_balanced":
            return self.cb_weight
        if name == "ldam" and self.cfg.drw_epoch is not None and self.epoch >= self.cfg.drw_epoch:
            return self.cb_weight
        return None

    def forward(self, logits: torch.Tensor, targets: torch.Tensor,
                sample_weight: torch.Tensor | None = None) -> torch.Tensor:
        """The mean loss; with ``sample_weight`` ``[B]``, each chip's term is multiplied by it
        (a class-weighted loss keeps its normaliser, the sum of the class weights).

        Without weights the loss keeps its fused mean reduction (``_mean``), so that every run
        before per-chip weights existed keeps its digits; ``_per_chip`` serves the weighted case.
        """
        if sample_weight is None:
            return self._mean(logits, targets)
        per_chip, class_weight = self._per_chip(logits, targets)
        if class_weight is None:
            return (per_chip * sample_weight).mean()
        return (per_chip * sample_weight).sum() / class_weight.sum()

    def _mean(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        cfg = self.cfg
        logits = logits.float()
        name = cfg.name
        if name == "ce":
            return F.cross_entropy(logits, targets, label_smoothing=cfg.label_smoothing)
        if name == "focal":
            return focal_loss(logits, targets, cfg.gamma)
        if name == "class_balanced":
            if cfg.gamma > 0:
                return focal_loss(logits, targets, cfg.gamma, self.cb_weight)
            return F.cross_entropy(logits, targets, weight=self.cb_weight)
        if name == "ldam":
            return F.cross_entropy(self._ldam_logits(logits, targets), targets, weight=self.weight)
        if name in ("logit_adjust", "balanced_softmax"):
            return F.cross_entropy(self._adjusted(logits), targets)
        return self._smoothed(logits, targets).mean()

    def _per_chip(self, logits: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Each chip's loss term ``[B]`` (already times its class weight) and the class weights
        ``w[targets]`` that a weighted loss divides by (``None``: the loss is a plain mean)."""
        cfg = self.cfg
        logits = logits.float()
        name = cfg.name
        if name == "ce":
            return F.cross_entropy(logits, targets, label_smoothing=cfg.label_smoothing, reduction="none"), None
        if name in ("focal", "class_balanced") and (name == "focal" or cfg.gamma > 0):
            term = focal_terms(logits, targets, cfg.gamma)
            if name == "focal":
                return term, None
            w = self.cb_weight[targets]
            return term * w, w
        if name == "class_balanced":
            return F.cross_entropy(logits, targets, weight=self.cb_weight, reduction="none"), self.cb_weight[targets]
        if name == "ldam":
            weight = self.weight
            term = F.cross_entropy(self._ldam_logits(logits, targets), targets, weight=weight, reduction="none")
            return term, None if weight is None else weight[targets]
        if name in ("logit_adjust", "balanced_softmax"):
            return F.cross_entropy(self._adjusted(logits), targets, reduction="none"), None
        return self._smoothed(logits, targets), None

    def _ldam_logits(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        margin = torch.zeros_like(logits).scatter_(1, targets[:, None], self.margins[targets][:, None])
        return logits - self.cfg.s * margin

    def _adjusted(self, logits: torch.Tensor) -> torch.Tensor:
        tau = 1.0 if self.cfg.name == "balanced_softmax" else self.cfg.tau
        return logits + tau * self.log_prior

    def _smoothed(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Label-aware smoothing, per chip."""
        eps = self.eps[targets][:, None]
        k = logits.shape[1]
        soft = torch.full_like(logits, 0.0) + eps / (k - 1)
        soft.scatter_(1, targets[:, None], 1 - eps)
        return -(soft * F.log_softmax(logits, dim=1)).sum(1)


def mixed_loss(loss_fn: Loss, logits: torch.Tensor, targets: torch.Tensor, perm: torch.Tensor,
               lam: float | torch.Tensor) -> torch.Tensor:
    """The loss of a mixed batch: ``lam * loss(y) + (1 - lam) * loss(y[perm])``, per chip when
    ``lam`` is a tensor ``[B]`` (CutMix with energy-weighted labels)."""
    if isinstance(lam, torch.Tensor):
        return loss_fn(logits, targets, lam) + loss_fn(logits, targets[perm], 1 - lam)
    return lam * loss_fn(logits, targets) + (1 - lam) * loss_fn(logits, targets[perm])
