"""Self-supervised losses and the per-batch pre-training step (labels unused).

:func:`pretrain_step` takes a model (a :class:`~sartail.models.Classifier`, whose ``features``
normalise raw chips, or a bare body), the :class:`~sartail.ssl_heads.SSLHeads` of a method and
two views of a batch, and returns the loss to back-propagate. The model's own head is never
used, so the labels of the chips cannot reach the weights.

The losses are written here rather than taken from ``lightly``: its heads and losses fit, but
the package pulls in PyTorch Lightning, Hydra, OmegaConf, aiohttp and torchmetrics (13
packages) for about 30 lines of code.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..ssl_heads import SSLHeads


def negative_cosine(p: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """SimSiam's ``-cos(p, stopgrad(z))``, averaged over the batch."""
    return -F.cosine_similarity(p, z.detach(), dim=1).mean()


def simsiam_loss(p1: torch.Tensor, p2: torch.Tensor, z1: torch.Tensor, z2: torch.Tensor) -> torch.Tensor:
    """The symmetric SimSiam loss: ``(D(p1, z2) + D(p2, z1)) / 2`` with stop-gradient on ``z`` (minimum -1)."""
    return 0.5 * (negative_cosine(p1, z2) + negative_cosine(p2, z1))


def nt_xent(z1: torch.Tensor, z2: torch.Tensor, temperature: float = 0.2) -> torch.Tensor:
    """SimCLR's normalised-temperature cross entropy: each view must pick its partner among the other ``2B - 1``."""
    b = z1.shape[0]
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    sim = z @ z.T / temperature
    sim.fill_diagonal_(float("-inf"))
    target = torch.cat([torch.arange(b, 2 * b), torch.arange(0, b)]).to(z.device)
    return F.cross_entropy(sim, target)


def rotation_targets(b: int, offset: int = 0) -> torch.Tensor:
    """Quarter turns ``(i + offset) % 4`` for chips ``i`` of a batch of ``b``: every rotation equally often."""
    return (torch.arange(b) + offset) % 4


def rotate_quarters(x: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """Each chip of ``x`` ``[B, C, H, W]`` (square) turned by ``k[i]`` quarter turns."""
    out = x.clone()
    for r in (1, 2, 3):
        sel = (k == r).to(x.device)
        if sel.any():
            out[sel] = torch.rot90(x[sel], r, dims=(-2, -1))
    return out


def _features(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    features = getattr(model, "features", None)
    return features(x) if callable(features) else model(x)


def pretrain_step(model: nn.Module, heads: SSLHeads, view_a: torch.Tensor, view_b: torch.Tensor, *,
                  temperature: float = 0.2) -> torch.Tensor:
    """The self-supervised loss of one batch given as two views ``[B, 1, H, W]`` of raw chips.

    Both views go through the body in one batch (BatchNorm statistics over both).
    ``rotation`` turns view ``a`` by ``i % 4`` and view ``b`` by ``(i + 2) % 4`` quarter turns
    and classifies the turn.
    """
    b = view_a.shape[0]
    if heads.method == "rotation":
        ka, kb = rotation_targets(b), rotation_targets(b, 2)
        x = torch.cat([rotate_quarters(view_a, ka), rotate_quarters(view_b, kb)])
        logits = heads.projector(_features(model, x))
        return F.cross_entropy(logits, torch.cat([ka, kb]).to(logits.device))
    z = heads.projector(_features(model, torch.cat([view_a, view_b])))
    z1, z2 = z[:b], z[b:]
    if heads.method == "simclr":
        return nt_xent(z1, z2, temperature)
    p = heads.predictor(z)
    return simsiam_loss(p[:b], p[b:], z1, z2)
