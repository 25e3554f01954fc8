"""MSTAR chips laid out as ``root/<split>/<class>/*.jpeg``."""
from __future__ import annotations

import os
from collections.abc import Sequence

from ...errors import DataError
from ..chipset import ChipSet
from .files import decode_files, decode_options, require_dir, scan_class_folders


def load_mstar(
    root: str | os.PathLike,
    *,
    split: str = "train",
    size: int | tuple[int, int] | None = 64,
    fit: str = "crop_or_pad",
    classes: Sequence[str] | None = None,
    colour: str = "convert",
    depth: str = "convert",
    skip_bad: bool = False,
    cache: bool | str | os.PathLike = True,
    progress: bool = True,
) -> ChipSet:
    """Load MSTAR chips laid out as ``root/<split>/<class>/*.jpeg`` (or ``root/<class>/...``).

    MSTAR chip size differs by class (128 to 193 px), so every chip is centre-cropped to
    ``size`` (64 x 64 by default) and never resized: the size alone would give the class away.
    """
    root = require_dir(root, "MSTAR")
    if (root / split).is_dir():
        root = root / split
    if size is None:
        raise DataError("MSTAR chips differ in size by class: give a chip size (e.g. 64) to centre-crop them")
    files, names, report = scan_class_folders(root, classes=classes, skip_bad=skip_bad, what="MSTAR")
    return decode_files(files, names, decode_options(size, fit, colour, depth), source=f"mstar:{root}",
                        skip_bad=skip_bad, report=report, cache=cache, progress=progress)
