"""Small settings shared by the tests that train runs (a few seconds on two CPU cores), and the
reporting of the reliability counts that RELIABILITY.md quotes."""
import json
import os
from pathlib import Path

from sartail.train.callbacks import Callback

#: No budget floor: tests train the epochs they name (the floor has its own tests, test_budget.py).
NO_FLOOR = {"budget.min_samples": 0, "budget.head_min_samples": 0}
#: The same as ``--set`` arguments of the CLI.
NO_FLOOR_CLI = [a for k, v in NO_FLOOR.items() for a in ("--set", f"{k}={v}")]

TINY = {
    "data.scale": 0.004,
    "data.test_per_class": 10,
    "model.width": 4,
    "stages.*.epochs": 1,
    **NO_FLOOR,
    "batch_size": 64,
    "device": "cpu",
}


class Recorder(Callback):
    """Records every step's positions and every epoch record, per stage."""

    def __init__(self, stop_at=None):
        self.steps = []
        self.records = []
        self.stop_at = stop_at  # (stage, epoch, step) at which to ask for a stop
        self._stop = False

    def on_step(self, step):
        self.steps.append((step.stage, step.epoch, step.step, step.positions.clone()))
        if self.stop_at and (step.stage, step.epoch, step.step) == self.stop_at:
            self._stop = True

    def on_epoch_end(self, record):
        self.records.append(record)

    def should_stop(self):
        return self._stop


def report_reliability_counts(module: str, summary: dict) -> None:
    """Print ``RELIABILITY <module> {...}`` and merge it into ``$SARTAIL_RELIABILITY_COUNTS`` if set."""
    print(f"\nRELIABILITY {module} " + json.dumps(summary))
    out = os.environ.get("SARTAIL_RELIABILITY_COUNTS")
    if out:
        path = Path(out)
        data = json.loads(path.read_text()) if path.exists() else {}
        data[module] = summary
        path.write_text(json.dumps(data, indent=2) + "\n")


def stopped_and_resumed(tmp_path: Path, recipe: str, over: dict, stop_at: tuple[str, int, int]):
    """An uninterrupted run of ``recipe`` and one stopped at ``stop_at`` (stage, epoch, step), then
    resumed to its end: ``(reference, resumed)``, both fitted, for bit-for-bit comparisons."""
    import pytest

    from sartail import Run
    from sartail.config import load_config
    from sartail.errors import StopRequested

    ref = Run.create(load_config(recipe, over), tmp_path / "ref", progress=False)
    ref.fit()
    cut = Run.create(load_config(recipe, over), tmp_path / "cut", progress=False, callbacks=[Recorder(stop_at)])
    with pytest.raises(StopRequested):
        cut.fit()
    again = Run.resume(tmp_path / "cut", progress=False)
    again.fit()
    return ref, again
