"""Run under ``torchrun``: a three-stage run whose epochs are checked to cover every drawn chip exactly once.

The check is a test callback (not part of the training loop): at the end of every epoch it
gathers the positions every process trained on and compares them, as a multiset, with the
positions the stage's sampler drew for that epoch. One JSON line per epoch goes to ``OUT/coverage.jsonl``.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import torch

from sartail import Run, cli
from sartail import distributed as D
from sartail.data import stage_view
from sartail.train.callbacks import Callback
from sartail.train.loop import stream_seed
from sartail.train.samplers import EpochSampler


class CoverageCheck(Callback):
    def __init__(self, run: Run, out: Path) -> None:
        self.run, self.out, self.seen, self.stage, self.index = run, out, [], None, 0

    def on_stage_start(self, start):
        self.stage, self.index, self.seen = start.stage, start.index, []

    def on_step(self, step):
        self.seen.append(step.positions.clone())

    def on_epoch_end(self, record):
        info = D.from_env()
        mine = torch.cat(self.seen) if self.seen else torch.zeros(0, dtype=torch.int64)
        everyone = torch.cat(D.all_gather_objects(mine, info))
        view = stage_view(self.run.data.train, self.stage)
        labels = view.labels
        sampler = EpochSampler(self.stage.sampler, labels, view.num_classes, self.stage.epochs)
        epoch = record.epoch - 1
        expected = sampler.indices(epoch, torch.Generator().manual_seed(stream_seed(self.run.cfg.seed, self.index, epoch, 0)))
        want = torch.bincount(expected, minlength=len(labels))
        got = torch.bincount(everyone, minlength=len(labels))
        if info.is_main:
            with open(self.out / "coverage.jsonl", "a") as fh:
                fh.write(json.dumps({"stage": record.stage, "epoch": record.epoch, "train_seen": record.train_seen,
                                     "expected": int(expected.numel()), "seen": int(everyone.numel()),
                                     "missing": int((want - got).clamp_min(0).sum()),
                                     "extra": int((got - want).clamp_min(0).sum())}) + "\n")
        self.seen = []


def main(argv: list[str]) -> int:
    """``sartail run ARGV`` with :class:`CoverageCheck` added to every run's training (``--out`` gets the check's file)."""
    out = Path(argv[argv.index("--out") + 1])
    fit = Run.fit

    def checked_fit(self, until=None, callbacks=()):
        return fit(self, until, [*callbacks, CoverageCheck(self, out)])

    Run.fit = checked_fit
    return cli.main(["run", *argv])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
