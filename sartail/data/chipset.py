"""The one in-memory representation of a set of SAR chips.

A :class:`ChipSet` holds every chip as one ``uint8`` tensor ``[N, 1, H, W]`` plus integer
labels, class names and a stable id per chip. Subsets, class removal and splits are *views*:
they share the pixel tensor and keep only an index of rows into it, so no pixels are copied.

>>> from sartail.data import make_synthetic
>>> train, test = make_synthetic(scale=0.002, test_per_class=5, seed=0)
>>> residual = train.remove_classes([0])          # a view: same pixels, labels remapped
>>> residual.class_ids[:3], residual.images is train.images
((1, 2, 3), True)
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import torch

from ..errors import DataError, suggest

UNLABELLED = -1


class GeneratedIds(Sequence[str]):
    """The ids ``<prefix>/<label>/<index>`` of generated chips, made when asked for.

    Behaves as a tuple of strings (indexing, length, iteration, equality) without holding
    one string per chip.
    """

    def __init__(self, prefix: str, labels: torch.Tensor) -> None:
        self.prefix = prefix
        self.labels = labels

    def __len__(self) -> int:
        return int(self.labels.numel())

    def __getitem__(self, i):  # type: ignore[no-untyped-def, override]
        if isinstance(i, slice):
            return tuple(self[j] for j in range(*i.indices(len(self))))
        i = int(i)
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(i)
        return f"{self.prefix}/{int(self.labels[i])}/{i:07d}"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, GeneratedIds):
            return self.prefix == other.prefix and torch.equal(self.labels, other.labels)
        return isinstance(other, (tuple, list)) and tuple(self) == tuple(other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"GeneratedIds({self.prefix!r}, {len(self)} chips)"


@dataclass(frozen=True, eq=False)
class ChipSet:
    """Labelled (or unlabelled) chips: shared pixel storage plus a view of its rows.

    Attributes:
        images: the shared ``uint8`` storage ``[M, 1, H, W]`` (never copied by views).
        rows: ``int64 [N]`` rows of ``images`` that belong to this view.
        labels: ``int64 [N]`` labels in this view's class space (``-1`` if unlabelled).
        class_names: names of this view's classes, in label order.
        class_ids: the original class id of each of this view's classes (for removal).
        ids: the stable id of every stored chip (its path relative to the data root).
        source: where the chips came from (``"synthetic"``, ``"mstar:/path"``, ...).
        synthetic: ``True`` for generated chips, so that plots can say so.
        report: messages from loading (converted or skipped files).
    """

    images: torch.Tensor
    rows: torch.Tensor
    labels: torch.Tensor
    class_names: tuple[str, ...]
    class_ids: tuple[int, ...]
    ids: Sequence[str]
    source: str = ""
    synthetic: bool = False
    report: tuple[str, ...] = field(default=(), repr=False)

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_tensors(
        cls,
        images: torch.Tensor,
        labels: torch.Tensor | Sequence[int],
        class_names: Sequence[str],
        ids: Sequence[str] | None = None,
        *,
        source: str = "",
        synthetic: bool = False,
        report: Sequence[str] = (),
    ) -> ChipSet:
        """Build a chip set from a ``uint8 [N, 1, H, W]`` tensor and labels, validating both."""
        if not isinstance(images, torch.Tensor):
            images = torch.as_tensor(np.asarray(images))
        if images.dtype != torch.uint8:
            raise DataError(f"images must be uint8, got {images.dtype}")
        if images.ndim == 3:
            images = images.unsqueeze(1)
        if images.ndim != 4 or images.shape[1] != 1:
            raise DataError(f"images must have shape [N, 1, H, W], got {tuple(images.shape)}")
        labels = torch.as_tensor(labels, dtype=torch.int64).reshape(-1)
        n = images.shape[0]
        if labels.numel() != n:
            raise DataError(f"{n} images but {labels.numel()} labels")
        class_names = tuple(str(c) for c in class_names)
        if len(set(class_names)) != len(class_names):
            raise DataError(f"class names are not unique: {class_names}")
        if n and labels.numel():
            lo, hi = int(labels.min()), int(labels.max())
            if lo < UNLABELLED or hi >= len(class_names):
                raise DataError(f"labels must lie in -1..{len(class_names) - 1}, found {lo}..{hi}")
        if isinstance(ids, GeneratedIds):  # unique by construction, and kept lazy (300k strings weigh 25 MB)
            pass
        elif ids is not None:
            ids = tuple(str(i) for i in ids)
        else:
            ids = tuple(f"{i:07d}" for i in range(n))
        if len(ids) != n:
            raise DataError(f"{n} images but {len(ids)} ids")
        if not isinstance(ids, GeneratedIds) and len(set(ids)) != n:
            seen: set[str] = set()
            dups = sorted({i for i in ids if i in seen or seen.add(i)})  # type: ignore[func-returns-value]
            raise DataError(f"duplicate chip ids ({len(dups)}): {', '.join(dups[:5])}")
        return cls(
            images=images.contiguous(),
            rows=torch.arange(n, dtype=torch.int64),
            labels=labels,
            class_names=class_names,
            class_ids=tuple(range(len(class_names))),
            ids=ids,
            source=source,
            synthetic=synthetic,
            report=tuple(report),
        )

    # ------------------------------------------------------------------ basic facts
    def __len__(self) -> int:
        return int(self.rows.numel())

    def __repr__(self) -> str:
        kind = "synthetic " if self.synthetic else ""
        return (
            f"ChipSet({len(self)} {kind}chips of {self.chip_size[0]}x{self.chip_size[1]} px, "
            f"{self.num_classes} classes, source={self.source!r})"
        )

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def chip_size(self) -> tuple[int, int]:
        return int(self.images.shape[-2]), int(self.images.shape[-1])

    @property
    def labelled(self) -> bool:
        return bool(len(self)) and bool((self.labels >= 0).all())

    @property
    def chip_ids(self) -> list[str]:
        """Ids of the chips of this view, in order."""
        return [self.ids[r] for r in self.rows.tolist()]

    def class_counts(self) -> torch.Tensor:
        """Number of chips per class of this view (``int64 [num_classes]``)."""
        lab = self.labels[self.labels >= 0]
        return torch.bincount(lab, minlength=self.num_classes)

    def pixels(self, positions: torch.Tensor | slice | None = None) -> torch.Tensor:
        """The ``uint8`` pixels of the chips at ``positions`` of this view (a copy of those only)."""
        rows = self.rows if positions is None else self.rows[positions]
        return self.images.index_select(0, rows)

    def table(self) -> list[dict[str, Any]]:
        """One dict per class: id, name, count and share of the view."""
        counts = self.class_counts().tolist()
        total = max(sum(counts), 1)
        return [
            {"class": cid, "name": name, "count": c, "share": c / total}
            for cid, name, c in zip(self.class_ids, self.class_names, counts)
        ]

    # ------------------------------------------------------------------ views
    def center_crop(self, size: int) -> ChipSet:
        """This view with every chip cut to its centre ``size`` x ``size`` (new pixel storage)."""
        h, w = self.chip_size
        if size > min(h, w):
            raise DataError(f"cannot centre-crop {h}x{w} chips to {size} px")
        oy, ox = (h - size) // 2, (w - size) // 2
        images = self.images.index_select(0, self.rows)[..., oy:oy + size, ox:ox + size].contiguous()
        return replace(self, images=images, rows=torch.arange(len(self)), ids=self.chip_ids)

    def take(self, positions: torch.Tensor | Sequence[int]) -> ChipSet:
        """A view holding the chips at ``positions`` (in that order); pixels are shared.

        ``positions`` may also be a boolean mask of this view's length.
        """
        positions = torch.as_tensor(positions)
        if positions.dtype == torch.bool:
            if positions.numel() != len(self):
                raise DataError(f"a boolean mask of {positions.numel()} entries for a view of {len(self)} chips")
            positions = torch.nonzero(positions.reshape(-1)).reshape(-1)
        positions = positions.to(torch.int64).reshape(-1)
        if positions.numel() and (int(positions.min()) < 0 or int(positions.max()) >= len(self)):
            raise DataError(f"positions must lie in 0..{len(self) - 1}")
        return replace(self, rows=self.rows[positions], labels=self.labels[positions])

    def class_index(self, cls: int | str) -> int:
        """This view's label of class ``cls`` given by original id (int) or name (str).

        A string is a class name when one of the classes has that name (folder classes may
        be named ``"10"``, ``"20"``, ...); otherwise a string of digits is an original id.
        """
        if isinstance(cls, str) and cls in self.class_names:
            return self.class_names.index(cls)
        if isinstance(cls, str) and not cls.lstrip("-").isdigit():
            if cls not in self.class_names:
                raise DataError(f"no class named {cls!r} in {self.class_names}.{suggest(cls, self.class_names)}")
            return self.class_names.index(cls)
        cid = int(cls)
        if cid not in self.class_ids:
            raise DataError(f"class {cid} is not in this chip set (its classes are {list(self.class_ids)})")
        return self.class_ids.index(cid)

    def keep_classes(self, classes: Sequence[int | str]) -> ChipSet:
        """A view with only ``classes`` (original ids or names), labels remapped to ``0..K-1``.

        The original id of each kept class stays in :attr:`class_ids`, which gives the
        inverse mapping (``class_ids[label]``).
        """
        local = sorted({self.class_index(c) for c in classes})
        if not local:
            raise DataError("no classes to keep: at least one class is needed")
        remap = torch.full((self.num_classes,), -1, dtype=torch.int64)
        remap[torch.tensor(local)] = torch.arange(len(local))
        mask = self.labels >= 0
        mask[mask.clone()] = remap[self.labels[mask]] >= 0
        positions = torch.nonzero(mask).reshape(-1)
        view = self.take(positions)
        return replace(
            view,
            labels=remap[view.labels],
            class_names=tuple(self.class_names[i] for i in local),
            class_ids=tuple(self.class_ids[i] for i in local),
        )

    def remove_classes(self, classes: Sequence[int | str]) -> ChipSet:
        """A view without ``classes`` (original ids or names); the rest keep their order.

        Raises :class:`DataError` for an unknown class or when fewer than two classes remain.
        """
        drop = {self.class_index(c) for c in classes}
        keep = [self.class_ids[i] for i in range(self.num_classes) if i not in drop]
        if len(keep) < 2:
            names = [self.class_names[i] for i in sorted(drop)]
            raise DataError(
                f"removing {names} leaves {len(keep)} class(es); at least two classes must remain"
            )
        return self.keep_classes(keep)

    def relabel(self, class_names: Sequence[str]) -> ChipSet:
        """This set expressed in the class space ``class_names`` (matched by name).

        Every class of this set must appear in ``class_names``; the result's class ids are
        ``0..len(class_names)-1``. Used to score a model on chips whose folders name only
        some of its classes, or in another order.
        """
        names = tuple(str(c) for c in class_names)
        unknown = [c for c in self.class_names if c not in names]
        if unknown:
            raise DataError(f"class(es) {unknown} of {self.source or 'these chips'} are not among {list(names)}."
                            f"{suggest(unknown[0], names)}")
        table = torch.tensor([names.index(c) for c in self.class_names] or [0], dtype=torch.int64)
        labels = torch.where(self.labels >= 0, table[self.labels.clamp_min(0)], self.labels)
        return replace(self, labels=labels, class_names=names, class_ids=tuple(range(len(names))))
