"""MAVOC / UNICORN chips: labelled class-id folders ``0``..``9`` and the unlabelled test chips."""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

from ...errors import DataError
from ..chipset import UNLABELLED, ChipSet
from ..classes import MAVOC_CLASS_NAMES
from .files import ChipFile, ReadOptions, chips_in, is_ignored, read_chips, require_dir

if TYPE_CHECKING:
    from typing_extensions import Unpack


def _mavoc_root(root: Path) -> Path:
    """The folder that holds MAVOC's class folders ``0``..``9`` (root or a known child)."""
    if any(p.is_dir() and p.name.isdigit() for p in root.iterdir()):
        return root
    for child in ("train_images", "train", "SAR", "sar"):
        if (root / child).is_dir() and any(p.is_dir() and p.name.isdigit() for p in (root / child).iterdir()):
            return root / child
    raise DataError(f"{root}: no MAVOC class folders 0..9 found (expected {root}/<0..9>/SAR_<id>.png)")


def load_mavoc(
    root: str | os.PathLike,
    *,
    modality: str = "SAR",
    size: int | tuple[int, int] | None = 56,
    **options: Unpack[ReadOptions],
) -> ChipSet:
    """Load labelled MAVOC / UNICORN chips: class-id folders ``0``..``9`` of ``SAR_<id>.png``.

    EO chips (``EO_<id>.png``) in the same folders are ignored unless ``modality="EO"``.
    The official class names are attached; absent class folders are allowed (their class
    simply has no chips), but a folder named outside ``0..9`` is an error.
    """
    if modality not in ("SAR", "EO"):
        raise DataError(f"modality must be 'SAR' or 'EO', got {modality!r}")
    root = _mavoc_root(require_dir(root, "MAVOC"))
    folders = sorted((p for p in root.iterdir() if p.is_dir() and not is_ignored(p)), key=lambda p: p.name)
    bad = [p.name for p in folders if not (p.name.isdigit() and 0 <= int(p.name) <= 9)]
    if bad:
        raise DataError(f"{root / bad[0]}: MAVOC class folders must be named 0..9, found {bad}")
    pattern = re.compile(rf"{modality}_.+\.png", re.IGNORECASE)
    files: list[ChipFile] = []
    report: list[str] = []
    by_name: dict[str, str] = {}
    for p in folders:
        chips = chips_in(p, root, int(p.name), pattern, options.get("skip_bad", False), report)
        if not chips:
            raise DataError(f"{p}: empty class folder (no {modality}_<id>.png chips)")
        for c in chips:
            name = c.id.rpartition("/")[2]
            other = by_name.setdefault(name, c.id)
            if other != c.id:
                raise DataError(f"duplicate chip id {name!r} in two class folders: {root / other} and {c.path}")
        files.extend(chips)
    return read_chips(files, MAVOC_CLASS_NAMES, size, source=f"mavoc:{root}", report=report, **options)


def load_mavoc_test(
    root: str | os.PathLike,
    *,
    modality: str = "SAR",
    size: int | tuple[int, int] | None = 56,
    **options: Unpack[ReadOptions],
) -> ChipSet:
    """Load MAVOC's unlabelled test chips (``SAR_<id>.png`` in ``root`` or ``root/SAR``).

    Labels are ``-1``; the ids are the file names, whose ``<id>`` part is the challenge's
    ``image_id`` (see :func:`sartail.run.inference.image_id`).
    """
    root = require_dir(root, "MAVOC test")
    sub = root / modality
    if not any(root.glob(f"{modality}_*.png")) and sub.is_dir():
        root = sub
    report: list[str] = []
    files = chips_in(root, root, UNLABELLED, re.compile(rf"{modality}_.+\.png", re.IGNORECASE),
                     options.get("skip_bad", False), report)
    if not files:
        raise DataError(f"{root}: no {modality}_<id>.png chips found")
    return read_chips(files, MAVOC_CLASS_NAMES, size, source=f"mavoc_test:{root}", report=report, **options)
