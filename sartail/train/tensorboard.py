"""TensorBoard logs of a run while it trains (optional: ``pip install 'sartail[tensorboard]'``).

- :class:`TensorBoardLogger`, a training-loop callback, writes per-epoch scalars of every
  stage while it trains: ``<stage>/train_loss``, ``<stage>/train_acc``, ``<stage>/lr``,
  ``<stage>/val_top1``, ``<stage>/val_balanced``, ``<stage>/val_loss`` (step: the epoch
  within the stage), and ``<stage>/tau`` for a tau-normalised head.
- :func:`write_epoch_records` writes epoch records after the fact (e.g. ``metrics.jsonl``
  of a stage copied from another run, which the callback never saw).
- The test results (per-class accuracy, confusion matrices, hyper-parameters) are written
  after scoring by :func:`sartail.report.run_logs.write_test_results` (it draws figures,
  which the training layer does not).

Everything goes to ``<run>/tensorboard`` (:func:`log_dir`), so ``tensorboard --logdir runs``
shows every run in ``runs/``, side by side::

    tb = TensorBoardLogger(log_dir(run.dir.path))
    with tb:
        run.fit(callbacks=[tb])
    write_test_results(log_dir(run.dir.path), run.test(), hparams=run.cfg.to_dict())

Asking for TensorBoard without the ``tensorboard`` package installed raises a
:class:`~sartail.errors.ConfigError` that says how to install it. Under ``torchrun`` only
rank 0 writes.
"""
from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .callbacks import Callback
from .events import EpochRecord, StageEnd, StageStart

LOG_DIR = "tensorboard"
EPOCH_SCALARS = ("train_loss", "train_acc", "lr", "val_top1", "val_balanced", "val_loss")
INSTALL_HINT = "pip install 'sartail[tensorboard]' (or pip install tensorboard)"


def tensorboard_available() -> bool:
    """Whether the ``tensorboard`` package (and so PyTorch's writer) can be imported."""
    try:
        import torch.utils.tensorboard  # noqa: F401
    except ImportError:
        return False
    return True


def tensorboard_wanted(setting: bool | str) -> bool:
    """Whether a run's ``tensorboard`` setting turns logs on (``auto``: if the package is installed)."""
    return tensorboard_available() if setting == "auto" else bool(setting)


def require_tensorboard() -> None:
    """Raise a :class:`ConfigError` saying how to install tensorboard if it cannot be imported."""
    try:
        import torch.utils.tensorboard  # noqa: F401
    except ImportError as exc:
        raise ConfigError(f"TensorBoard logs were asked for, but the tensorboard package is not installed "
                          f"({exc}); install it with {INSTALL_HINT}, or run without TensorBoard") from None


def summary_writer(logdir: str | os.PathLike) -> Any:
    """A ``torch.utils.tensorboard.SummaryWriter`` on ``logdir`` (see :func:`require_tensorboard`)."""
    require_tensorboard()
    from torch.utils.tensorboard import SummaryWriter

    return SummaryWriter(log_dir=str(logdir), flush_secs=30)


def log_dir(run_dir: str | os.PathLike) -> Path:
    """Where a run's TensorBoard events go: ``<run_dir>/tensorboard``."""
    return Path(run_dir) / LOG_DIR


def is_main() -> bool:
    """Whether this process writes (rank 0 of a ``torchrun`` job, or not under one)."""
    from ..distributed import from_env

    return from_env().is_main


# ------------------------------------------------------------------------------ while training
def finite_number(value: Any) -> bool:
    """Whether ``value`` is a finite int or float (not a bool, None, NaN or inf): what a scalar plot can show."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _write_epoch(writer: Any, record: Mapping[str, Any]) -> None:
    stage, epoch = record["stage"], int(record["epoch"])
    for key in EPOCH_SCALARS:
        if finite_number(record.get(key)):
            writer.add_scalar(f"{stage}/{key}", float(record[key]), epoch)
    if finite_number(record.get("tau")):
        writer.add_scalar(f"{stage}/tau", float(record["tau"]), epoch)


class TensorBoardLogger(Callback):
    """Per-epoch scalars of every stage into ``logdir`` (a callback of :meth:`sartail.run.run.Run.fit`).

    The writer opens at the first stage and is flushed after every epoch, so a running
    ``tensorboard --logdir runs`` follows the training live. :meth:`close` (or a ``with``
    block) closes it. Raises :class:`ConfigError` at once if tensorboard is not installed.
    """

    def __init__(self, logdir: str | os.PathLike) -> None:
        require_tensorboard()
        self.logdir = Path(logdir)
        self._writer: Any = None
        self._main = is_main()
        self.seen: set[str] = set()  #: the stages it saw train

    @property
    def writer(self) -> Any:
        if self._writer is None:
            self._writer = summary_writer(self.logdir)
        return self._writer

    def on_stage_start(self, start: StageStart) -> None:
        self.seen.add(start.stage.name)
        if self._main:
            stage = start.stage
            self.writer.add_text(f"{stage.name}/stage", f"{stage.description or stage.name}: {start.epochs} epochs "
                                 f"of {start.steps_per_epoch} steps on {start.chips:,} chips of "
                                 f"{len(start.classes)} classes", start.start_epoch)

    def on_epoch_end(self, record: EpochRecord) -> None:
        if self._main:
            _write_epoch(self.writer, record.as_dict())
            self.writer.flush()

    def on_stage_end(self, end: StageEnd) -> None:
        if self._main and end.result.tau is not None:
            self.writer.add_scalar(f"{end.stage.name}/tau", float(end.result.tau), int(end.stage.epochs))
        if self._writer is not None:
            self._writer.flush()

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def __enter__(self) -> TensorBoardLogger:  # noqa: PYI034 - Self needs Python 3.11
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def write_epoch_records(logdir: str | os.PathLike, records: Iterable[Mapping[str, Any]]) -> int:
    """Write epoch records (lines of ``metrics.jsonl``) as the logger would; returns how many were written."""
    if not is_main():
        return 0
    writer = summary_writer(logdir)
    n = 0
    try:
        for record in records:
            if "stage" in record and "epoch" in record:
                _write_epoch(writer, record)
                n += 1
    finally:
        writer.close()
    return n


__all__ = ["INSTALL_HINT", "LOG_DIR", "TensorBoardLogger", "finite_number", "is_main", "log_dir",
           "require_tensorboard", "summary_writer", "tensorboard_wanted",
           "tensorboard_available", "write_epoch_records"]
