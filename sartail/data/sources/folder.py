"""Generic class folders: ``root/<class>/*.png|jpg|jpeg|bmp|tif``."""
from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..chipset import ChipSet
from .files import ReadOptions, read_chips, scan_class_folders

if TYPE_CHECKING:
    from typing_extensions import Unpack


def load_folder(
    root: str | os.PathLike,
    *,
    size: int | tuple[int, int] | None = 56,
    classes: Sequence[str] | None = None,
    **options: Unpack[ReadOptions],
) -> ChipSet:
    """Load a generic folder of class folders, ``root/<class>/*.png|jpg|jpeg|bmp|tif``.

    Classes are the folder names, sorted (or as ordered by ``classes``); ``options``: see :class:`.files.ReadOptions`.
    """
    files, names, report = scan_class_folders(root, classes=classes, skip_bad=options.get("skip_bad", False))
    return read_chips(files, names, size, source=f"folder:{root}", report=report, **options)
