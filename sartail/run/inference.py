"""Predictions of finished runs on (unlabelled) chips, as the MAVOC challenge server took them.

Several runs (a seed ensemble) and test-time augmentation average the softmax
(:mod:`sartail.eval.ensemble`); the runs must predict the same classes from chips of one size.
"""
from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

from ..data import data_kind, load
from ..errors import ConfigError
from ..eval.ensemble import Ensemble, ensemble, parse_tta
from ..eval.predict import predict_logits
from ..models import Classifier
from .run import Run

_MAVOC_ID = re.compile(r"(?:SAR|EO)_(\d+)\.png$", re.IGNORECASE)

RunDirs = str | os.PathLike | Sequence[str | os.PathLike]


def image_id(chip_id: str) -> str:
    """MAVOC's ``image_id`` of a chip (``"SAR_1234.png"`` -> ``"1234"``); other ids unchanged."""
    m = _MAVOC_ID.search(chip_id)
    return m.group(1) if m else chip_id


def final_classes(run: Run, model: Classifier) -> list[tuple[int, str]]:
    """``(class id, name)`` of each class a run's final model predicts, in the order of its head's rows."""
    names = run.data.train.class_names
    return [(c, names[c]) for c in model.head.class_ids.tolist()]


def load_ensemble(run_dirs: RunDirs, tta: str | Sequence[str] | None = (), *,
                  progress: bool = True) -> tuple[Classifier | Ensemble, list[Run]]:
    """The final models of ``run_dirs`` as one model (averaged softmax over runs and TTA views), and the runs.

    Raises :class:`~sartail.errors.ConfigError` naming the runs when they predict other classes,
    or in another order, or read chips of another size.
    """
    tta = parse_tta(tta)  # a bad view name is refused before any run is loaded
    dirs = [run_dirs] if isinstance(run_dirs, (str, os.PathLike)) else list(run_dirs)
    if not dirs:
        raise ConfigError("name at least one run directory")
    runs = [Run.resume(d, progress=progress) for d in dirs]
    models = [run.final_model() for run in runs]
    first, classes = runs[0], final_classes(runs[0], models[0])
    for run, model in zip(runs[1:], models[1:]):
        other = final_classes(run, model)
        if other != classes:
            raise ConfigError(f"runs {first.dir.path} and {run.dir.path} predict different classes ({classes} vs "
                              f"{other}); an ensemble averages the same classes in the same order")
        if run.cfg.data.size != first.cfg.data.size:
            raise ConfigError(f"runs {first.dir.path} and {run.dir.path} read chips of different sizes "
                              f"({first.cfg.data.size} vs {run.cfg.data.size} px)")
    return ensemble(models, tta), runs


def predict_csv(run_dirs: RunDirs, spec: str, out: str | os.PathLike, *, tta: str | Sequence[str] | None = (),
                progress: bool = True) -> tuple[Path, int]:
    """Write ``image_id,class_id`` for every chip of ``spec`` with the runs' final models.

    ``class_id`` is the original class id (0..9 for MAVOC), whatever classes the last stage
    saw. Rows follow the chips' sorted ids. Returns the CSV path and the number of rows.
    """
    kind, _ = data_kind(spec)
    if not kind.on_disk:
        raise ConfigError(f"predict takes chips from disk (e.g. mavoc_test:PATH), not generated {kind.name} data")
    model, runs = load_ensemble(run_dirs, tta, progress=progress)
    run = runs[0]
    chips = load(spec, size=run.cfg.data.size, progress=progress)
    logits = predict_logits(model, chips, run.context())
    class_ids = model.head.class_ids.tolist()
    preds = [class_ids[p] for p in logits.argmax(1).tolist()]
    rows = sorted(((image_id(cid), p) for cid, p in zip(chips.chip_ids, preds)),
                  key=lambda r: (int(r[0]) if r[0].isdigit() else float("inf"), r[0]))
    return run.dir.write_csv(Path(out).resolve(), ["image_id", "class_id"], rows), len(rows)
