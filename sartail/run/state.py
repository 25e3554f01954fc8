"""What a run's stages are doing, and the decisions on them: done, in progress, restart, changed settings.

A :class:`~sartail.run.run.Run` holds one :class:`StageState` as ``run.state``; the widgets
only ask it and show the answer.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..config import RunConfig, stage_settings
from ..errors import RunError
from .rundir import LAST, RESULTS

#: What :meth:`StageState.stage_status` can answer.
STATUSES = ("trained", "stopped", "stopped-changed", "changed", "todo")


class StageState:
    """The stage bookkeeping of one run: which stages are done, and what a change of settings means for them."""

    def __init__(self, run: Any) -> None:
        self.run = run  # the Run whose folder, config, model and results this reads and resets

    @property
    def cfg(self) -> RunConfig:
        return self.run.cfg

    def completed(self) -> int:
        """How many stages have finished (their checkpoints exist, in order)."""
        n = 0
        for i, stage in enumerate(self.cfg.stages):
            if not self.run.dir.stage_checkpoint(i, stage.name).exists():
                break
            n += 1
        return n

    def in_progress(self) -> bool:
        """Whether the stage after the finished ones has started (a mid-stage checkpoint exists)."""
        return self.completed() < len(self.cfg.stages) and (self.run.dir.checkpoints / LAST).exists()

    def started(self, name: str) -> bool:
        """Whether stage ``name`` has finished or started."""
        idx, done = self.cfg.stage_index(name), self.completed()
        return idx < done or (idx == done and self.in_progress())

    def forget_from(self, keep: int) -> None:
        """Delete the checkpoints, metrics and results of every stage from index ``keep`` on."""
        run = self.run
        with run.writing("discard stages of"):
            lines = run.dir.load(run.dir.stage_checkpoint(keep - 1, self.cfg.stages[keep - 1].name))["metrics_lines"] \
                if keep else 0
            for i in range(keep, len(self.cfg.stages)):
                run.dir.stage_checkpoint(i, self.cfg.stages[i].name).unlink(missing_ok=True)
            (run.dir.checkpoints / LAST).unlink(missing_ok=True)
            (run.dir.path / RESULTS).unlink(missing_ok=True)
            run.dir.truncate_metrics(lines)
            run.model = None
            kept = [s.name for s in self.cfg.stages[:keep]]
            run.results = {k: v for k, v in run.results.items() if k in kept}

    def reset_to(self, name: str) -> None:
        """Forget every stage after ``name`` (their checkpoints and metrics), to train them anew."""
        keep = self.cfg.stage_index(name) + 1
        if keep > self.completed():
            raise RunError(f"stage {name!r} has not finished yet")
        self.forget_from(keep)

    def restart(self, name: str) -> list[str]:
        """Forget stage ``name`` and every later stage, to train them anew; earlier stages are kept.

        Returns the names of the finished or started stages discarded.
        """
        names = [s.name for s in self.cfg.stages]
        idx, done = self.cfg.stage_index(name), self.completed()
        lost = names[idx:done] + ([names[done]] if self.in_progress() and done >= idx else [])
        if idx == 0 or done >= idx:
            self.forget_from(idx)
        return lost

    def changed_config(self, name: str, changes: Mapping[str, Any]) -> RunConfig:
        """The config with dotted ``changes`` made to stage ``name`` (validated, not applied)."""
        return self.cfg.with_stage(name, **changes)

    def same_settings(self, name: str, changes: Mapping[str, Any]) -> bool:
        """Whether ``changes`` leave every setting with effect of stage ``name`` as it is."""
        return stage_settings(self.changed_config(name, changes), name) == stage_settings(self.cfg, name)

    def stage_status(self, name: str, changes: Mapping[str, Any]) -> str:
        """What training stage ``name`` with ``changes`` would do (one of :data:`STATUSES`).

        ``trained``: done with these settings; ``stopped``: stopped part way with them (training
        goes on); ``stopped-changed``: stopped part way with other settings (it starts again);
        ``changed``: done with other settings (trained again, later stages discarded); ``todo``:
        not trained yet. Invalid changes raise a :class:`~sartail.errors.ConfigError`.
        """
        same = self.same_settings(name, changes)
        idx, done = self.cfg.stage_index(name), self.completed()
        if done > idx:
            return "trained" if same else "changed"
        if done == idx and self.in_progress():
            return "stopped" if same else "stopped-changed"
        return "todo"

    def apply_stage_changes(self, name: str, changes: Mapping[str, Any]) -> str:
        """Make stage ``name`` follow ``changes``; returns what has to happen.

        ``"trained"``: the stage is done with exactly these settings; ``"resume"``: it is part way
        through (or not started) with them; ``"changed"``: the settings changed, so the stage and
        the later ones were discarded and the stage reconfigured.
        """
        if self.same_settings(name, changes):
            return "trained" if self.completed() > self.cfg.stage_index(name) else "resume"
        if self.started(name):
            self.restart(name)
        self.run.update_stage(name, **dict(changes))
        return "changed"
