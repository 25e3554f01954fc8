"""A decode cache for chip folders.

Decoding 300k small PNGs takes minutes; the decoded ``uint8`` tensor loads in seconds.
The cache key hashes every source file's path, id, size and modification time together with
the decode options and the kit's cache format, so a changed, added or removed file (or another
chip size) makes a new entry; the entry it supersedes (same folders and options) is deleted,
so the folder does not grow with every edit. Entries are written atomically, carry a CRC-32
of their contents (a damaged entry is ignored with a warning and decoded afresh) and are
memory-mapped on load.

Generated chips (the synthetic default) are cached the same way by :func:`generated`: keyed by
the generator's name and options, the source code of the generator's modules and the torch
version, so a changed renderer makes (and supersedes) a new entry.

The folder is ``$SARTAIL_CACHE_DIR`` if set, else ``~/.cache/sartail``.
"""
from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import warnings
import zlib
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from ..atomic import leftover_temp_files, save_torch
from .chipset import ChipSet, GeneratedIds

if TYPE_CHECKING:
    from .decode import DecodeOptions
    from .loaders import ChipFile

FORMAT = 3


def default_dir() -> Path:
    """``$SARTAIL_CACHE_DIR``, else ``$XDG_CACHE_HOME/sartail`` (``~/.cache/sartail``)."""
    env = os.environ.get("SARTAIL_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")).expanduser() / "sartail"


def resolve_dir(cache: bool | str | os.PathLike) -> Path | None:
    """``True`` -> the default folder, ``False`` -> no cache, a path -> that folder."""
    if cache is False or cache is None:
        return None
    return default_dir() if cache is True else Path(cache).expanduser()


def cache_key(files: Sequence[ChipFile], class_names: Sequence[str], options: DecodeOptions, skip_bad: bool) -> str:
    """``<group>-<content>``: hashes of what is asked and of what the files are now.

    ``group`` hashes the (absolute) folders read, class names and decode options; ``content``
    adds every file's id (path relative to the root), label, size and modification time. A
    changed, added or removed file changes ``content`` only, so the new entry replaces the
    stale one of its group (see :func:`save`).
    """
    head = {"format": FORMAT, "classes": list(class_names), "options": dataclasses.asdict(options), "skip_bad": skip_bad}
    # the absolute folders go into the group; per file its id (relative path), label, size and
    # time suffice. Per-file string work dominates a cached load of 300k chips: keep it small.
    folders: dict[str, str] = {}
    lines = []
    stat = os.stat
    for f in files:
        path = str(f.path)
        folder, sep, _ = path.rpartition(os.sep)
        if folder not in folders:
            folders[folder] = os.path.abspath(folder + sep) if sep else os.getcwd()
        st = stat(path)
        lines.append(f"{f.id}\0{f.label}\0{st.st_size}\0{st.st_mtime_ns}")
    group = hashlib.sha256(json.dumps(head, sort_keys=True).encode())
    for folder in sorted(set(folders.values())):
        group.update(f"{folder}\n".encode())
    h = hashlib.sha256(group.digest())
    h.update("\n".join(lines).encode())
    return f"{group.hexdigest()[:16]}-{h.hexdigest()[:32]}"


def _path(cache_dir: Path, key: str) -> Path:
    return cache_dir / f"chips-{key}.pt"


def _stale(cache_dir: Path, key: str) -> list[Path]:
    """Other entries of ``key``'s group: the same folders and options before a file changed."""
    group, sep, _ = key.partition("-")
    if not sep:
        return []
    keep = _path(cache_dir, key).name
    return [p for p in cache_dir.glob(f"chips-{group}-*.pt") if p.name != keep]


def load(cache_dir: Path, key: str, source: str) -> ChipSet | None:
    """The cached chip set for ``key``, or ``None``; an unreadable entry is ignored (and warned of)."""
    path = _path(cache_dir, key)
    if not path.exists():
        return None
    try:
        d: dict[str, Any] = torch.load(path, mmap=True, weights_only=True)
        if _checksum(d["images"], d["labels"], d["ids"]) != d["crc32"]:
            raise ValueError("checksum mismatch: the entry is damaged")
        ids = GeneratedIds(d["id_prefix"], d["labels"]) if d.get("id_prefix") else _split(d["ids"])
        chips = ChipSet.from_tensors(d["images"], d["labels"], d["class_names"], ids, source=d.get("source") or source,
                                     synthetic=bool(d.get("synthetic", False)), report=_split(d["report"]))
    except Exception as exc:  # a damaged cache entry must never stop a load: decode again
        warnings.warn(f"ignoring unreadable cache entry {path} ({exc}); decoding again", stacklevel=2)
        return None
    return chips


def _checksum(images: torch.Tensor, labels: torch.Tensor, ids: str) -> int:
    """CRC-32 of the pixels, labels and ids (about 3 GB/s: 0.3 s for MAVOC's 294k chips)."""
    crc = zlib.crc32(memoryview(images.contiguous().numpy()).cast("B"))  # type: ignore[arg-type]  # stubs narrower than the values used
    crc = zlib.crc32(memoryview(labels.contiguous().numpy()).cast("B"), crc)  # type: ignore[arg-type]  # stubs narrower than the values used
    return zlib.crc32(ids.encode("utf-8", "surrogateescape"), crc)


def _join(items: Sequence[str]) -> str:
    """NUL-separated (a NUL cannot occur in a file name)."""
    return "\0".join(items)


def _split(text: str) -> list[str]:
    if not isinstance(text, str):
        raise TypeError(f"expected a string, got {type(text).__name__}")
    return text.split("\0") if text else []


def save(cache_dir: Path, key: str, chips: ChipSet) -> Path:
    """Write ``chips`` under ``key`` (atomically) and drop the stale entries of its group.

    A failure to write only warns.
    """
    path = _path(cache_dir, key)
    whole = len(chips) == chips.images.shape[0] and torch.equal(chips.rows, torch.arange(len(chips)))
    images = chips.images if whole else chips.pixels()  # no copy of a freshly decoded set
    lazy = whole and isinstance(chips.ids, GeneratedIds)
    # one string: unpickling 300k small strings (weights_only) takes seconds; generated ids are made again
    ids = "" if lazy else _join(chips.chip_ids)
    payload = {
        "images": images,
        "labels": chips.labels,
        "class_names": list(chips.class_names),
        "ids": ids,
        "report": _join(chips.report),
        "crc32": _checksum(images, chips.labels, ids),  # a flipped bit is noticed, not read back
        "source": chips.source,
        "synthetic": chips.synthetic,
        "id_prefix": chips.ids.prefix if lazy else "",  # type: ignore[attr-defined]  # GeneratedIds when lazy
    }
    try:
        save_torch(path, payload)
    except OSError as exc:
        warnings.warn(f"could not write the decode cache {path} ({exc}); the chips were loaded all the same",
                      stacklevel=2)
        return path
    # the entries this one supersedes, and temporary files a killed write of this group left (10 min old)
    group = key.partition("-")[0]
    for old in _stale(cache_dir, key) + leftover_temp_files(cache_dir, f"chips-{group}-*", min_age_s=600):
        with contextlib.suppress(OSError):
            old.unlink()
    return path


def generated_key(name: str, options: Mapping[str, Any], code: Sequence[str | os.PathLike], part: int = 0) -> str:
    """``<group>-<content>`` of generated chips: ``group`` hashes ``name``, ``options`` and ``part``;
    ``content`` adds the bytes of the ``code`` files and the torch version (what makes the pixels)."""
    head = {"format": FORMAT, "generator": name, "options": options, "part": part}
    group = hashlib.sha256(json.dumps(head, sort_keys=True, default=str).encode())
    h = hashlib.sha256(group.digest())
    h.update(torch.__version__.encode())
    for path in code:
        h.update(Path(path).read_bytes())
    return f"gen{group.hexdigest()[:13]}-{h.hexdigest()[:32]}"


def generated(make: Callable[[], Sequence[ChipSet]], name: str, options: Mapping[str, Any],
              code: Sequence[str | os.PathLike], *, parts: int, cache: bool | str | os.PathLike = True) -> list[ChipSet]:
    """The ``parts`` chip sets ``make()`` returns, from the cache when they were made before.

    ``make`` must be deterministic in ``options`` (a seeded generator); ``code`` lists the
    source files whose contents decide its output (a change there makes the chips anew and
    drops the entries they supersede). ``cache=False`` just calls ``make``.
    """
    cache_dir = resolve_dir(cache)
    if cache_dir is None:
        return list(make())
    keys = [generated_key(name, options, code, i) for i in range(parts)]
    hits = [load(cache_dir, k, name) for k in keys]
    if all(h is not None for h in hits):
        return [h for h in hits if h is not None]
    made = list(make())
    if len(made) != parts:
        raise ValueError(f"{name} made {len(made)} chip sets, expected {parts}")
    for key, chips in zip(keys, made):
        save(cache_dir, key, chips)
    return made
