"""Balanced knowledge distillation (Zhang et al. 2021, arXiv 2104.10510).

The student minimises an instance-balanced cross-entropy on the labels plus a class-balanced
distillation term on the teacher's softened predictions::

    L = CE(z_s, y) + alpha * T**2 * mean_batch KL(q || softmax(z_s / T))
    q_i ∝ w_i * softmax(z_t / T)_i

with ``w`` the effective-number class weights of Cui et al. (``beta`` 0.9999, normalised to
sum to the number of classes). Re-weighting the teacher's distribution and renormalising it is
how the authors' public code (``BKDLoss``) applies ``w``; their settings: ``T = 2``,
``alpha = 1``, weights from the start on CIFAR-100-LT and deferred to the last 20 % of the
epochs on CIFAR-10-LT. The cross-entropy keeps every chip's weight equal (instance-balanced),
so the representation learns from every chip while the distillation term lifts the tail.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from .losses import effective_number_weights

#: The authors' settings (CIFAR-LT).
BKD_TEMPERATURE = 2.0
BKD_ALPHA = 1.0
BKD_BETA = 0.9999


def bkd_weights(class_counts: Sequence[int] | torch.Tensor, beta: float = BKD_BETA) -> torch.Tensor:
    """The class weights of the distillation term: Cui et al.'s effective-number weights (sum C)."""
    return effective_number_weights(class_counts, beta)


def balanced_teacher(teacher_logits: torch.Tensor, weights: torch.Tensor | None, temperature: float) -> torch.Tensor:
    """The teacher's softened distribution re-weighted by class and renormalised, ``[B, C]``."""
    q = F.softmax(teacher_logits.float() / temperature, dim=1)
    if weights is not None:
        q = q * weights.to(q.device, q.dtype)
        q = q / q.sum(1, keepdim=True)
    return q


def bkd_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor, targets: torch.Tensor,
             weights: torch.Tensor | None, *, temperature: float = BKD_TEMPERATURE,
             alpha: float = BKD_ALPHA) -> torch.Tensor:
    """The BKD loss of a batch (see the module docstring); ``weights=None`` is plain distillation.

    The teacher's logits carry no gradient.
    """
    q = balanced_teacher(teacher_logits.detach(), weights, temperature)
    log_p = F.log_softmax(student_logits.float() / temperature, dim=1)
    kd = F.kl_div(log_p, q, reduction="batchmean") * temperature**2
    return F.cross_entropy(student_logits.float(), targets) + alpha * kd
