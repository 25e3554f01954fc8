"""Runs: data splits, the stages of a recipe in order, checkpoints, resume and the test score.

>>> from sartail import load_config, Run
>>> cfg = load_config("three_stage", {"stages.*.epochs": 1})       # doctest: +SKIP
>>> run = Run.create(cfg, "runs/example")                           # doctest: +SKIP
>>> results = run.fit_and_test()                                    # doctest: +SKIP

A :class:`Run` trains its stages one after the other through :func:`sartail.train.loop.fit_stage`, each with
its kind (``StageConfig.kind``). Before each stage the head is given the stage's classes (rows handed over in
order, see :func:`~sartail.train.heads.set_head_classes`). After each stage a checkpoint is written; during a
stage, ``last.pt`` holds the loop's state, so a killed run resumes where it was. The test set is scored once,
after the last stage, for every stage's model but a self-supervised stage's (its head is untrained).
"""
from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from .. import distributed as D
from ..config import RunConfig
from ..data.chipset import ChipSet
from ..data.splits import Splits, prepare_data, pretrain_chips, stage_view
from ..errors import RunError, StopRequested
from ..eval.results import RunResults, StageMetrics
from ..eval.score import score
from ..models import Classifier, build_model
from ..train.callbacks import Callback, StopFlag, sigint_as_stop
from ..train.heads import restore_head, set_head_classes
from ..train.loop import Context, build_kind, fit_stage
from ..train.result import StageResult
from ..train.tensorboard import TensorBoardLogger, log_dir, tensorboard_wanted
from .budget import resolve_budget
from .lock import RunLock
from .reuse import stage_key
from .rundir import LAST, PREDICTIONS, TIMING, RunDir
from .state import StageState


def _input_stats(chips: ChipSet, limit: int = 8192) -> tuple[float, float]:
    step = max(len(chips) // limit, 1)
    px = chips.pixels(torch.arange(0, len(chips), step)).float()
    return float(px.mean()), float(px.std().clamp_min(1.0))


# ------------------------------------------------------------------------------ runs
class Run:
    """A recipe's stages trained in order in a run directory, resumable at any point.

    Make one with :meth:`create` (a new run) or :meth:`resume` (a run folder): they load the
    data and resolve the budget; the constructor only stores what it is given. ``run.state``
    (:class:`~sartail.run.state.StageState`) answers which stages are done and what a change of
    a stage's settings means for them.
    """

    def __init__(self, cfg: RunConfig, run_dir: RunDir, data: Splits, *, dist: D.DistInfo, device: torch.device,
                 callbacks: Sequence[Callback] = (), progress: bool = True,
                 reuse: Sequence[str | os.PathLike] = ()) -> None:
        self.cfg = cfg
        self.dir = run_dir
        self.data = data
        self.dist = dist
        self.device = device
        self.reuse = [Path(p) for p in reuse]
        self.callbacks = list(callbacks)
        self.progress = progress
        self.state = StageState(self)
        self.model: Classifier | None = None
        self.results: dict[str, StageResult] = {}
        self._metrics_lines = 0
        self.lock = RunLock(run_dir.path)
        self._tidy_on_write = False  # a resume whose leftovers are cleaned when it first writes
        self._tensorboard: TensorBoardLogger | None = None

    def writing(self, doing: str = "write to") -> Any:
        """The run folder's writer lock (:mod:`sartail.run.lock`), held by rank 0 around every write."""
        return self.lock.hold(doing) if self.dist.is_main else contextlib.nullcontext()

    # ---------------------------------------------------------------- construction
    @classmethod
    def _load(cls, cfg: RunConfig, run_dir: RunDir, *, data: Splits | None = None, progress: bool = True,
              **kw: Any) -> Run:
        """Start distributed processing, load (or take) the data, resolve the budget on them and check the stages."""
        dist = D.from_env()
        device = D.resolve_device(cfg.device, dist)
        D.init(device)
        data = data if data is not None else prepare_data(cfg, progress=progress and dist.is_main)
        cfg = resolve_budget(cfg, data)  # a no-op for a config already resolved (a resumed run)
        for stage in cfg.stages:
            stage_view(data.train, stage)  # raises a DataError for unknown classes or too few left
        return cls(cfg, run_dir, data, dist=dist, device=device, progress=progress, **kw)

    @classmethod
    def create(cls, cfg: RunConfig, path: str | os.PathLike, *, overwrite: bool = False, **kw: Any) -> Run:
        """A new run in ``path`` (refused if it exists, unless ``overwrite``).

        The data are loaded and checked before the folder is made (or an old run in it deleted),
        so bad data leave nothing behind and lose nothing. ``kw``: ``data`` (splits already
        loaded), ``callbacks``, ``progress``, ``reuse``.
        """
        info = D.from_env()
        if info.is_main:
            RunDir.check_new(path, overwrite=overwrite)
        run = cls._load(cfg, RunDir(path), **kw)
        if info.is_main:
            run_dir = RunDir.create(path, run.cfg, overwrite=overwrite)
            run_dir.write_provenance(run.cfg, run.device, info.world_size)
        D.barrier(run.dist)
        return run

    @classmethod
    def resume(cls, path: str | os.PathLike, **kw: Any) -> Run:
        """Reopen the run in ``path`` with its saved config; :meth:`fit` goes on from its last checkpoint.

        Temporary files that a killed process left mid-write are deleted, and a torn last line
        of ``timing.jsonl`` is dropped (``metrics.jsonl`` is cut back to the checkpoint by :meth:`fit`),
        unless another process is writing the folder now: then that waits until this run first
        writes (:meth:`fit`, :meth:`test`), which fails naming the other writer. Only reading
        (``final_model``, ``score_stage``) never needs the folder's lock.
        """
        run_dir = RunDir.open(path)
        run = cls._load(run_dir.config(), run_dir, **kw)
        run._tidy_on_write = True
        if run.dist.is_main and run.lock.holder() is None:
            # best effort: a folder being written, or on a read-only disk, is still readable
            with contextlib.suppress(RunError), run.writing("resume"):
                run._tidy()
        return run

    # ---------------------------------------------------------------- the state of the stages
    def completed(self) -> int:
        """How many stages have finished (see :meth:`StageState.completed`)."""
        return self.state.completed()

    def _tidy(self) -> None:
        """Remove what a killed process left (temporary files, a torn timing line); note the resume."""
        if self._tidy_on_write and self.dist.is_main:
            self.dir.remove_stale_temp_files()
            self.dir.repair_jsonl(TIMING)
            self.dir.write_provenance(self.cfg, self.device, self.dist.world_size)
        self._tidy_on_write = False

    # ---------------------------------------------------------------- model I/O
    def _meta(self) -> dict[str, Any]:
        m = self.cfg.model
        return {"arch": m.arch, "width": m.width, "head": m.head, "classes": list(self.data.train.class_names),
                "chip_size": [self.cfg.data.size] * 2 if self.cfg.data.load_size else list(self.data.train.chip_size)}

    def _check_meta(self, ckpt: dict[str, Any], path: Path) -> None:
        want, have = self._meta(), ckpt.get("meta", {})
        diff = {k: (have.get(k), want[k]) for k in want if have.get(k) != want[k]}
        if diff:
            parts = "; ".join(f"{k}: checkpoint {a!r}, run {b!r}" for k, (a, b) in diff.items())
            raise RunError(f"checkpoint {path} was written for another model or data ({parts}); train this config "
                           "in a new run folder (`sartail run ... --out NEW_DIR`, or --overwrite to replace the run), "
                           "or load the checkpoint with the run's own config.yaml")

    def new_model(self) -> Classifier:
        mean, std = _input_stats(self.data.train)
        torch.manual_seed(self.cfg.seed)
        return build_model(self.cfg.model, self.data.train.num_classes, mean=mean, std=std)

    def load_model(self, path: str | os.PathLike) -> Classifier:
        """The model stored in a stage checkpoint of this run."""
        path = Path(path)
        ckpt = self.dir.load(path)
        self._check_meta(ckpt, path)
        model = self.new_model()
        restore_head(model, ckpt["head_class_ids"], ckpt["bank"])
        model.load_state_dict(ckpt["model"])
        return model.to(self.device)

    # ---------------------------------------------------------------- progress
    def update_stage(self, name: str, **changes: Any) -> None:
        """Change a stage that has not started yet (e.g. the classes stage 2 removes)."""
        if self.state.started(name):
            raise RunError(f"stage {name!r} has already started in {self.dir.path}; "
                           "run.state.reset_to() an earlier stage first")
        cfg = self.cfg.with_stage(name, **changes)
        stage_view(self.data.train, cfg.stage(name))
        with self.writing("change a stage of"):
            self.cfg = cfg
            if self.dist.is_main:
                self.dir.write_config(cfg)

    # ---------------------------------------------------------------- training
    def _log(self, record: dict[str, Any]) -> None:
        self.dir.log_metrics(record)
        self._metrics_lines += 1

    def tensorboard_logger(self) -> TensorBoardLogger | None:
        """The per-epoch TensorBoard logger that trains with this run when its config says ``tensorboard: true``
        (or ``auto`` with the package installed); ``None`` otherwise and on processes other than the main one."""
        if self._tensorboard is None and self.dist.is_main and tensorboard_wanted(self.cfg.tensorboard):
            self._tensorboard = TensorBoardLogger(log_dir(self.dir.path))
        return self._tensorboard

    def context(self, callbacks: Sequence[Callback] = ()) -> Context:
        c = self.cfg
        logger = self.tensorboard_logger()
        return Context(device=self.device, seed=c.seed, batch_size=c.batch_size, eval_batch_size=c.eval_batch_size,
                       amp=c.amp, channels_last=c.channels_last, checkpoint_every=c.checkpoint_every,
                       shots=c.shots, dist=self.dist,
                       callbacks=[*self.callbacks, *([logger] if logger is not None else []), *callbacks], progress=self.progress, log=self._log,
                       timing=self.dir.log_timing, input_size=c.data.size if c.data.load_size else None)

    def _restore(self) -> tuple[int, dict[str, Any] | None]:
        """Model, head bank and metrics as of the last checkpoint; returns (next stage, loop state)."""
        done = self.completed()
        self.model = self.new_model()
        lines = 0
        if done:
            path = self.dir.stage_checkpoint(done - 1, self.cfg.stages[done - 1].name)
            ckpt = self.dir.load(path)
            self._check_meta(ckpt, path)
            restore_head(self.model, ckpt["head_class_ids"], ckpt["bank"])
            self.model.load_state_dict(ckpt["model"])
            lines = ckpt["metrics_lines"]
        loop = None
        stale = False
        last = self.dir.checkpoints / LAST
        if last.exists():
            ckpt = self.dir.load(last) if done < len(self.cfg.stages) else {}
            if ckpt.get("stage_index") == done:
                self._check_meta(ckpt, last)
                self.model.head.bank = dict(ckpt["bank"])
                loop = ckpt["loop"]
                lines = ckpt["metrics_lines"]
            else:  # left by a kill between a stage's checkpoint and the removal of last.pt
                stale = True
        if self.dist.is_main:
            self.dir.truncate_metrics(lines)
        self._metrics_lines = lines
        D.barrier(self.dist)
        if stale and self.dist.is_main:
            last.unlink(missing_ok=True)
        return done, loop

    def fit(self, until: str | None = None, callbacks: Sequence[Callback] = ()) -> dict[str, StageResult]:
        """Train the stages not yet finished, in order (up to and including ``until``)."""
        stop_at = self.cfg.stage_index(until) if until else len(self.cfg.stages) - 1
        with self.writing("train in"):
            self._tidy()
            start, loop = self._restore()
            flag = StopFlag()
            ctx = self.context([*callbacks, flag])
            assert self.model is not None
            try:
                with sigint_as_stop(flag):
                    self._fit_stages(range(start, stop_at + 1), loop, ctx)
            except StopRequested as exc:
                raise StopRequested(f"{exc}; a checkpoint was kept: {resume_hint(self.dir.path)}") from None
        return self.results

    def _fit_stages(self, indices: range, loop: dict[str, Any] | None, ctx: Context) -> None:
        assert self.model is not None
        for i in indices:
            stage = self.cfg.stages[i]
            train, val = pretrain_chips(self.data, stage), stage_view(self.data.val, stage)
            if loop is None and self._reuse_stage(i):
                continue
            set_head_classes(self.model, train.class_ids)
            bank = self.model.head.bank

            def save(state: dict[str, Any], i: int = i, bank: dict[int, Any] = bank) -> None:
                if self.dist.is_main:
                    self.dir.save(self.dir.checkpoints / LAST, {"stage_index": i, "loop": state, "bank": bank,
                                                                 "metrics_lines": self._metrics_lines, "meta": self._meta()})

            result = fit_stage(self.model, stage, train, val, ctx, index=i, resume=loop, save=save)  # the stage's kind
            loop = None
            self.results[stage.name] = result
            if self.dist.is_main:
                self.dir.save(self.dir.stage_checkpoint(i, stage.name), {
                    "stage_index": i, "name": stage.name, "model": self.model.state_dict(),
                    "head_class_ids": self.model.head.class_ids.tolist(), "bank": self.model.head.bank, "val": result.val,
                    "tau": result.tau, "best_epoch": result.best_epoch, "selected": result.selected, "metrics_lines": self._metrics_lines,
                    "meta": self._meta(),
                })
                (self.dir.checkpoints / LAST).unlink(missing_ok=True)
            D.barrier(self.dist)

    # ---------------------------------------------------------------- reuse
    def stage_key(self, i: int) -> dict[str, Any]:
        """What determines stage ``i``'s result: data, model, seed, options and stages ``0..i``."""
        return stage_key(self.cfg, i)

    def _reuse_stage(self, i: int) -> bool:
        """Copy stage ``i`` from a run in ``self.reuse`` that trained it identically; True if done."""
        key = self.stage_key(i)
        stage = self.cfg.stages[i]
        for src in self.reuse:
            try:
                other = RunDir.open(src)
                other_cfg = other.config()
            except Exception:
                continue
            if len(other_cfg.stages) <= i or stage_key(other_cfg, i) != key:
                continue
            path = other.stage_checkpoint(i, other_cfg.stages[i].name)
            if not path.exists() or other.path.resolve() == self.dir.path.resolve():
                continue
            ckpt = other.load(path)
            self._check_meta(ckpt, path)
            records = [r for r in other.metrics() if r.get("stage_index") == i]
            if self.dist.is_main:
                for r in records:
                    self._log({**r, "stage": stage.name})
                self.dir.save(self.dir.stage_checkpoint(i, stage.name),
                              {**ckpt, "name": stage.name, "metrics_lines": self._metrics_lines, "reused_from": str(src)})
            else:
                self._metrics_lines += len(records)
            assert self.model is not None
            restore_head(self.model, ckpt["head_class_ids"], ckpt["bank"])
            self.model.load_state_dict(ckpt["model"])
            self.results[stage.name] = StageResult(stage.name, records, ckpt["val"], ckpt.get("tau"),
                                                   ckpt.get("best_epoch"), ckpt.get("selected", ""))
            D.barrier(self.dist)
            return True
        return False

    # ---------------------------------------------------------------- testing
    def test(self) -> RunResults:
        """Score every finished stage's model on the test set, once; write results and predictions."""
        n = len(self.cfg.stages)
        if self.completed() < n:
            raise RunError(f"only {self.completed()} of {n} stages have finished; fit() the rest first")
        with self.writing("test in"):
            self._tidy()
            return self._test()

    def _test(self) -> RunResults:
        ctx = self.context()
        stages: dict[str, StageMetrics] = {}
        val: dict[str, dict[str, Any]] = {}
        selected: dict[str, str] = {}
        final_logits = None
        for i, stage in ((i, s) for i, s in enumerate(self.cfg.stages) if build_kind(s.kind).uses_labels):
            path = self.dir.stage_checkpoint(i, stage.name)
            model = self.load_model(path)
            m, logits = self._score(model, stage, ctx)
            stages[stage.name] = m
            ckpt = self.dir.load(path)
            val[stage.name] = ckpt["val"]
            if ckpt.get("selected"):
                selected[stage.name] = ckpt["selected"]
            final_logits = logits
        out = RunResults(self.cfg.recipe, self.cfg.seed, self.data.summary(self.cfg.stages), stages, val, self.cfg.stages[-1].name,
                         selected, self.cfg.budget.note)
        if self.dist.is_main:
            self.dir.write_results(out)
            test = stage_view(self.data.test, self.cfg.stages[-1])
            assert final_logits is not None  # a run has at least one stage
            probs = final_logits.softmax(1)
            conf, pred = probs.max(1)
            rows = [(cid, int(test.class_ids[t]), int(test.class_ids[p]), f"{c:.6f}")
                    for cid, t, p, c in zip(test.chip_ids, test.labels.tolist(), pred.tolist(), conf.tolist())]
            self.dir.write_csv(PREDICTIONS, ["id", "label", "prediction", "confidence"], rows)
        return out

    def _score(self, model: Classifier, stage: Any, ctx: Context) -> tuple[StageMetrics, torch.Tensor]:
        test = stage_view(self.data.test, stage)
        counts = stage_view(self.data.train, stage).class_counts().tolist()
        return score(model, test, ctx, train_counts=counts, shots=self.cfg.shots,
                     all_classes=self.data.train.class_names)

    def score_stage(self, name: str) -> StageMetrics:
        """Test-set metrics of one finished stage (as in ``results.json``), without finishing the run."""
        i = self.cfg.stage_index(name)
        if not build_kind(self.cfg.stages[i].kind).uses_labels:
            raise RunError(f"stage {name!r} is self-supervised pre-training: its head is untrained, so it has no test score")
        path = self.dir.stage_checkpoint(i, name)
        if not path.exists():
            raise RunError(f"stage {name!r} has not finished in {self.dir.path}")
        return self._score(self.load_model(path), self.cfg.stages[i], self.context())[0]

    def fit_and_test(self) -> RunResults:
        with self.writing("train in"):
            self.fit()
            return self.test()

    def final_model(self) -> Classifier:
        n = len(self.cfg.stages)
        if self.completed() < n:
            raise RunError(f"{self.dir.path}: the run has not finished ({self.completed()} of {n} stages)")
        return self.load_model(self.dir.stage_checkpoint(n - 1, self.cfg.stages[-1].name))


def resume_hint(path: str | os.PathLike) -> str:
    return f"resume with `sartail run --resume {path}` (or sartail.Run.resume({str(path)!r}).fit())"


__all__ = ["Run", "Splits", "prepare_data", "resume_hint"]
