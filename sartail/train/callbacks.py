"""Hooks into the training loop, the stop flag a Stop button sets, and Ctrl-C as a clean stop."""
from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from typing import Any

from .events import EpochRecord, StageEnd, StageStart, StepEnd


class Callback:
    """Hooks into the loop that watch it (all optional); ``should_stop`` is polled before every step.

    A callback observes: it logs, draws or asks for a stop. What changes training (an average
    of the weights, a cap on the head) is a stage behaviour (:mod:`sartail.train.behaviours`).
    """

    def on_stage_start(self, start: StageStart) -> None: ...

    def on_step(self, step: StepEnd) -> None: ...

    def on_epoch_end(self, record: EpochRecord) -> None: ...

    def on_stage_end(self, end: StageEnd) -> None: ...

    def should_stop(self) -> bool:
        return False


class StopFlag(Callback):
    """A thread-safe stop request (the notebooks' Stop button sets it)."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def set(self) -> None:
        self._event.set()

    def clear(self) -> None:
        self._event.clear()

    def should_stop(self) -> bool:
        return self._event.is_set()


@contextmanager
def sigint_as_stop(flag: StopFlag):
    """Within the block, Ctrl-C (SIGINT) sets ``flag`` instead of raising at a random point.

    A second Ctrl-C raises :class:`KeyboardInterrupt` as usual. Outside the main thread
    (a notebook's background run) this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGINT)

    def handler(signum: int, frame: Any) -> None:
        if flag.should_stop():
            signal.signal(signal.SIGINT, previous)
            raise KeyboardInterrupt
        flag.set()

    signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
