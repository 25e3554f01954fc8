"""What happens when a run starts and when it ends: its figures and its TensorBoard logs."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ..eval.results import RunResults


def write_figures(run: Any, results: RunResults, formats: Sequence[str] | None = None) -> list[Path]:
    """The figures of a finished run in ``RUN_DIR/figures`` (rank 0 only), in ``formats`` (default: every format)."""
    if not run.dist.is_main:
        return []
    from ..report.figures import write_run_figures  # matplotlib and seaborn: seconds to import

    if formats is None:
        return write_run_figures(results, run.dir.metrics(), run.dir.figures)
    return write_run_figures(results, run.dir.metrics(), run.dir.figures, tuple(formats))


class TensorBoardHooks:
    """The ``start``/``done`` hooks that give each run of a sweep its TensorBoard logs (if its config asks)."""

    def __init__(self, settings: Sequence[bool | str]) -> None:
        self.logs: dict[int, Any] = {}
        if any(t is True for t in settings):
            from ..train.tensorboard import require_tensorboard

            require_tensorboard()  # before anything trains

    def start(self, run: Any) -> None:
        if run.cfg.tensorboard and run.dist.is_main:
            from ..report.run_logs import RunLogs

            logs = RunLogs.attach(run)
            if logs is not None:
                self.logs[id(run)] = logs

    def done(self, run: Any, results: RunResults) -> None:
        logs = self.logs.pop(id(run), None)
        if logs is not None:
            logs.finish(results)


class RunHooks:
    """The ``on_start``/``on_done`` pair a sweep calls for every run: TensorBoard logs, figures, then ``after``.

    ``figures``: write every run's figures (or a function of the run that says whether to).
    """

    def __init__(self, cfgs: Sequence[Any], *, figures: bool | Callable[[Any], bool] = True,
                 formats: Sequence[str] | None = None, before: Callable[[Any], None] | None = None,
                 after: Callable[[Any, RunResults], None] | None = None) -> None:
        self.tensorboard = TensorBoardHooks([c.tensorboard for c in cfgs])
        self.figures, self.formats, self.before, self.after = figures, formats, before, after

    def start(self, run: Any) -> None:
        self.tensorboard.start(run)
        if self.before is not None:
            self.before(run)

    def done(self, run: Any, results: RunResults) -> None:
        if self.figures(run) if callable(self.figures) else self.figures:
            write_figures(run, results, self.formats)
        self.tensorboard.done(run, results)
        if self.after is not None:
            self.after(run, results)
