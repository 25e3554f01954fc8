"""What a run's stages are doing, and the decisions on them: done, in progress, restart, changed settings.

:class:`StageState` is part of :class:`sartail.run.run.Run`; the widgets only ask it and
show the answer.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ..config import RunConfig, apply_overrides, config_from_dict
from ..errors import RunError
from .rundir import LAST, RESULTS

if TYPE_CHECKING:
    from .rundir import RunDir

#: What :meth:`StageState.stage_status` can answer.
STATUSES = ("trained", "stopped", "stopped-changed", "changed", "todo")


def stage_settings(cfg: RunConfig, name: str) -> dict[str, Any]:
    """A stage of ``cfg`` as a plain dict, without its description."""
    d = next(s for s in cfg.to_dict()["stages"] if s["name"] == name)
    d.pop("description", None)
    return d


class StageState:
    """The stage bookkeeping of a run (mixed into :class:`~sartail.run.run.Run`)."""

    cfg: RunConfig
    dir: RunDir
    model: Any
    results: dict[str, Any]
    update_stage: Callable[..., None]  # Run.update_stage: changes a stage that has not started
    writing: Callable[..., Any]  # Run.writing: the folder's writer lock

    def index(self, name: str) -> int:
        """The position of stage ``name`` (a :class:`~sartail.errors.ConfigError` names the stages if unknown)."""
        return [s.name for s in self.cfg.stages].index(self.cfg.stage(name).name)

    def completed(self) -> int:
        """How many stages have finished (their checkpoints exist, in order)."""
        n = 0
        for i, stage in enumerate(self.cfg.stages):
            if not self.dir.stage_checkpoint(i, stage.name).exists():
                break
            n += 1
        return n

    def in_progress(self) -> bool:
        """Whether the stage after the finished ones has started (a mid-stage checkpoint exists)."""
        return self.completed() < len(self.cfg.stages) and (self.dir.checkpoints / LAST).exists()

    def started(self, name: str) -> bool:
        """Whether stage ``name`` has finished or started."""
        idx, done = self.index(name), self.completed()
        return idx < done or (idx == done and self.in_progress())

    def _forget_from(self, keep: int) -> None:
        """Delete the checkpoints, metrics and results of every stage from index ``keep`` on."""
        with self.writing("discard stages of"):
            self._forget(keep)

    def _forget(self, keep: int) -> None:
        lines = self.dir.load(self.dir.stage_checkpoint(keep - 1, self.cfg.stages[keep - 1].name))["metrics_lines"] \
            if keep else 0
        for i in range(keep, len(self.cfg.stages)):
            self.dir.stage_checkpoint(i, self.cfg.stages[i].name).unlink(missing_ok=True)
        (self.dir.checkpoints / LAST).unlink(missing_ok=True)
        (self.dir.path / RESULTS).unlink(missing_ok=True)
        self.dir.truncate_metrics(lines)
        self.model = None
        kept = [s.name for s in self.cfg.stages[:keep]]
        self.results = {k: v for k, v in self.results.items() if k in kept}

    def reset_to(self, name: str) -> None:
        """Forget every stage after ``name`` (their checkpoints and metrics), to train them anew."""
        keep = self.index(name) + 1
        if keep > self.completed():
            raise RunError(f"stage {name!r} has not finished yet")
        self._forget_from(keep)

    def restart(self, name: str) -> list[str]:
        """Forget stage ``name`` and every later stage, to train them anew; earlier stages are kept.

        Returns the names of the finished or started stages discarded.
        """
        names = [s.name for s in self.cfg.stages]
        idx, done = self.index(name), self.completed()
        lost = names[idx:done] + ([names[done]] if self.in_progress() and done >= idx else [])
        if idx == 0 or done >= idx:
            self._forget_from(idx)
        return lost

    def changed_config(self, name: str, changes: Mapping[str, Any]) -> RunConfig:
        """The config with dotted ``changes`` applied to stage ``name`` (validated, not applied)."""
        return config_from_dict(apply_overrides(self.cfg.to_dict(),
                                                {f"stages.{name}.{k}": v for k, v in changes.items()}))

    def _same_settings(self, name: str, changes: Mapping[str, Any]) -> bool:
        return stage_settings(self.changed_config(name, changes), name) == stage_settings(self.cfg, name)

    def stage_status(self, name: str, changes: Mapping[str, Any]) -> str:
        """What training stage ``name`` with ``changes`` would do (one of :data:`STATUSES`).

        ``trained``: done with these settings; ``stopped``: stopped part way with them (training
        goes on); ``stopped-changed``: stopped part way with other settings (it starts again);
        ``changed``: done with other settings (trained again, later stages discarded); ``todo``:
        not trained yet. Invalid changes raise a :class:`~sartail.errors.ConfigError`.
        """
        same = self._same_settings(name, changes)
        idx, done = self.index(name), self.completed()
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
        if self._same_settings(name, changes):
            return "trained" if self.completed() > self.index(name) else "resume"
        if self.started(name):
            self.restart(name)
        self.update_stage(name, **dict(changes))
        return "changed"
