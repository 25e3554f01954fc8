"""TensorBoard logs of a scored run: per-class test accuracy, confusion matrices, hyper-parameters.

:func:`write_test_results` writes, after the test set is scored (``Run.test()``), into the
run's ``tensorboard`` folder beside the training curves of
:class:`sartail.train.tensorboard.TensorBoardLogger`: ``test/top1``, ``test/balanced`` and
``test_per_class/<class>`` (step: the stage's number in the recipe, 1, 2, ...), a table of
per-class accuracy per stage (text ``test/per_class``), the confusion matrix of every stage
as an image (``confusion/<stage>``) and the run's hyper-parameters with its final test
accuracies (the HParams tab). Without the ``tensorboard`` package it raises a clear
:class:`~sartail.errors.ConfigError`.
"""
from __future__ import annotations

import io
import os
from collections.abc import Mapping
from typing import Any

from ..eval.results import RunResults
from ..run.run import Run
from ..train.tensorboard import (
    TensorBoardLogger,
    finite_number,
    is_main,
    log_dir,
    summary_writer,
    tensorboard_wanted,
    write_epoch_records,
)
from .figures import confusion_figure, figure_png


def _image(fig: Any) -> Any:
    """A figure as an ``HWC`` uint8 array (rendered in sartail's own style)."""
    import numpy as np
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(figure_png(fig, dpi=100))).convert("RGB"))


def flat_hparams(config: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """A nested config as ``{dotted.key: value}`` of the types TensorBoard's HParams accept.

    Stages are keyed by their name (``stages.rough.epochs``); other lists and ``None``
    become text.
    """
    out: dict[str, Any] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if key == "stages" and isinstance(value, list) and all(isinstance(s, Mapping) and "name" in s for s in value):
            for s in value:
                out.update(flat_hparams({k: v for k, v in s.items() if k not in ("name", "description")},
                                        f"{name}.{s['name']}."))
        elif isinstance(value, Mapping):
            out.update(flat_hparams(value, f"{name}."))
        elif isinstance(value, (bool, int, float, str)):
            out[name] = value
        else:
            out[name] = str(value)
    return out


def _per_class_table(results: RunResults) -> str:
    stages = list(results.stages)
    rows = ["| class | " + " | ".join(stages) + " |", "|---|" + "---|" * len(stages)]
    for c in results.class_names:
        cells = []
        for s in stages:
            acc = results.stages[s].per_class.get(c)
            cells.append("–" if acc is None else f"{100 * acc:.1f}")
        rows.append(f"| {c} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def write_test_results(logdir: str | os.PathLike, results: RunResults,
                       hparams: Mapping[str, Any] | None = None) -> None:
    """Write a scored run's test results (``Run.test()``, or ``RunDir.results()``) into ``logdir``.

    Per stage ``k`` (1, 2, ... in the recipe's order): ``test/top1``, ``test/balanced`` and
    ``test_per_class/<class>`` at step ``k`` (classes a stage removed have no point there),
    the image ``confusion/<stage>``, and a text table ``test/per_class``. With ``hparams``
    (e.g. ``run.cfg.to_dict()``), the flattened hyper-parameters and the final stage's
    ``hparams/test_top1`` and ``hparams/test_balanced`` for the HParams tab.
    """
    if not is_main():
        return
    writer = summary_writer(logdir)  # first: the clear error if tensorboard is missing
    from torch.utils.tensorboard.summary import hparams as hparams_summary

    try:
        classes = results.class_names
        for k, (stage, m) in enumerate(results.stages.items(), start=1):
            for key in ("top1", "balanced"):
                if finite_number(getattr(m, key)):
                    writer.add_scalar(f"test/{key}", float(getattr(m, key)), k)
            for name, acc in m.per_class.items():
                if acc is not None and finite_number(acc):
                    writer.add_scalar(f"test_per_class/{name}", float(acc), k)
            fig = confusion_figure(m.confusion, m.classes_seen or classes, synthetic=results.synthetic,
                                   all_classes=classes, title=f"Confusion matrix, stage {k}: {stage}")
            writer.add_image(f"confusion/{stage}", _image(fig), k, dataformats="HWC")
        writer.add_text("test/per_class", _per_class_table(results), 0)
        if hparams is not None and results.stages:
            final = results.final
            metrics = {f"hparams/test_{key}": float(getattr(final, key)) for key in ("top1", "balanced")
                       if finite_number(getattr(final, key))}
            for summary in hparams_summary(flat_hparams(hparams), metrics):
                writer.file_writer.add_summary(summary)
            for tag, value in metrics.items():
                writer.add_scalar(tag, value, 0)
    finally:
        writer.close()


wanted = tensorboard_wanted


class RunLogs:
    """TensorBoard logs of one :class:`~sartail.run.run.Run` (``sartail run``/``demo``, ``tensorboard: true``).

    The run itself trains with its per-epoch logger (:meth:`~sartail.run.run.Run.tensorboard_logger`);
    :meth:`finish` closes it, writes the epoch records of stages copied from another run (``--reuse``: the
    logger never saw them train) and the test results after scoring.
    """

    def __init__(self, run: Run) -> None:
        self.run = run
        logger = run.tensorboard_logger()  # the clear error if tensorboard is missing
        self.logger = logger if logger is not None else TensorBoardLogger(log_dir(run.dir.path))

    @classmethod
    def attach(cls, run: Run) -> RunLogs | None:
        """Logs for ``run`` if its config asks for them, else ``None``."""
        return cls(run) if wanted(run.cfg.tensorboard) else None

    def reused_stages(self) -> list[str]:
        """Stages this process copied from another run (their checkpoint says ``reused_from``)."""
        out = []
        for i, stage in enumerate(self.run.cfg.stages):
            path = self.run.dir.stage_checkpoint(i, stage.name)
            if stage.name not in self.logger.seen and path.exists() and self.run.dir.load(path).get("reused_from"):
                out.append(stage.name)
        return out

    def finish(self, results: RunResults) -> None:
        self.logger.close()
        logdir = log_dir(self.run.dir.path)
        reused = set(self.reused_stages())
        if reused:
            write_epoch_records(logdir, [r for r in self.run.dir.metrics() if r.get("stage") in reused])
        write_test_results(logdir, results, hparams=self.run.cfg.to_dict())


__all__ = ["RunLogs", "flat_hparams", "wanted", "write_test_results"]
