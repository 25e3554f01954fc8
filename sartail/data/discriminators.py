"""Discriminators that tell two chip sets apart (ROC AUC on held-out halves; 0.5 = indistinguishable).

- :func:`statistics_discriminator`: logistic regression or gradient boosting on per-chip
  statistics (:func:`sartail.data.realism.chip_statistics`);
- :func:`cnn_discriminator`: a small CNN on the pixels, a harder check.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from ..errors import DataError
from .chipset import ChipSet
from .pixels import as_pixel_array


def _balanced_halves(n: int, repeats: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """``repeats`` x 2 (train, test) splits of ``2 n`` samples (``n`` of each set): each
    half holds half of each set; every split is used both ways."""
    from sklearn.model_selection import RepeatedStratifiedKFold

    y = np.r_[np.zeros(n), np.ones(n)]
    cv = RepeatedStratifiedKFold(n_splits=2, n_repeats=repeats, random_state=seed)
    return list(cv.split(np.zeros((2 * n, 1)), y))


def equal_draw(n_a: int, n_b: int, max_chips: int | None, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Positions of an equal number of chips of each set (the smaller set's size, at most ``max_chips``)."""
    n = min(n_a, n_b, max_chips or n_a)
    if n < 4:
        raise DataError(f"at least 4 chips of each set are needed to compare them, got {n_a} and {n_b}")
    g = np.random.default_rng(seed)
    return np.sort(g.choice(n_a, n, replace=False)), np.sort(g.choice(n_b, n, replace=False))


def statistics_discriminator(features_a: np.ndarray, features_b: np.ndarray, *, model: str = "logistic",
                             repeats: int = 3, seed: int = 0) -> dict[str, Any]:
    """ROC AUC of a classifier telling set A (label 0) from set B (label 1) by per-chip features.

    The sets must hold equally many rows. Every split trains on half of each set and tests on
    the other half (and the other way round), ``repeats`` times: the AUC reported is the mean
    over those ``2 x repeats`` held-out halves. ``model`` is ``"logistic"`` (standardised
    logistic regression) or ``"boosting"`` (histogram gradient boosting). Non-finite features
    are set to 0.
    """
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    a, b = np.asarray(features_a, dtype=np.float64), np.asarray(features_b, dtype=np.float64)
    if a.ndim != 2 or a.shape != b.shape:
        raise DataError(f"two feature matrices of one shape [n, k] are needed, got {a.shape} and {b.shape}")
    if model not in ("logistic", "boosting"):
        raise DataError(f"model must be 'logistic' or 'boosting', got {model!r}")
    x = np.nan_to_num(np.concatenate([a, b]), nan=0.0, posinf=0.0, neginf=0.0)
    y = np.r_[np.zeros(len(a)), np.ones(len(b))]
    aucs = []
    for train, test in _balanced_halves(len(a), repeats, seed):
        if model == "logistic":
            clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000))
        else:
            clf = HistGradientBoostingClassifier(max_iter=200, learning_rate=0.1, random_state=seed)
        clf.fit(x[train], y[train])
        aucs.append(float(roc_auc_score(y[test], clf.predict_proba(x[test])[:, 1])))
    return {"model": model, "auc": float(np.mean(aucs)), "auc_std": float(np.std(aucs)), "folds": aucs,
            "n_per_set": len(a)}


class _SmallCNN(torch.nn.Module):
    """Three conv blocks and a linear read-out of the mean- and max-pooled features."""

    def __init__(self, width: int = 16) -> None:
        super().__init__()
        w = width
        self.body = torch.nn.Sequential(
            torch.nn.Conv2d(1, w, 3, padding=1), torch.nn.BatchNorm2d(w), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
            torch.nn.Conv2d(w, 2 * w, 3, padding=1), torch.nn.BatchNorm2d(2 * w), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
            torch.nn.Conv2d(2 * w, 2 * w, 3, padding=1), torch.nn.BatchNorm2d(2 * w), torch.nn.ReLU(),
        )
        self.head = torch.nn.Linear(4 * w, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = self.body(x)
        return self.head(torch.cat([f.mean((2, 3)), f.amax((2, 3))], 1)).squeeze(1)


def _centre_crop(arr: np.ndarray, h: int, w: int) -> np.ndarray:
    top, left = (arr.shape[1] - h) // 2, (arr.shape[2] - w) // 2
    return arr[:, top:top + h, left:left + w]


def cnn_discriminator(chips_a: ChipSet | np.ndarray | torch.Tensor, chips_b: ChipSet | np.ndarray | torch.Tensor, *,
                      epochs: int = 15, repeats: int = 1, seed: int = 0, width: int = 16) -> dict[str, Any]:
    """ROC AUC of a small CNN telling chips A (label 0) from chips B (label 1), pixels in.

    Equally many chips of each set; the halves are the same kind of split as
    :func:`statistics_discriminator`'s (train on half of each set, test on the other half,
    both ways, ``repeats`` times). Grey levels go in as they are (scaled to 0..1), so
    brightness counts; training flips and rotates the chips by multiples of 90 degrees.
    Chips of two sizes are centre-cropped to the smaller one. Runs on the CPU.
    """
    from sklearn.metrics import roc_auc_score

    a, b = as_pixel_array(chips_a), as_pixel_array(chips_b)
    if len(a) != len(b):
        raise DataError(f"the CNN discriminator needs equally many chips of each set, got {len(a)} and {len(b)}")
    h, w = min(a.shape[1], b.shape[1]), min(a.shape[2], b.shape[2])
    x = torch.from_numpy(np.concatenate([_centre_crop(a, h, w), _centre_crop(b, h, w)]).astype(np.float32) / 255.0)
    x = x.unsqueeze(1)
    y = torch.cat([torch.zeros(len(a)), torch.ones(len(b))])
    aucs = []
    for split, (train, test) in enumerate(_balanced_halves(len(a), repeats, seed)):
        g = torch.Generator().manual_seed(seed * 1000 + split)
        torch.manual_seed(seed * 1000 + split)
        net = _SmallCNN(width)
        opt = torch.optim.AdamW(net.parameters(), lr=3e-3, weight_decay=1e-4)
        steps = epochs * math.ceil(len(train) / 64)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps)
        tr = torch.from_numpy(train)
        net.train()
        for _ in range(epochs):
            order = tr[torch.randperm(len(tr), generator=g)]
            for start in range(0, len(order), 64):
                idx = order[start:start + 64]
                xb = x[idx]
                if torch.rand(1, generator=g) < 0.5:
                    xb = xb.flip(3)
                xb = torch.rot90(xb, int(torch.randint(0, 4, (1,), generator=g)), (2, 3))
                loss = torch.nn.functional.binary_cross_entropy_with_logits(net(xb), y[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
                sched.step()
        net.eval()
        with torch.no_grad():
            scores = torch.cat([net(x[torch.from_numpy(test[i:i + 256])]) for i in range(0, len(test), 256)])
        aucs.append(float(roc_auc_score(y[test].numpy(), scores.numpy())))
    return {"model": "cnn", "auc": float(np.mean(aucs)), "auc_std": float(np.std(aucs)), "folds": aucs,
            "n_per_set": len(a), "epochs": epochs}
