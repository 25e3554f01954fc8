"""Pixel statistics of a chip set by class (for the data tour), and chips as a pixel array."""
from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ..errors import DataError
from .chipset import ChipSet


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


def as_pixel_array(chips: Any) -> np.ndarray:
    """``uint8``/float pixels ``[N, H, W]`` of a chip set, tensor or array."""
    if isinstance(chips, ChipSet):
        arr = chips.pixels().numpy()
    elif isinstance(chips, torch.Tensor):
        arr = chips.numpy()
    else:
        arr = np.asarray(chips)
    if arr.ndim == 4:
        if arr.shape[1] != 1:
            raise DataError(f"chips must have one channel, got shape {arr.shape}")
        arr = arr[:, 0]
    if arr.ndim != 3 or min(arr.shape[1:]) < 4:
        raise DataError(f"chips must be [N, H, W] (or [N, 1, H, W]) of at least 4 x 4 px, got shape {arr.shape}")
    return arr
