"""The self-supervised stage: two views of each chip, a projector (and predictor) on the body, labels never read.

The heads (:mod:`sartail.ssl_heads`) train beside the body and are dropped when the stage ends,
so the next stage sees only the body and the model's head (untouched here). The loss is
:func:`sartail.train.ssl_losses.pretrain_step` (SimSiam by default).
"""
from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ...data.views import parse_view, two_views
from ...ssl_heads import SSLHeads, build_ssl_heads
from ..ssl_losses import pretrain_step
from ..stage import Batch, StageContext, StageKind, StepOutput


class Pretrain(StageKind):
    """Two augmented views per chip -> body -> projector/predictor -> a self-supervised loss."""

    name = "pretrain"
    uses_labels = False

    def __init__(self) -> None:
        self.heads: SSLHeads | None = None

    def setup(self, context: StageContext) -> list[nn.Parameter]:
        ssl = context.stage.ssl
        if context.ctx.dist.enabled:
            raise ValueError(f"stage {context.stage.name!r}: a pretrain stage runs in one process (no distributed training)")
        self.view = parse_view(ssl.view)
        train, device = context.train, context.device
        self.images = train.images.to(device)
        self.rows = train.rows.to(device)
        with torch.random.fork_rng(devices=[]):  # the heads' initial weights leave the global stream alone
            torch.manual_seed(context.ctx.seed + 7919 * (context.index + 1))
            self.heads = build_ssl_heads(ssl.method, context.model.head.weight.shape[1], ssl.dim).to(device)
        self.heads.train()
        context.criterion = None
        return list(self.heads.parameters())

    def batch(self, context: StageContext, positions: torch.Tensor, rng: torch.Generator) -> Batch:
        pos = positions.to(context.device)
        x = self.images.index_select(0, self.rows[pos]).float()
        a, b = two_views(x, self.view, rng, size=context.ctx.input_size)
        if context.channels_last:
            a, b = (v.contiguous(memory_format=torch.channels_last) for v in (a, b))
        return Batch(a, None, positions, loss=_no_labelled_loss, extra={"view_b": b})

    def forward(self, context: StageContext, batch: Batch) -> StepOutput:
        assert self.heads is not None
        return StepOutput(pretrain_step(context.model, self.heads, batch.x, batch.extra["view_b"]))

    def on_stage_end(self, context: StageContext) -> None:
        self.heads = None  # the projector and predictor do not outlive the stage

    def state_dict(self) -> dict[str, Any]:
        if self.heads is None:
            return {}
        return {"heads": {k: v.detach().clone() for k, v in self.heads.state_dict().items()}}  # a copy: training goes on

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state and self.heads is not None:
            self.heads.load_state_dict(state["heads"])


def _no_labelled_loss(logits: torch.Tensor) -> torch.Tensor:
    raise RuntimeError("a pretrain stage has no labelled loss (a behaviour that mixes labels is not for it)")
