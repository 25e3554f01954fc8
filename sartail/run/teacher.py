"""The teacher of a distillation stage: finished runs (a seed ensemble) and their cached logits."""
from __future__ import annotations

from ..data.chipset import ChipSet
from ..train.teacher_cache import TeacherLogits, check_teacher
from .inference import RunDirs, final_classes, load_ensemble


def teacher_logits(run_dirs: RunDirs, chips: ChipSet, *, progress: bool = True) -> TeacherLogits:
    """The averaged final models of ``run_dirs`` run once over ``chips``; their logits by chip id.

    The runs must predict the chips' classes in the chips' order, from chips of the same size
    (a one-line :class:`~sartail.errors.ConfigError` names the difference).
    """
    model, runs = load_ensemble(run_dirs, progress=progress)
    first = runs[0]
    names = [name for _, name in final_classes(first, first.final_model())]
    check_teacher(names, first.cfg.data.size, chips.class_names, chips.chip_size[0], f"teacher run {first.dir.path}")
    return TeacherLogits.compute(model, chips, device=next(model.parameters()).device)
