"""Pixel statistics of a chip set by class (for the data tour)."""
from __future__ import annotations

from typing import Any

import numpy as np


def pixel_table(chips: Any, *, max_per_class: int = 300, seed: int = 0) -> list[dict[str, Any]]:
    """Per-class pixel statistics as rows: chips, mean, std, 1st / 99th percentile, zero share."""
    g = np.random.default_rng(seed)
    labels = chips.labels.numpy()
    counts = chips.class_counts().tolist()
    rows = []
    for c in range(chips.num_classes):
        pos = np.flatnonzero(labels == c)
        row: dict[str, Any] = {"class": chips.class_ids[c], "name": chips.class_names[c], "chips": counts[c]}
        if pos.size:
            pos = np.sort(g.choice(pos, size=min(max_per_class, pos.size), replace=False))
            px = chips.pixels(np.asarray(pos)).numpy().astype(np.float32).ravel()
            p1, p99 = np.percentile(px, [1, 99])
            row.update(mean=float(px.mean()), std=float(px.std()), p1=float(p1), p99=float(p99),
                       zero_share=float((px == 0).mean()))
        rows.append(row)
    return rows
