"""A teacher's logits computed once per chip and kept, for distillation.

The teacher (a finished model, or a seed ensemble of them) runs once over the training chips,
in eval mode and without gradients; its logits are stored by chip id, and every training step
looks its batch up instead of running the teacher again. The teacher's parameters are never
handed to an optimizer and are frozen while the cache is built.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ..data.chipset import ChipSet
from ..errors import ConfigError, DataError


class TeacherLogits:
    """Teacher logits ``float32 [C]`` per chip id (see :meth:`compute`)."""

    def __init__(self, logits: torch.Tensor, ids: Sequence[str]) -> None:
        if logits.shape[0] != len(ids):
            raise DataError(f"{logits.shape[0]} teacher logit rows for {len(ids)} chip ids")
        self.logits = logits.float()
        self.index = {str(i): n for n, i in enumerate(ids)}

    def __len__(self) -> int:
        return len(self.index)

    @property
    def num_classes(self) -> int:
        return int(self.logits.shape[1])

    @classmethod
    @torch.no_grad()
    def compute(cls, teacher: nn.Module, chips: ChipSet, *, batch_size: int = 256,
                device: torch.device | str = "cpu") -> TeacherLogits:
        """Run ``teacher`` once over ``chips`` (raw chip values, eval mode, no gradients) and keep its logits.

        The teacher's parameters are frozen (``requires_grad`` off) and its train / eval modes restored.
        """
        modes = {m: m.training for m in teacher.modules()}
        for p in teacher.parameters():
            p.requires_grad_(False)
        teacher.eval()
        outs = []
        try:
            for start in range(0, len(chips), batch_size):
                x = chips.pixels(torch.arange(start, min(start + batch_size, len(chips)))).to(device).float()
                outs.append(teacher(x).float().cpu())
        finally:
            for m, mode in modes.items():
                m.training = mode
        if not outs:
            raise DataError("no chips to compute teacher logits for")
        logits = torch.cat(outs)
        if logits.shape[1] != chips.num_classes:
            raise ConfigError(f"the teacher predicts {logits.shape[1]} classes but the chips have {chips.num_classes}")
        return cls(logits, chips.chip_ids)

    def lookup(self, ids: Sequence[str]) -> torch.Tensor:
        """The cached logits of the chips ``ids`` ``[B, C]``; an id never computed is an error."""
        try:
            rows = [self.index[str(i)] for i in ids]
        except KeyError as e:
            raise DataError(f"no teacher logits for chip {e.args[0]!r}: the cache holds the training chips only") from None
        return self.logits[torch.tensor(rows, dtype=torch.int64)]


def check_teacher(teacher_classes: Sequence[str], teacher_size: int, student_classes: Sequence[str],
                  student_size: int, teacher_name: str = "the teacher") -> None:
    """A one-line :class:`ConfigError` unless teacher and student share classes (in order) and chip size."""
    if list(teacher_classes) != list(student_classes):
        raise ConfigError(f"{teacher_name} predicts classes {list(teacher_classes)} but the student's are "
                          f"{list(student_classes)}; distillation needs the same classes in the same order")
    if int(teacher_size) != int(student_size):
        raise ConfigError(f"{teacher_name} reads {teacher_size} px chips but the student reads {student_size} px")
