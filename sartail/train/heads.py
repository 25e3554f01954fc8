"""What a stage trains: the head's classes (rows handed over between stages), trainable parts, BN mode."""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ..config import StageConfig
from ..models import Classifier, Head


def set_head_classes(model: Classifier, class_ids: Sequence[int]) -> None:
    """Give ``model`` a head for ``class_ids`` (original ids, in order), handing rows over.

    Each class's row comes from the current head if it has that class, else from the head's
    ``bank`` (the last row that class had), else a fresh initialisation. The new head's bank
    holds the old bank and the old head's rows, so no class's row is ever lost between stages.
    """
    head = model.head
    class_ids = [int(c) for c in class_ids]
    if head.class_ids.tolist() == class_ids:
        return
    bank = {**head.bank, **head.rows()}
    new = Head(head.weight.shape[1], class_ids, head.kind, head.temperature).to(head.weight.device)
    with torch.no_grad():
        new.tau.copy_(head.tau)
        for i, cid in enumerate(class_ids):
            if cid in bank:
                for name in Head.ROWS:
                    getattr(new, name)[i] = bank[cid][name].to(new.weight.device)
    new.bias.requires_grad_(head.bias.requires_grad)
    new.bank = bank
    model.head = new


def restore_head(model: Classifier, class_ids: Sequence[int], bank: dict[int, dict[str, torch.Tensor]]) -> None:
    """Shape ``model``'s head as a checkpoint's (its classes and its bank), before loading its weights."""
    set_head_classes(model, class_ids)
    model.head.bank = dict(bank)


def trainable_parameters(model: Classifier, stage: StageConfig) -> list[nn.Parameter]:
    """Set ``requires_grad`` for the stage (``all``, ``head`` or ``scales``) and return those parameters."""
    head = model.head
    for p in model.parameters():
        p.requires_grad_(False)
    if stage.train == "scales":
        params = [head.scale]
    else:
        params = [head.weight] + ([head.bias] if head.kind == "linear" else [])
        if stage.train == "all":
            params = list(model.body.parameters()) + params
    for p in params:
        p.requires_grad_(True)
    return params


def set_train_mode(model: Classifier, stage: StageConfig) -> None:
    """Training mode, except a frozen body's BatchNorm keeps its statistics unless ``bn: update``."""
    model.train()
    if stage.train != "all" and stage.bn == "frozen":
        model.body.eval()
