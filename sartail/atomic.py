"""Atomic file writing: a file is either its old content or its complete new content.

Everything sartail writes (caches, checkpoints, configs, metrics, predictions) goes through
these helpers: the data is written to a temporary file in the same folder, flushed to disk,
and renamed over the target. A crash or a full disk leaves the previous file untouched.
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import yaml


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "wb") -> Iterator[IO]:
    """Open a temporary sibling of ``path`` for writing; rename it over ``path`` on success.

    On any exception the temporary file is removed and ``path`` is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, mode) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def leftover_temp_files(folder: str | os.PathLike, name_glob: str = "*", *, recursive: bool = False,
                        min_age_s: float = 0.0) -> list[Path]:
    """The temporary files that :func:`atomic_open` left in ``folder`` when its process was killed.

    They are named ``.<target name>.<8 random characters>.tmp``; ``name_glob`` matches the target
    name. Only files older than ``min_age_s`` are listed (a younger one may belong to a write in
    progress in another process).
    """
    now = time.time()
    folder = Path(folder)
    found = folder.rglob(f".{name_glob}.tmp") if recursive else folder.glob(f".{name_glob}.tmp")
    out = []
    for p in sorted(found):
        with contextlib.suppress(OSError):
            if _TEMP_NAME.fullmatch(p.name) and p.is_file() and (min_age_s <= 0 or now - p.stat().st_mtime > min_age_s):
                out.append(p)
    return out


#: the name ``tempfile.mkstemp`` gives the temporary file of :func:`atomic_open`
_TEMP_NAME = re.compile(r"\..+\.[a-z0-9_]{8}\.tmp")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Atomically write ``data`` to ``path``."""
    with atomic_open(path, "wb") as fh:
        fh.write(data)


def write_text(path: str | os.PathLike, text: str) -> None:
    """Atomically write ``text`` (UTF-8) to ``path``."""
    write_bytes(path, text.encode("utf-8"))


def write_json(path: str | os.PathLike, obj: Any) -> None:
    """Atomically write ``obj`` as indented JSON."""
    write_text(path, json.dumps(obj, indent=2, sort_keys=False, default=jsonable) + "\n")


def write_yaml(path: str | os.PathLike, obj: Any) -> None:
    """Atomically write ``obj`` as YAML (keys in insertion order)."""
    write_text(path, yaml.safe_dump(obj, sort_keys=False))


def save_torch(path: str | os.PathLike, obj: Any) -> None:
    """Atomically save ``obj`` with ``torch.save``.

    A failed write (a full disk, a file-size limit) raises its ``OSError``, not the bare
    ``RuntimeError`` that ``torch.save`` turns it into.
    """
    import torch

    with atomic_open(path, "wb") as fh:
        out = _KeepWriteError(fh)
        try:
            torch.save(obj, out)
        except Exception:
            if out.error is not None:
                raise out.error from None
            raise


class _KeepWriteError:
    """A file wrapper that remembers the ``OSError`` its ``write`` raised (torch.save hides it)."""

    def __init__(self, fh: IO) -> None:
        self._fh = fh
        self.error: OSError | None = None

    def write(self, data: Any) -> int:
        try:
            return self._fh.write(data)
        except OSError as exc:
            self.error = exc
            raise

    def __getattr__(self, name: str) -> Any:
        return getattr(self._fh, name)


def jsonable(obj: Any) -> Any:
    """JSON fallback for numpy / torch scalars and arrays."""
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"cannot write {type(obj).__name__} as JSON")
