"""Reading chip files, shared by every on-disk data kind: scanning folders, decoding through the cache.

Each loader (:mod:`.folder`, :mod:`.mavoc`, :mod:`.mstar`) scans its layout, then decodes every
chip once (with a progress bar) into a :class:`~sartail.data.chipset.ChipSet`. Decoded sets are
cached (see :mod:`sartail.data.cache`), keyed by every source file's path, size and
modification time, so a second load is fast and a changed file is noticed.
"""
from __future__ import annotations

import os
import re
import warnings
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TypedDict

import numpy as np
import torch
from tqdm.auto import tqdm

from ...errors import DataError, suggest
from .. import cache as cache_mod
from .._memory import release_free_memory
from ..chipset import UNLABELLED, ChipSet
from ..decode import IMAGE_SUFFIXES, DecodeOptions, decode_chip

#: Training chips per class in the MAVOC 2021/2022 SAR release (293,772 in all).
_IGNORED_NAMES = {"thumbs.db", "desktop.ini"}


@dataclass(frozen=True)
class ChipFile:
    """One chip file found by a scan: path (a string: the root given joined with the id), id
    (the path relative to the root, with ``/``) and label."""

    path: str
    id: str
    label: int


# ---------------------------------------------------------------------------- scanning
def is_ignored(p: Path) -> bool:
    return p.name.startswith(".") or p.name.lower() in _IGNORED_NAMES


def require_dir(root: str | os.PathLike, what: str) -> Path:
    root = Path(root).expanduser()
    if not root.exists():
        raise DataError(f"{what} folder not found: {root}")
    if not root.is_dir():
        raise DataError(f"{what} path is not a folder: {root}")
    return root


def chips_in(folder: Path, root: Path, label: int, pattern: re.Pattern[str] | None, skip_bad: bool,
              report: list[str]) -> list[ChipFile]:
    # os.scandir, plain string names and one relative prefix per folder: a MAVOC folder holds
    # 234k chips, and pathlib's per-file parsing, sorting and relative_to dominated a cached load
    rel = folder.relative_to(root).as_posix()
    prefix = "" if rel == "." else rel + "/"
    base = os.path.join(str(folder), "")  # the folder with one trailing separator
    with os.scandir(folder) as it:
        entries = sorted((e for e in it if not (e.name.startswith(".") or e.name.lower() in _IGNORED_NAMES)),
                         key=lambda e: e.name)
    files = []
    for e in entries:
        if e.is_symlink() and not os.path.exists(e.path):  # a loop (a -> b -> a) or a dangling link
            msg = f"{base}{e.name}: a symbolic link that loops or points nowhere (-> {os.readlink(e.path)})"
            if not skip_bad:
                raise DataError(msg + f"; remove it, or leave such files out with {SKIP_BAD_HINT}")
            report.append("skipped " + msg)
            continue
        if e.is_dir():
            continue
        name = e.name
        stem, dot, ext = name.rpartition(".")
        suffix = dot + ext if stem else ""
        if suffix.lower() not in IMAGE_SUFFIXES:
            msg = (f"{base}{name}: not an image file (suffix {suffix or 'none'!r}; "
                   f"expected one of {', '.join(IMAGE_SUFFIXES)})")
            if not skip_bad:
                raise DataError(msg + f"; remove it, or leave such files out with {SKIP_BAD_HINT}")
            report.append("skipped " + msg)
            continue
        if pattern is not None and not pattern.fullmatch(name):
            continue
        files.append(ChipFile(base + name, prefix + name, label))
    return files


def scan_class_folders(
    root: str | os.PathLike,
    *,
    classes: Sequence[str] | None = None,
    pattern: str | None = None,
    skip_bad: bool = False,
    what: str = "data",
) -> tuple[list[ChipFile], tuple[str, ...], list[str]]:
    """Find ``root/<class>/<chip>`` files. Returns ``(files, class_names, report)``.

    ``classes`` picks (and orders) class folders; by default all, sorted by name.
    ``pattern`` (a regular expression on file names) selects chips within a folder.
    """
    root = require_dir(root, what)
    folders = sorted(p.name for p in root.iterdir() if p.is_dir() and not is_ignored(p))
    if not folders:
        raise DataError(f"{root}: no class folders found (expected {root}/<class>/<chip>.png)")
    if classes is None:
        classes = folders
    for c in classes:
        if c not in folders:
            raise DataError(f"{root}: no class folder {c!r} (found {folders}).{suggest(c, folders)}")
    for c in classes:
        target = (root / c).resolve()
        if (root / c).is_symlink() and (target == root.resolve() or target in root.resolve().parents):
            raise DataError(f"{root / c}: a symbolic link back to {target} (a loop in the data folder); "
                            "remove it or point it at a class folder")
    regex = re.compile(pattern) if pattern else None
    files: list[ChipFile] = []
    report: list[str] = []
    for label, name in enumerate(classes):
        chips = chips_in(root / name, root, label, regex, skip_bad, report)
        if not chips:
            raise DataError(f"{root / name}: empty class folder (no chips{' matching ' + pattern if pattern else ''})")
        files.extend(chips)
    return files, tuple(classes), report


# ---------------------------------------------------------------------------- decoding
#: How a user leaves unreadable files out (command line, then Python).
SKIP_BAD_HINT = "`--set data.skip_bad=true` (Python: skip_bad=True)"


def decode_files(
    files: Sequence[ChipFile],
    class_names: Sequence[str],
    options: DecodeOptions,
    *,
    source: str,
    skip_bad: bool = False,
    report: Sequence[str] = (),
    cache: bool | str | os.PathLike = True,
    progress: bool = True,
) -> ChipSet:
    """Decode ``files`` into a :class:`ChipSet`, through the cache unless ``cache=False``.

    With ``skip_bad=True`` unreadable chips are left out and every one is reported (in a
    warning and in ``ChipSet.report``); otherwise the first bad chip raises
    :class:`DataError` naming it.
    """
    if not files:
        raise DataError(f"{source}: no chips to load")
    key = cache_mod.cache_key(files, class_names, options, skip_bad)
    cache_dir = cache_mod.resolve_dir(cache)
    if cache_dir is not None:
        hit = cache_mod.load(cache_dir, key, source)
        if hit is not None:
            _warn_report(source, hit.report)
            return hit

    notes = list(report)
    out, arrays, ok = _decode_all(files, options, source, skip_bad, progress, notes)
    n = len(files)
    keep = np.flatnonzero(ok).tolist()
    if not keep:
        reasons = [r for r in notes if r.startswith("skipped")]
        shown = "\n  ".join(reasons[:10]) + (f"\n  ... and {len(reasons) - 10} more" if len(reasons) > 10 else "")
        raise DataError(f"{source}: none of the {n} chips could be read:\n  {shown}")
    if out is None:
        out = _stack(files, arrays, keep)
    elif len(keep) < n:
        out = out[ok]
    images = torch.from_numpy(out[:, None])
    labels = torch.tensor([files[i].label for i in keep], dtype=torch.int64)
    lost = {f.label for f in files} - set(labels.tolist()) - {UNLABELLED}
    missing = [class_names[c] for c in sorted(lost)]
    if missing:
        skipped = [r for r in notes if r.startswith("skipped")]
        raise DataError(f"{source}: every chip of class(es) {missing} was skipped as unreadable:\n  "
                        + "\n  ".join(skipped))
    chips = ChipSet.from_tensors(images, labels, class_names, [files[i].id for i in keep], source=source, report=notes)
    release_free_memory()  # decoders' freed buffers
    if cache_dir is not None:
        cache_mod.save(cache_dir, key, chips)
    _warn_report(source, chips.report)
    return chips


def _decode_all(files: Sequence[ChipFile], options: DecodeOptions, source: str, skip_bad: bool, progress: bool,
                notes: list[str]) -> tuple[np.ndarray | None, list[np.ndarray | None], np.ndarray]:
    """Decode every file on a thread pool: the chips (one array for a fixed chip size, else a list), which were
    read, and what was converted or skipped (appended to ``notes``, in file order)."""
    n = len(files)
    block = 512 if n > 8192 else 32
    # with a fixed chip size the decoded chips go straight into one array (no second copy)
    out = np.empty((n, *options.size), dtype=np.uint8) if options.size is not None else None
    arrays: list[np.ndarray | None] = [None] * n if out is None else []
    ok = np.zeros(n, dtype=bool)

    def work(start: int) -> list[tuple[int, str | None, str | None]]:
        done: list[tuple[int, str | None, str | None]] = []
        for i in range(start, min(start + block, n)):
            try:
                arr, note = decode_chip(files[i].path, options)
            except DataError as exc:
                if not skip_bad:
                    raise
                done.append((i, None, str(exc)))
                continue
            if out is not None:
                out[i] = arr
            else:
                arrays[i] = arr
            ok[i] = True
            done.append((i, note, None))
        return done

    threads = min(8, (os.cpu_count() or 2) * 2)
    with ThreadPoolExecutor(max_workers=threads) as pool, \
            tqdm(total=n, desc=f"decoding {Path(source).name or source}", unit="chip", disable=not progress,
                 leave=False, mininterval=0.5) as bar:
        # blocks come back in order, so the first bad chip named is the first in file order
        for done in pool.map(work, range(0, n, block)):
            for _, note, err in done:
                if note:
                    notes.append(note)
                if err:
                    notes.append("skipped " + err)
            bar.update(len(done))
    return out, arrays, ok


def _stack(files: Sequence[ChipFile], arrays: list[np.ndarray | None], keep: list[int]) -> np.ndarray:
    """Chips of their own sizes stacked into one array; chips of two sizes are refused, naming one."""
    shapes = {arrays[i].shape for i in keep}  # type: ignore[union-attr]
    if len(shapes) > 1:
        first = arrays[keep[0]].shape  # type: ignore[union-attr]
        odd = next(i for i in keep if arrays[i].shape != first)  # type: ignore[union-attr]
        raise DataError(
            f"{files[odd].path}: chip of {arrays[odd].shape[0]}x{arrays[odd].shape[1]} px differs from "  # type: ignore[union-attr]
            f"{first[0]}x{first[1]}; give a chip size to centre-crop / pad all chips to one size"
        )
    return np.stack([arrays[i] for i in keep])  # type: ignore[misc]


def _warn_report(source: str, report: Sequence[str], shown_converted: int = 10) -> None:
    """Warn of every skipped chip, and of the first ``shown_converted`` converted ones."""
    if report:
        skipped = [r for r in report if r.startswith("skipped")]
        converted = [r for r in report if not r.startswith("skipped")]
        lines = skipped + converted[:shown_converted]
        if len(converted) > shown_converted:
            lines.append(f"... and {len(converted) - shown_converted} more converted (see ChipSet.report)")
        head = f"{source}: {len(skipped)} chip(s) skipped, {len(converted)} converted:\n  "
        warnings.warn(head + "\n  ".join(lines), stacklevel=4)


# ---------------------------------------------------------------------------- layouts
class ReadOptions(TypedDict, total=False):
    """How every loader reads its chips (keyword arguments of ``load_folder``, ``load_mavoc``, ...).

    Attributes:
        fit: ``crop_or_pad`` (centre crop / zero pad to the chip size; never resize).
        colour, depth: ``convert`` colour or 16-bit chips to 8-bit greyscale, or refuse them.
        skip_bad: leave unreadable chips out (each one reported) instead of stopping at the first.
        cache: use the decode cache (``True``), not (``False``), or this cache folder.
        progress: show a progress bar.
    """

    fit: str
    colour: str
    depth: str
    skip_bad: bool
    cache: bool | str | os.PathLike
    progress: bool


def read_chips(files: Sequence[ChipFile], class_names: Sequence[str], size: int | tuple[int, int] | None, *,
               source: str, report: Sequence[str] = (), fit: str = "crop_or_pad", colour: str = "convert",
               depth: str = "convert", skip_bad: bool = False, cache: bool | str | os.PathLike = True,
               progress: bool = True) -> ChipSet:
    """Decode the chips a loader found (:func:`decode_files`), with the defaults of :class:`ReadOptions`."""
    options = DecodeOptions(size=size, fit=fit, colour=colour, depth=depth)  # type: ignore[arg-type]
    return decode_files(files, class_names, options, source=source, skip_bad=skip_bad, report=report, cache=cache,
                        progress=progress)
