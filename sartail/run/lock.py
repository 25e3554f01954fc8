"""One writer per run folder: an exclusive lock held while a run trains or tests.

The lock is ``<run>/.sartail.lock``, taken with ``flock`` (``fcntl``, no extra package). The
holder writes who it is into the file (pid, host, thread, since when, command), so a second
writer fails at once with :class:`~sartail.errors.RunLockedError` naming the holder. Readers
(figures, ``compare``, ``eval`` of a finished run) never take it.

The operating system drops a ``flock`` when its process ends, however it ends: a lock left by a
killed process is therefore free; the next writer takes it over and records the dead holder in
:attr:`RunLock.took_over`. ``flock`` locks belong to an open file, so two threads of one process
(a notebook's background run and its kernel) exclude one another too.
"""
from __future__ import annotations

import contextlib
import json
import os
import socket
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import RunError, RunLockedError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no lock (documented in RELIABILITY.md)
    fcntl = None  # type: ignore[assignment]

LOCK = ".sartail.lock"


def holder_text(info: dict[str, Any]) -> str:
    """``pid 12 on host h (thread t) since 2026-12-01T11:00:00+0000: sartail run ...``"""
    thread = f" (thread {info['thread']})" if info.get("thread") not in (None, "MainThread") else ""
    command = f": {info['command']}" if info.get("command") else ""
    return f"pid {info.get('pid')} on host {info.get('host')}{thread} since {info.get('since')}{command}"


def _read(fd: int) -> dict[str, Any]:
    os.lseek(fd, 0, os.SEEK_SET)
    data = os.read(fd, 65536)
    try:
        info = json.loads(data.decode("utf-8")) if data.strip() else {}
    except (UnicodeDecodeError, json.JSONDecodeError):
        return {"pid": "?", "host": "?", "since": "?"}
    return info if isinstance(info, dict) else {}


class RunLock:
    """The writer's lock of one run folder; reentrant within one holder (``with lock: ...``)."""

    def __init__(self, folder: str | os.PathLike) -> None:
        self.folder = Path(folder)
        self.path = self.folder / LOCK
        self._fd: int | None = None
        self._depth = 0
        self._owner: int | None = None
        #: the holder info a killed process left in the lock file, when this lock took it over
        self.took_over: dict[str, Any] | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def holder(self) -> dict[str, Any] | None:
        """Who holds the lock now (``None`` if nobody does); does not take it."""
        if fcntl is None or not self.path.exists():
            return None
        fd = os.open(self.path, os.O_RDONLY)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return _read(fd)
            fcntl.flock(fd, fcntl.LOCK_UN)
            return None
        finally:
            os.close(fd)

    def acquire(self, doing: str = "write to") -> None:
        """Take the lock, or raise :class:`RunLockedError` at once naming its holder."""
        if self._fd is not None:
            if self._owner != threading.get_ident():  # this object, held by another thread (a panel's run)
                raise RunLockedError(self._locked(doing, _read(self._fd)))
            self._depth += 1
            return
        if fcntl is None:  # pragma: no cover
            self._depth = 1
            return
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError as exc:
            raise RunError(f"cannot {doing} {self.folder}: cannot create its lock file {self.path} "
                           f"({exc.strerror or exc})") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            info = _read(fd)
            os.close(fd)
            raise RunLockedError(self._locked(doing, info)) from None
        previous = _read(fd)
        self.took_over = previous or None  # a holder that ended without releasing (killed)
        mine = {"pid": os.getpid(), "host": socket.gethostname(), "thread": threading.current_thread().name,
                "since": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "command": " ".join(sys.argv)[:300]}
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, (json.dumps(mine) + "\n").encode("utf-8"))
        self._fd, self._depth, self._owner = fd, 1, threading.get_ident()

    def _locked(self, doing: str, info: dict[str, Any]) -> str:
        return (f"cannot {doing} {self.folder}: another sartail is writing it ({holder_text(info)}). Wait for it to "
                "finish or stop it (Ctrl-C, or the Stop button of its notebook), or use another folder (--out). "
                "Reading the folder (figures, compare, eval of a finished run) needs no lock")

    def release(self) -> None:
        """Give the lock back (the file is emptied: a non-empty unlocked file marks a killed holder)."""
        if self._depth > 1:
            self._depth -= 1
            return
        fd, self._fd, self._depth = self._fd, None, 0
        if fd is None:
            return
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)

    @contextlib.contextmanager
    def hold(self, doing: str = "write to") -> Iterator[RunLock]:
        self.acquire(doing)
        try:
            yield self
        finally:
            self.release()

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


__all__ = ["LOCK", "RunLock", "holder_text"]
