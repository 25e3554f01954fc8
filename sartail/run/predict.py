"""Predictions of a finished run on (unlabelled) chips, as the MAVOC challenge server took them."""
from __future__ import annotations

import os
import re
from pathlib import Path

from ..data import data_kind, load
from ..errors import ConfigError
from ..eval.predict import predict_logits
from .run import Run

_MAVOC_ID = re.compile(r"(?:SAR|EO)_(\d+)\.png$", re.IGNORECASE)


def image_id(chip_id: str) -> str:
    """MAVOC's ``image_id`` of a chip (``"SAR_1234.png"`` -> ``"1234"``); other ids unchanged."""
    m = _MAVOC_ID.search(chip_id)
    return m.group(1) if m else chip_id


def predict_csv(run_dir: str | os.PathLike, spec: str, out: str | os.PathLike, *, progress: bool = True) -> tuple[Path, int]:
    """Write ``image_id,class_id`` for every chip of ``spec`` with the run's final model.

    ``class_id`` is the original class id (0..9 for MAVOC), whatever classes the last stage
    saw. Rows follow the chips' sorted ids. Returns the CSV path and the number of rows.
    """
    kind, _ = data_kind(spec)
    if not kind.on_disk:
        raise ConfigError(f"predict takes chips from disk (e.g. mavoc_test:PATH), not generated {kind.name} data")
    run = Run.resume(run_dir, progress=progress)
    model = run.final_model()
    chips = load(spec, size=run.cfg.data.size, progress=progress)
    logits = predict_logits(model, chips, run.context())
    class_ids = model.head.class_ids.tolist()
    preds = [class_ids[p] for p in logits.argmax(1).tolist()]
    rows = sorted(((image_id(cid), p) for cid, p in zip(chips.chip_ids, preds)),
                  key=lambda r: (int(r[0]) if r[0].isdigit() else float("inf"), r[0]))
    return run.dir.write_csv(Path(out).resolve(), ["image_id", "class_id"], rows), len(rows)
