"""Which chips of a class a model gets wrong, what it takes them for, and what both classes look like when right.

:func:`error_gallery` runs a model over chips once; :func:`gallery_from_outputs` does the
choosing from predictions already made (so it can be tested on hand-made logits). Classes
are original class ids (``ChipSet.class_ids``); chips of classes the model's head does not
have (removed by its stage) are left out, as the stage's test score leaves them out.

>>> import torch
>>> from sartail.data import ChipSet
>>> chips = ChipSet.from_tensors(torch.zeros(4, 1, 8, 8, dtype=torch.uint8), [0, 0, 1, 1], ["a", "b"])
>>> logits = torch.tensor([[2.0, 0], [0, 2], [0, 2], [0, 3]])
>>> g = gallery_from_outputs(logits, (0, 1), chips, cls=0)
>>> [(e.position, e.predicted) for e in g.errors]
[(1, 1)]
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from sartail.data.chipset import ChipSet
from sartail.models import Classifier


@dataclass(frozen=True)
class Prediction:
    """One chip: its position in the chip set, id, true and predicted class (original ids), confidence."""

    position: int
    chip_id: str
    label: int
    predicted: int
    confidence: float

    @property
    def correct(self) -> bool:
        return self.label == self.predicted


@dataclass(frozen=True)
class ErrorGallery:
    """The misclassified chips of one class, most confident mistakes first, and correct examples.

    ``errors``: every misclassified chip of class ``cls`` (at most ``max_errors`` kept, the
    most confident first; ``n_errors`` counts them all); ``examples[c]``: the most confidently
    correct chips of class ``c`` for ``cls`` and each class its chips were taken for (empty
    when the model never gets ``c`` right). ``class_names`` are indexed by original id.
    """

    cls: int
    class_names: tuple[str, ...]
    n_chips: int
    n_errors: int
    errors: tuple[Prediction, ...]
    examples: dict[int, tuple[Prediction, ...]]
    confused_with: dict[int, int]
    stage: str = ""
    synthetic: bool = False
    chips: ChipSet | None = field(default=None, repr=False, compare=False)

    @property
    def accuracy(self) -> float:
        return 1 - self.n_errors / self.n_chips if self.n_chips else float("nan")

    def rows(self) -> list[dict[str, Any]]:
        """One row per shown error: chip id, true and predicted class names, confidence."""
        return [{"chip": e.chip_id, "class": self.class_names[e.label], "predicted": self.class_names[e.predicted],
                 "confidence": e.confidence} for e in self.errors]

    def to_dict(self) -> dict[str, Any]:
        def plain(p: Prediction) -> dict[str, Any]:
            return {"position": p.position, "chip": p.chip_id, "label": p.label, "predicted": p.predicted,
                    "confidence": p.confidence}

        return {"class": self.cls, "class_name": self.class_names[self.cls], "stage": self.stage,
                "chips": self.n_chips, "errors_total": self.n_errors, "accuracy": self.accuracy,
                "errors": [plain(e) for e in self.errors],
                "examples": {str(c): [plain(p) for p in ps] for c, ps in self.examples.items()},
                "confused_with": {str(c): n for c, n in self.confused_with.items()}}

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)


def pick_tail_class(labels: np.ndarray, predicted: np.ndarray, train_counts: Sequence[int] | None,
                    candidates: Sequence[int]) -> int:
    """The class with the fewest training chips (ties: lowest id) that has a misclassified chip.

    Without ``train_counts`` the class with the lowest accuracy; when no chip is wrong, the
    first candidate by the same order.
    """
    def wrong(c: int) -> int:
        return int(((labels == c) & (predicted != c)).sum())

    if train_counts is not None:
        order = sorted(candidates, key=lambda c: (train_counts[c], c))
    else:
        def acc(c: int) -> float:
            n = int((labels == c).sum())
            return 1 - wrong(c) / n if n else 2.0

        order = sorted(candidates, key=lambda c: (acc(c), c))
    for c in order:
        if wrong(c):
            return int(c)
    return int(order[0])


def gallery_from_outputs(logits: torch.Tensor, head_class_ids: Sequence[int], chips: ChipSet, cls: int | str | None = None,
                         *, train_counts: Sequence[int] | None = None, max_errors: int = 8, examples: int = 3,
                         stage: str = "") -> ErrorGallery:
    """An :class:`ErrorGallery` from logits ``[N, K]`` of ``chips`` (columns: ``head_class_ids``).

    ``cls`` is an original class id or a class name; ``None`` picks the tail class with errors
    (:func:`pick_tail_class`; ``train_counts`` by original id).
    """
    if logits.ndim != 2 or logits.shape[0] != len(chips) or logits.shape[1] != len(head_class_ids):
        raise ValueError(f"logits of shape {tuple(logits.shape)} for {len(chips)} chips and "
                         f"{len(head_class_ids)} head classes")
    head = [int(c) for c in head_class_ids]
    names_by_id = _names_by_id(chips)
    probs = logits.float().softmax(1)
    conf, col = probs.max(1)
    predicted = np.asarray(head, dtype=np.int64)[col.numpy()] if len(chips) else np.zeros(0, np.int64)
    labels = np.asarray([chips.class_ids[c] if c >= 0 else -1 for c in chips.labels.tolist()], dtype=np.int64)
    seen = np.isin(labels, head)
    if cls is None:
        present = [c for c in head if (labels == c).any()]
        if not present:
            raise ValueError("none of the chips belongs to a class of the model's head")
        target = pick_tail_class(labels, predicted, train_counts, present)
    else:
        target = chips.class_ids[chips.class_index(cls)]
        if target not in head:
            raise ValueError(f"class {target} ({names_by_id[target]}) is not in the model's head ({head}): "
                             "its stage removed it")
    ids = chips.chip_ids

    def pred(i: int) -> Prediction:
        return Prediction(int(i), ids[i], int(labels[i]), int(predicted[i]), float(conf[i]))

    mine = np.flatnonzero(seen & (labels == target))
    wrong = [i for i in mine if predicted[i] != target]
    wrong.sort(key=lambda i: (-float(conf[i]), i))
    confused: dict[int, int] = {}
    for i in wrong:
        confused[int(predicted[i])] = confused.get(int(predicted[i]), 0) + 1
    confused = dict(sorted(confused.items(), key=lambda kv: (-kv[1], kv[0])))
    shown = wrong[:max_errors]
    ex: dict[int, tuple[Prediction, ...]] = {}
    for c in [target, *dict.fromkeys(int(predicted[i]) for i in shown)]:
        right = [int(i) for i in np.flatnonzero(seen & (labels == c)) if predicted[i] == c]
        right.sort(key=lambda i: (-float(conf[i]), i))
        ex[c] = tuple(pred(i) for i in right[: examples * max(len(shown), 1)])  # different ones for every row
    return ErrorGallery(cls=int(target), class_names=tuple(names_by_id), n_chips=int(mine.size), n_errors=len(wrong),
                        errors=tuple(pred(int(i)) for i in shown), examples=ex, confused_with=confused, stage=stage,
                        synthetic=bool(chips.synthetic), chips=chips)


def _names_by_id(chips: ChipSet) -> list[str]:
    n = max(chips.class_ids) + 1 if chips.class_ids else 0
    names = [f"class {i}" for i in range(n)]
    for cid, name in zip(chips.class_ids, chips.class_names):
        names[cid] = name
    return names


def error_gallery(model: Classifier, chips: ChipSet, cls: int | str | None = None, *,
                  train_counts: Sequence[int] | None = None, max_errors: int = 8, examples: int = 3, stage: str = "",
                  batch_size: int = 256) -> ErrorGallery:
    """The misclassified chips of class ``cls`` (default: the tail class with errors) for ``model``."""
    from .features import model_outputs

    out = model_outputs(model, chips, batch_size=batch_size)
    return gallery_from_outputs(out.logits, out.head_class_ids, chips, cls, train_counts=train_counts,
                                max_errors=max_errors, examples=examples, stage=stage)


__all__ = ["ErrorGallery", "Prediction", "error_gallery", "gallery_from_outputs", "pick_tail_class"]
