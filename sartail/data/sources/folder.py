"""Generic class folders: ``root/<class>/*.png|jpg|jpeg|bmp|tif``."""
from __future__ import annotations

import os
from collections.abc import Sequence

from ..chipset import ChipSet
from .files import decode_files, decode_options, scan_class_folders


def load_folder(
    root: str | os.PathLike,
    *,
    size: int | tuple[int, int] | None = 56,
    fit: str = "crop_or_pad",
    classes: Sequence[str] | None = None,
    colour: str = "convert",
    depth: str = "convert",
    skip_bad: bool = False,
    cache: bool | str | os.PathLike = True,
    progress: bool = True,
) -> ChipSet:
    """Load a generic folder of class folders, ``root/<class>/*.png|jpg|jpeg|bmp|tif``.

    Classes are the folder names, sorted (or as ordered by ``classes``).
    """
    files, names, report = scan_class_folders(root, classes=classes, skip_bad=skip_bad)
    return decode_files(files, names, decode_options(size, fit, colour, depth), source=f"folder:{root}",
                        skip_bad=skip_bad, report=report, cache=cache, progress=progress)
