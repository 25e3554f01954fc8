"""A frozen-body read-out: how well a body's pooled features separate the classes.

Two read-outs of features that no classifier was trained on: k nearest neighbours (cosine
similarity, majority vote, the nearest breaking ties) and a linear probe (multinomial logistic
regression on standardised features, scikit-learn). Both fit on the training chips' features
and score held-out chips, per class and per shot group (many / medium / few, from the training
counts, see :class:`~sartail.config.ShotGroups`). Used before and after self-supervised
pre-training to see whether the representation improved, without training a head.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ..config import ShotGroups
from ..errors import ConfigError
from .metrics import confusion_matrix, summarize

READOUTS = ("knn", "linear")


def knn_classify(train_x: torch.Tensor, train_y: torch.Tensor, test_x: torch.Tensor, k: int = 5) -> torch.Tensor:
    """Labels of ``test_x`` by a majority of their ``k`` most cosine-similar training rows (the nearest breaks ties)."""
    if k < 1:
        raise ConfigError(f"k must be >= 1, got {k}")
    if train_x.shape[0] == 0:
        raise ValueError("k-NN needs training features")
    k = min(k, train_x.shape[0])
    sim = F.normalize(test_x.float(), dim=1) @ F.normalize(train_x.float(), dim=1).T
    order = torch.from_numpy(np.argsort(-sim.numpy(), axis=1, kind="stable")[:, :k])
    votes = torch.zeros(test_x.shape[0], int(train_y.max()) + 1, dtype=torch.float64)
    weight = 1.0 + 1e-6 * torch.arange(k, 0, -1, dtype=torch.float64)
    votes.scatter_add_(1, train_y.long()[order], weight.expand(test_x.shape[0], k).contiguous())
    return votes.argmax(1)


def linear_probe(train_x: torch.Tensor, train_y: torch.Tensor, test_x: torch.Tensor, *,
                 c: float = 1.0, max_iter: int = 2000) -> torch.Tensor:
    """Labels of ``test_x`` by a logistic regression fitted on standardised training features."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    probe = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=max_iter))
    probe.fit(train_x.double().numpy(), train_y.numpy())
    return torch.as_tensor(probe.predict(test_x.double().numpy())).long()


def readout(train_x: torch.Tensor, train_y: torch.Tensor, test_x: torch.Tensor, test_y: torch.Tensor,
            class_names: Sequence[str], *, method: str = "knn", k: int = 5,
            groups: ShotGroups = ShotGroups()) -> dict[str, Any]:
    """Balanced, top-1 and many / medium / few-shot accuracy of a read-out (``knn`` or ``linear``).

    The shot groups come from the training labels' class counts.
    """
    if method not in READOUTS:
        raise ConfigError(f"unknown read-out {method!r}; use one of {list(READOUTS)}")
    n = len(class_names)
    pred = knn_classify(train_x, train_y, test_x, k) if method == "knn" else linear_probe(train_x, train_y, test_x)
    counts = torch.bincount(train_y.long(), minlength=n).tolist()
    out = summarize(confusion_matrix(test_y.long(), pred, n), class_names, train_counts=counts, groups=groups)
    return {key: out[key] for key in ("n", "top1", "balanced", "many_shot", "medium_shot", "few_shot", "per_class")}


def probe_features(train_x: torch.Tensor, train_y: torch.Tensor, test_x: torch.Tensor, test_y: torch.Tensor,
                   class_names: Sequence[str], *, k: int = 5, groups: ShotGroups = ShotGroups()) -> dict[str, Any]:
    """Both read-outs, ``{"knn": {...}, "linear": {...}}`` (see :func:`readout`)."""
    return {m: readout(train_x, train_y, test_x, test_y, class_names, method=m, k=k, groups=groups)
            for m in READOUTS}
