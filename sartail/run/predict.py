"""Predictions of a finished run on (unlabelled) chips, as the MAVOC challenge server took them."""
from __future__ import annotations

import os
import re
from pathlib import Path

from .data import load, parse_spec
from .errors import ConfigError

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
    from .pipeline import Run
    from .stages import predict_logits

    kind, _ = parse_spec(spec)
    if kind == "synthetic":
        raise ConfigError("predict takes chips from disk (e.g. mavoc_test:PATH), not synthetic data")
    run = Run.resume(run_dir, progress=progress)
    model = run.final_model()
    chips = load(spec, size=run.cfg.data.size, progress=progress)
    logits = predict_logits(model, chips, run.context())
    class_ids = model.head.class_ids.tolist()
    preds = [class_ids[p] for p in logits.argmax(1).tolist()]
    rows = sorted(((image_id(cid), p) for cid, p in zip(chips.chip_ids, preds)),
                  key=lambda r: (int(r[0]) if r[0].isdigit() else float("inf"), r[0]))
    return run.dir.write_csv(Path(out).resolve(), ["image_id", "class_id"], rows), len(rows)
