"""MSTAR chips laid out as ``root/<split>/<class>/*.jpeg``."""
from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ...errors import DataError
from ..chipset import ChipSet
from .files import ReadOptions, read_chips, require_dir, scan_class_folders

if TYPE_CHECKING:
    from typing_extensions import Unpack


def load_mstar(
    root: str | os.PathLike,
    *,
    split: str = "train",
    size: int | tuple[int, int] | None = 64,
    classes: Sequence[str] | None = None,
    **options: Unpack[ReadOptions],
) -> ChipSet:
    """Load MSTAR chips laid out as ``root/<split>/<class>/*.jpeg`` (or ``root/<class>/...``).

    MSTAR chip size differs by class (128 to 193 px), so every chip is centre-cropped to
    ``size`` (64 x 64 by default) and never resized: the size alone would give the class away.
    ``options``: see :class:`.files.ReadOptions`.
    """
    root = require_dir(root, "MSTAR")
    if (root / split).is_dir():
        root = root / split
    if size is None:
        raise DataError("MSTAR chips differ in size by class: give a chip size (e.g. 64) to centre-crop them")
    files, names, report = scan_class_folders(root, classes=classes, skip_bad=options.get("skip_bad", False),
                                              what="MSTAR")
    return read_chips(files, names, size, source=f"mstar:{root}", report=report, **options)
