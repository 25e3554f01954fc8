"""The typed run configuration: a :class:`RunConfig` of data, model, options and :class:`StageConfig` s."""
from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import ConfigError, suggest
from .build import _plain, replace_fields
from .components import AugmentConfig, LossConfig, ModelConfig, SamplerConfig, ShotGroups, SSLConfig

OPTIMIZERS = ("sgd", "adamw")
SCHEDULES = ("cosine", "step", "constant")
TRAINABLE = ("all", "head", "scales")
SELECT_MODES = ("auto", "last", "best")
#: How a stage's step computes its loss (``sartail.train.kinds``): from labels, or self-supervised without them.
STAGE_KINDS = ("supervised", "pretrain")
#: ``select: auto`` picks the best epoch only when every class has at least this many validation chips.
SELECT_MIN_VAL = 5


#: The ways a held-out fold can be cut (``data.split``; see :mod:`sartail.data.folds`).
SPLITS = ("random", "sector", "aspect", "grouped")

@dataclass(frozen=True)
class OptimizerConfig:
    """Optimizer of a stage: ``sgd`` (with momentum; Nesterov's by default) or ``adamw``.

    Nesterov momentum is the default because it is the plain PyTorch loop's habit
    (benchmarks/plain_loop.py) and heavy-ball momentum did no better on MSTAR-LT (BENCHMARKS.md,
    the optimizer ablation); ``nesterov: false`` gives heavy-ball momentum.
    """

    name: str = "sgd"
    lr: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 5e-4
    nesterov: bool = True

    def __post_init__(self) -> None:
        if self.name not in OPTIMIZERS:
            raise ConfigError(f"unknown optimizer {self.name!r}; use one of {OPTIMIZERS}.{suggest(self.name, OPTIMIZERS)}")
        if not self.lr > 0:
            raise ConfigError(f"optimizer.lr must be > 0, got {self.lr}")
        if self.weight_decay < 0 or not 0 <= self.momentum < 1:
            raise ConfigError("optimizer.weight_decay must be >= 0 and optimizer.momentum in [0, 1)")


@dataclass(frozen=True)
class ScheduleConfig:
    """Learning-rate schedule per step: linear warm-up, then cosine, step or constant."""

    name: str = "cosine"
    warmup_epochs: float = 0.0
    milestones: tuple[float, ...] = ()
    gamma: float = 0.1
    min_lr: float = 0.0

    def __post_init__(self) -> None:
        if self.name not in SCHEDULES:
            raise ConfigError(f"unknown schedule {self.name!r}; use one of {SCHEDULES}.{suggest(self.name, SCHEDULES)}")
        if self.warmup_epochs < 0:
            raise ConfigError(f"schedule.warmup_epochs must be >= 0, got {self.warmup_epochs}")


@dataclass(frozen=True)
class MaxNormConfig:
    """MaxNorm on the head (Alshammari et al. 2022): after every optimizer step, each class's
    weight row longer than a radius is scaled back onto it (projected gradient descent).

    Attributes:
        thresh: 0 = off. With ``relative`` (the authors' code), the radius is
            ``min + thresh * (max - min)`` of the head's row norms when the stage starts;
            otherwise ``thresh`` is the radius itself.
        relative: see ``thresh``.
    """

    thresh: float = 0.0
    relative: bool = True

    def __post_init__(self) -> None:
        if self.thresh < 0:
            raise ConfigError(f"max_norm.thresh must be >= 0, got {self.thresh}")


@dataclass(frozen=True)
class StageConfig:
    """One stage: what data it sees, how it samples, what trains, with which loss and optimizer.

    Attributes:
        name: a short name (used in paths, metrics and overrides).
        epochs: passes over the sampler's epoch (0 for a post-hoc stage such as tau-norm).
        remove: classes (ids or names) this stage does not see; the head then has rows for the
            remaining classes only, handed over in order (see ``train.heads.set_head_classes``).
        sampler: how chips are drawn each epoch.
        train: ``all`` (body and head), ``head`` (body frozen), ``scales`` (LWS: only the
            per-class scales of the head).
        bn: with the body frozen, ``frozen`` keeps BatchNorm statistics, ``update`` lets them
            follow the stage's data (MiSLAS's shifted BN).
        head: ``keep`` the head, or ``reinit`` it (cRT) before training.
        tau_grid: after training, pick the tau-normalisation of the head from these values by
            validation balanced accuracy (empty: no tau-norm).
        select: ``last`` epoch, the ``best`` epoch by validation balanced accuracy (ties go to
            the later epoch), or ``auto``: best only when every class of the stage has at least
            ``SELECT_MIN_VAL`` validation chips and the best epoch classifies at least two
            more validation chips correctly than the last, else last (one chip per tail class
            makes the best epoch noise; see sartail/train/behaviours/selection.py and BENCHMARKS.md, model selection).
        ema: decay of an exponential moving average of the weights, updated after every step
            (0 = off); the average is what the stage validates, selects and ends with.
        max_norm: cap the head's per-class weight norms after every step (weight balancing).
        bn_recalibrate: after the stage (and its selection), recompute the BatchNorm running
            statistics over the stage's training chips, clean (centre crop, no augmentation or
            mixing), the weights unchanged (SWA's ``update_bn``; sartail/train/behaviours/bn_recalibration.py).
            For stages whose statistics saw mixed batches or belong to raw weights under an EMA.
    """

    name: str
    epochs: int = 10
    remove: tuple[int | str, ...] = ()
    sampler: SamplerConfig = field(default_factory=SamplerConfig)
    train: str = "all"
    bn: str = "frozen"
    head: str = "keep"
    loss: LossConfig = field(default_factory=LossConfig)
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    tau_grid: tuple[float, ...] = ()
    select: str = "auto"
    ema: float = 0.0
    max_norm: MaxNormConfig = field(default_factory=MaxNormConfig)
    batch_size: int | None = None
    bn_recalibrate: bool = False
    kind: str = "supervised"
    ssl: SSLConfig = field(default_factory=SSLConfig)
    description: str = ""

    def __post_init__(self) -> None:
        if not self.name or any(ch in self.name for ch in "/\\. *"):
            raise ConfigError(f"stage name {self.name!r} must be non-empty, without '/', '.', '*' or spaces")
        if self.epochs < 0:
            raise ConfigError(f"stages.{self.name}.epochs must be >= 0, got {self.epochs}")
        if self.train not in TRAINABLE:
            raise ConfigError(f"stages.{self.name}.train must be one of {TRAINABLE}, got {self.train!r}")
        if self.bn not in ("frozen", "update"):
            raise ConfigError(f"stages.{self.name}.bn must be 'frozen' or 'update', got {self.bn!r}")
        if self.head not in ("keep", "reinit"):
            raise ConfigError(f"stages.{self.name}.head must be 'keep' or 'reinit', got {self.head!r}")
        if self.select not in SELECT_MODES:
            raise ConfigError(f"stages.{self.name}.select must be one of {SELECT_MODES}, got {self.select!r}")
        if self.epochs == 0 and not self.tau_grid:
            raise ConfigError(f"stage {self.name!r} has 0 epochs and no tau_grid: it would do nothing")
        if any(t < 0 for t in self.tau_grid):
            raise ConfigError(f"stages.{self.name}.tau_grid values must be >= 0")
        if not 0 <= self.ema < 1:
            raise ConfigError(f"stages.{self.name}.ema must lie in [0, 1), got {self.ema}")
        if self.max_norm.thresh > 0 and self.train == "scales":
            raise ConfigError(f"stages.{self.name}: max_norm caps head weights, which a 'scales' stage does not train")
        if self.batch_size is not None and self.batch_size < 1:
            raise ConfigError(f"stages.{self.name}.batch_size must be >= 1")
        if self.kind not in STAGE_KINDS:
            raise ConfigError(f"stages.{self.name}.kind must be one of {STAGE_KINDS}, got {self.kind!r}."
                              f"{suggest(self.kind, STAGE_KINDS)}")
        if self.kind == "pretrain":
            self._check_pretrain()
        if self.bn_recalibrate and self.train != "all" and self.bn == "frozen":
            raise ConfigError(f"stages.{self.name}.bn_recalibrate would change the statistics of a frozen body "
                              f"(train: {self.train}, bn: frozen); set bn: update, or leave it off")

    def _check_pretrain(self) -> None:
        """A self-supervised stage trains the body, reads no labels and has nothing to select by."""
        where = f"stages.{self.name} (kind: pretrain)"
        if self.train != "all":
            raise ConfigError(f"{where} trains the body: set train: all, got {self.train!r}")
        if self.select != "last" or self.tau_grid:
            raise ConfigError(f"{where} has no labelled score to select by: set select: last and no tau_grid")
        if self.augment.mixup > 0 or self.augment.cutmix > 0:
            raise ConfigError(f"{where}: mixup and cutmix mix labels, which the stage does not read; set them to 0")

    def with_epochs(self, epochs: int) -> StageConfig:
        """This stage trained for ``epochs`` epochs; its warm-up, milestones and ``drw_epoch`` keep their place."""
        if epochs == self.epochs:
            return self
        loss = self.loss
        if loss.drw_epoch is not None:
            loss = dataclasses.replace(loss, drw_epoch=scaled_drw_epoch(loss.drw_epoch, self.epochs, epochs))
        return dataclasses.replace(self, epochs=int(epochs), loss=loss,
                                   schedule=scaled_schedule(self.schedule, self.epochs, epochs))


@dataclass(frozen=True)
class DataConfig:
    """Where the chips come from and how the splits are made.

    Attributes:
        train: a data spec, ``synthetic`` or ``kind:path`` (``folder``, ``mavoc``, ``mstar``).
        test: a labelled test spec; ``None`` carves a ``test_fraction`` fold (by ``split``) out of
            ``train`` (before any long-tail subset), or uses the synthetic balanced test set.
        size: chip size (centre crop / zero pad, never resize).
        load_size: load a larger centre region (> ``size``) for training and train on random
            ``size`` crops of its real pixels; validation and test chips are the centre ``size``
            (A-ConvNets' habit). ``None``: train on the centre ``size`` as well (the default:
            on MSTAR the padded shift was better, BENCHMARKS.md, inputs per data kind).
        profile: build a long-tailed subset of ``train``: ``exp``, ``step``, ``mavoc`` or
            ``counts`` (with ``counts``), imbalance ``ratio``, drawn with ``subset_seed``
            (default: the run's seed, so multi-seed runs vary the subset too).
        val_fraction: validation split of the training chips, used for model selection; the
            test set never chooses anything.
        split: how the held-out test fold and the validation split are cut: ``random``
            (stratified at random), ``sector`` (contiguous runs of file numbers; the MSTAR
            default), ``aspect`` (arcs of each class's aspect circle, placed by the rank within
            a sweep of the file order) or ``grouped`` (near-duplicate chips kept on one side);
            see :mod:`sartail.data.folds`.
        scale, test_per_class: size of the synthetic data.
        unlabelled: a pool of unlabelled chips (``kind:path``: ``folder``, ``mavoc_test``, or a
            labelled kind whose labels are dropped) that the ``pretrain`` stages see beside the
            training chips; it may not be the labelled test set (nor, when the test set is a
            fold of ``train``, the training data itself). ``protocol``: the chips of ``train`` that
            the long-tailed subset left out, outside every test and validation fold (MSTAR-LT's
            documented pool). ``None``: the training chips only.
    """

    train: str = "synthetic"
    test: str | None = None
    size: int = 56
    load_size: int | None = None
    profile: str | None = None
    ratio: float | None = None
    counts: tuple[int, ...] | None = None
    subset_seed: int | None = None
    val_fraction: float = 0.1
    test_fraction: float = 0.25
    split: str = "random"
    split_seed: int = 0
    scale: float = 0.015
    test_per_class: int = 80
    skip_bad: bool = False
    unlabelled: str | None = None

    def __post_init__(self) -> None:
        if self.unlabelled is not None and ":" not in self.unlabelled and self.unlabelled != "protocol":
            raise ConfigError(f"data.unlabelled must be KIND:PATH (folder:, mavoc_test:, mstar:, mavoc:) or 'protocol', "
                              f"got {self.unlabelled!r}")
        if not 0 < self.val_fraction < 1:
            raise ConfigError(f"data.val_fraction must lie in (0, 1), got {self.val_fraction}")
        if not 0 < self.test_fraction < 1:
            raise ConfigError(f"data.test_fraction must lie in (0, 1), got {self.test_fraction}")
        if self.size < 8:
            raise ConfigError(f"data.size must be >= 8 px, got {self.size}")
        if self.load_size is not None and self.load_size < self.size:
            raise ConfigError(f"data.load_size ({self.load_size}) must be at least data.size ({self.size}), or null")
        if self.split not in SPLITS:
            raise ConfigError(f"unknown data.split {self.split!r}; use random, sector, aspect or grouped."
                              f"{suggest(str(self.split), SPLITS)}")
        if self.profile is not None and self.profile not in ("exp", "step", "mavoc", "counts"):
            raise ConfigError(f"unknown data.profile {self.profile!r}.{suggest(self.profile, ('exp', 'step', 'mavoc', 'counts'))}")


@dataclass(frozen=True)
class BudgetConfig:
    """A floor on the training budget in chip presentations, so that it does not depend on the data size.

    Where a recipe's body-training stages (``train: all``) would show fewer than ``min_samples``
    chips in total, all of them are lengthened by one factor ``K = min_samples / presentations``
    (the recipe keeps its proportions); each head-only stage gets its own floor of
    ``head_min_samples``. 0 disables a floor. ``scale`` and ``note`` are filled in when a run
    resolves the budget on its data (see :func:`sartail.run.budget.resolve_budget`): they are
    the record of what was applied, not settings.

    150 k presentations is where ``ce`` has converged on both MSTAR-LT and full MSTAR
    (BENCHMARKS.md, the budget floor).
    """

    min_samples: int = 150_000
    head_min_samples: int = 20_000
    scale: float | None = None
    note: str = ""

    def __post_init__(self) -> None:
        if self.min_samples < 0 or self.head_min_samples < 0:
            raise ConfigError("budget.min_samples and budget.head_min_samples must be >= 0 (0 disables the floor)")


@dataclass(frozen=True)
class RunConfig:
    """Everything a run needs; saved as ``config.yaml`` in the run directory."""

    recipe: str
    stages: tuple[StageConfig, ...]
    description: str = ""
    seed: int = 0
    device: str = "auto"
    batch_size: int = 128
    eval_batch_size: int = 512
    amp: bool = True
    channels_last: bool | str = "auto"  #: true, false or auto (models.channels_last_for: the faster one, measured)
    checkpoint_every: int = 0
    tensorboard: bool | str = False
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    shots: ShotGroups = field(default_factory=ShotGroups)
    budget: BudgetConfig = field(default_factory=BudgetConfig)

    def __post_init__(self) -> None:
        if not self.stages:
            raise ConfigError("a run needs at least one stage")
        names = [s.name for s in self.stages]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ConfigError(f"stage names must be unique, repeated: {sorted(dup)}")
        if self.device not in ("auto", "cpu", "cuda") and not self.device.startswith("cuda:"):
            raise ConfigError(f"device must be auto, cpu or cuda[:N], got {self.device!r}")
        if self.batch_size < 1 or self.eval_batch_size < 1:
            raise ConfigError("batch_size and eval_batch_size must be >= 1")
        if self.checkpoint_every < 0:
            raise ConfigError("checkpoint_every (steps) must be >= 0")
        if self.tensorboard not in (True, False, "auto"):
            raise ConfigError(f"tensorboard must be true, false or auto, got {self.tensorboard!r}")
        if self.channels_last not in (True, False, "auto"):
            raise ConfigError(f"channels_last must be true, false or auto, got {self.channels_last!r}")
        # a stage may not see more classes than were ever trained before it... but must not see fewer
        # in the last stage than in the first: stage 3 restores every class of stage 1
        first, last = set(map(str, self.stages[0].remove)), set(map(str, self.stages[-1].remove))
        if not last <= first:
            raise ConfigError(
                f"the last stage ({self.stages[-1].name!r}) removes classes {sorted(last - first)} that the first stage "
                f"({self.stages[0].name!r}) trains on: the final model must cover every class of stage 1"
            )

    def stage(self, name: str) -> StageConfig:
        """The stage called ``name`` (a :class:`~sartail.errors.ConfigError` names the stages if unknown)."""
        return self.stages[self.stage_index(name)]

    def stage_index(self, name: str) -> int:
        """The position of stage ``name`` (a :class:`~sartail.errors.ConfigError` names the stages if unknown)."""
        names = [s.name for s in self.stages]
        if name not in names:
            raise ConfigError(f"no stage {name!r}; stages are {names}.{suggest(name, names)}")
        return names.index(name)

    def with_stage(self, name: str, **changes: Any) -> RunConfig:
        """This config with dotted ``changes`` made to stage ``name``, validated: ``cfg.with_stage("rough", epochs=3)``,
        ``cfg.with_stage("rough", **{"optimizer.lr": 0.1})``."""
        i = self.stage_index(name)
        stage = replace_fields(self.stages[i], changes, f"stages.{name}")
        return dataclasses.replace(self, stages=(*self.stages[:i], stage, *self.stages[i + 1:]))

    def with_epochs(self, epochs: Sequence[int], budget: BudgetConfig | None = None) -> RunConfig:
        """This config with these stage epochs (:meth:`StageConfig.with_epochs`) and, if given, this budget record."""
        if len(epochs) != len(self.stages):
            raise ConfigError(f"{len(epochs)} epoch counts for {len(self.stages)} stages")
        stages = tuple(s.with_epochs(e) for s, e in zip(self.stages, epochs))
        return dataclasses.replace(self, stages=stages, budget=self.budget if budget is None else budget)

    def to_dict(self) -> dict[str, Any]:
        return _plain(dataclasses.asdict(self))


# ------------------------------------------------------------------------------ the one epoch rule
def scaled_schedule(schedule: ScheduleConfig, epochs: int, new_epochs: int) -> ScheduleConfig:
    """A schedule's epoch positions when its stage's epochs change: warm-up and milestones keep their fraction.

    A 1-epoch warm-up of 30 epochs (3 %) stays 3 % of the 259 epochs that the budget floor makes
    of it on a few hundred chips, instead of shrinking to 0.4 % (BENCHMARKS.md, "the optimizer ablation").

    >>> from sartail.config import ScheduleConfig
    >>> s = scaled_schedule(ScheduleConfig(warmup_epochs=1, milestones=(20.0,)), 30, 60)
    >>> s.warmup_epochs, s.milestones
    (2.0, (40.0,))
    """
    if epochs <= 0 or new_epochs == epochs:
        return schedule
    f = new_epochs / epochs
    return dataclasses.replace(schedule, warmup_epochs=round(schedule.warmup_epochs * f, 6),
                               milestones=tuple(round(m * f, 6) for m in schedule.milestones))


def scaled_drw_epoch(drw_epoch: int, epochs: int, new_epochs: int) -> int:
    """LDAM's deferred re-weighting epoch when its stage's epochs change.

    It keeps its place relative to the stage's length and stays inside the stage, so the
    re-weighted part never vanishes (at least the last epoch is re-weighted).

    >>> scaled_drw_epoch(20, 30, 60), scaled_drw_epoch(20, 30, 2), scaled_drw_epoch(20, 30, 1)
    (40, 1, 0)
    """
    return max(0, min(new_epochs - 1, round(drw_epoch * new_epochs / max(epochs, 1))))
