"""``sartail data leakage``: how many test chips have a near-duplicate among the training chips.

Two data specs (``TRAIN TEST``) compare the chip sets as given. One spec measures the folds a
run of it would use: its held-out test fold against the training side, and its validation
split against the rest (``data.split``, ``data.test_fraction``, ``data.val_fraction`` and
the chip size as a run resolves them, the data kind's defaults included).
"""
from __future__ import annotations

import os
from collections.abc import Sequence

import torch

from ..config import load_config
from ..data.folds import fold_split, split_note
from ..data.leakage import NEAR_DUPLICATE, Leakage, leakage, self_copy_scores
from ..data.sources import data_kind, load
from ..errors import ConfigError
from .figures.leakage import leakage_figure
from .figures.style import save_figure
from .tables import table

USAGE = "usage: sartail data leakage TRAIN TEST, or sartail data leakage SPEC [--split random|sector|grouped]"


def measure(specs: Sequence[str], *, split: str | None = None, seed: int = 0, threshold: float = NEAR_DUPLICATE,
            progress: bool = True) -> tuple[dict[str, Leakage], str, bool]:
    """The leakage of ``TRAIN TEST`` or of the folds of one spec; also a line saying what was compared."""
    if len(specs) not in (1, 2):
        raise ConfigError(USAGE)
    over = {"data.train": specs[0], "seed": seed, **({"data.split": split} if split else {})}
    d = load_config("ce", over).data
    if len(specs) == 2:
        train = load(specs[0], size=d.size, progress=progress)
        test = load(specs[1], size=train.chip_size[0], progress=progress).relabel(train.class_names)
        return ({"test vs training": leakage(train, test, threshold=threshold, progress=progress)},
                f"{specs[1]} against {specs[0]}", train.synthetic)
    kind, path = data_kind(d.train)
    rest, held = kind.splits(path, d, seed, progress)
    if held is None:
        raise ConfigError(USAGE)
    test = held
    train, val = fold_split(rest, d.split, d.val_fraction, seed=seed, strict=False, progress=progress)
    out = {f"test {'fold' if kind.on_disk else 'set'} vs training": leakage(rest, test, threshold=threshold,
                                                                          progress=progress),
           "validation vs training": leakage(train, val, threshold=threshold, progress=progress)}
    return out, f"{specs[0]}, {split_note(rest, d.split)}, split seed {d.split_seed}, validation seed {seed}", rest.synthetic


def leakage_report(specs: Sequence[str], *, split: str | None = None, seed: int = 0, threshold: float = NEAR_DUPLICATE,
                   figure: str | os.PathLike | None = None, progress: bool = True) -> str:
    """The text of ``sartail data leakage`` (shares overall and per class); writes the figure if asked."""
    results, what, synthetic = measure(specs, split=split, seed=seed, threshold=threshold, progress=progress)
    lines = [f"leakage: {what}",
             f"near-duplicate: best NCC over ±{next(iter(results.values())).shift} px shifts ≥ {threshold:g}"]
    for label, r in results.items():
        s = r.summary()
        lines.append(f"\n{label}: {s['near_duplicate_share']:.1%} of {s['test_chips']:,} chips have a near-duplicate; "
                     f"best NCC mean {s['mean_best_ncc']:.3f}, nearest chip of the same class for "
                     f"{s['nearest_same_class']:.1%}")
        rows = [[name, f"{int((r.labels == c).sum()):,}", f"{100 * r.per_class().get(name, float('nan')):.1f}",
                 f"{float(r.score[r.labels == c].mean()):.3f}" if (r.labels == c).any() else "-"]
                for c, name in enumerate(r.class_names)]
        lines.append(table(rows, ["class", "chips", "near-dup %", "mean best NCC"]))
    if figure:
        first = next(iter(results.values()))
        refs: dict[str, torch.Tensor] = {}
        if len(specs) == 1:  # what a planted duplicate would score, for scale
            chips = load(specs[0], size=first.size + 2 * first.shift, progress=False)
            refs["own copy, 2 px shift + noise"] = self_copy_scores(chips)
        paths = save_figure(leakage_figure(results, references=refs, synthetic=synthetic), figure)
        lines.append(f"\nfigure: {', '.join(map(str, paths))}")
    return "\n".join(lines)


__all__ = ["USAGE", "leakage_report", "measure"]
