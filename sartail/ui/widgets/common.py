"""What the widgets share: figure rendering into an ``Image``, status notes, listeners, a lock per run."""
from __future__ import annotations

import threading
import weakref
from typing import Any

import ipywidgets as W

from ...report import figures as plots

PNG_DPI = 100  # screen pixels per inch of the figures in widgets


_RUN_LOCKS: weakref.WeakKeyDictionary[Any, threading.Lock] = weakref.WeakKeyDictionary()


_RUN_LOCKS_GUARD = threading.Lock()


def _run_lock(run: Any) -> threading.Lock:
    with _RUN_LOCKS_GUARD:
        lock = _RUN_LOCKS.get(run)
        if lock is None:
            lock = _RUN_LOCKS[run] = threading.Lock()
        return lock


def _show(image: W.Image, fig: Any) -> None:
    """Render ``fig`` into ``image`` at twice the screen resolution, shown at its natural size (sharp on HiDPI)."""
    png = plots.figure_png(fig, dpi=2 * PNG_DPI)
    width = int.from_bytes(png[16:20], "big") // 2  # from the PNG header
    image.value = png
    image.layout.width = f"{width}px"


def _note(text: str, kind: str = "info") -> str:
    colour = {"info": "#333", "ok": "#1a7f37", "warn": "#9a6700", "error": "#b42318"}[kind]
    return f"<div class='sartail-{kind}' style='color:{colour};line-height:1.35'>{text}</div>"
