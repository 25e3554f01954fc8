"""Run configuration: typed dataclasses built from recipe files plus overrides.

A run is described by one :class:`RunConfig` (data, model, training options and a list of
:class:`StageConfig`). Recipes are YAML files shipped in ``sartail/recipes``; any value can
be overridden with dotted keys, from Python or the command line::

    cfg = load_config("three_stage", {"stages.*.epochs": 2, "stages.residual.remove": [0, 1]})

Stages are addressed by name (or index); ``*`` stands for every stage. Unknown keys and
invalid values raise :class:`~sartail.errors.ConfigError` naming the key (and suggesting the
nearest valid one).
"""
from __future__ import annotations

import copy
import dataclasses
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from .data.augment import AugmentConfig
from .errors import ConfigError, suggest
from .losses import LossConfig
from .metrics import ShotGroups
from .models import ModelConfig
from .samplers import SamplerConfig

OPTIMIZERS = ("sgd", "adamw")
SCHEDULES = ("cosine", "step", "constant")
TRAINABLE = ("all", "head", "scales")


@dataclass(frozen=True)
class OptimizerConfig:
    """Optimizer of a stage: ``sgd`` (with momentum) or ``adamw``."""

    name: str = "sgd"
    lr: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 5e-4
    nesterov: bool = False

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
class StageConfig:
    """One stage: what data it sees, how it samples, what trains, with which loss and optimizer.

    Attributes:
        name: a short name (used in paths, metrics and overrides).
        epochs: passes over the sampler's epoch (0 for a post-hoc stage such as tau-norm).
        remove: classes (ids or names) this stage does not see; the head then has rows for the
            remaining classes only, handed over in order (see ``stages.set_head_classes``).
        sampler: how chips are drawn each epoch.
        train: ``all`` (body and head), ``head`` (body frozen), ``scales`` (LWS: only the
            per-class scales of the head).
        bn: with the body frozen, ``frozen`` keeps BatchNorm statistics, ``update`` lets them
            follow the stage's data (MiSLAS's shifted BN).
        head: ``keep`` the head, or ``reinit`` it (cRT) before training.
        tau_grid: after training, pick the tau-normalisation of the head from these values by
            validation balanced accuracy (empty: no tau-norm).
        select: ``last`` epoch, or the ``best`` epoch by validation balanced accuracy.
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
    select: str = "last"
    batch_size: int | None = None
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
        if self.select not in ("last", "best"):
            raise ConfigError(f"stages.{self.name}.select must be 'last' or 'best', got {self.select!r}")
        if self.epochs == 0 and not self.tau_grid:
            raise ConfigError(f"stage {self.name!r} has 0 epochs and no tau_grid: it would do nothing")
        if any(t < 0 for t in self.tau_grid):
            raise ConfigError(f"stages.{self.name}.tau_grid values must be >= 0")
        if self.batch_size is not None and self.batch_size < 1:
            raise ConfigError(f"stages.{self.name}.batch_size must be >= 1")


@dataclass(frozen=True)
class DataConfig:
    """Where the chips come from and how the splits are made.

    Attributes:
        train: a data spec, ``synthetic`` or ``kind:path`` (``folder``, ``mavoc``, ``mstar``).
        test: a labelled test spec; ``None`` carves a stratified ``test_fraction`` fold out of
            ``train`` (before any long-tail subset), or uses the synthetic balanced test set.
        size: chip size (centre crop / zero pad, never resize).
        profile: build a long-tailed subset of ``train``: ``exp``, ``step``, ``mavoc`` or
            ``counts`` (with ``counts``), imbalance ``ratio``, drawn with ``subset_seed``
            (default: the run's seed, so multi-seed runs vary the subset too).
        val_fraction: stratified validation split of the training chips, used for model
            selection; the test set never chooses anything.
        scale, test_per_class: size of the synthetic data.
    """

    train: str = "synthetic"
    test: str | None = None
    size: int = 56
    profile: str | None = None
    ratio: float | None = None
    counts: tuple[int, ...] | None = None
    subset_seed: int | None = None
    val_fraction: float = 0.1
    test_fraction: float = 0.25
    split_seed: int = 0
    scale: float = 0.015
    test_per_class: int = 80
    skip_bad: bool = False

    def __post_init__(self) -> None:
        if not 0 < self.val_fraction < 1:
            raise ConfigError(f"data.val_fraction must lie in (0, 1), got {self.val_fraction}")
        if not 0 < self.test_fraction < 1:
            raise ConfigError(f"data.test_fraction must lie in (0, 1), got {self.test_fraction}")
        if self.size < 8:
            raise ConfigError(f"data.size must be >= 8 px, got {self.size}")
        if self.profile is not None and self.profile not in ("exp", "step", "mavoc", "counts"):
            raise ConfigError(f"unknown data.profile {self.profile!r}.{suggest(self.profile, ('exp', 'step', 'mavoc', 'counts'))}")


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
    channels_last: bool = True
    checkpoint_every: int = 0
    check_coverage: bool = False
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    shots: ShotGroups = field(default_factory=ShotGroups)

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
        # a stage may not see more classes than were ever trained before it... but must not see fewer
        # in the last stage than in the first: stage 3 restores every class of stage 1
        first, last = set(map(str, self.stages[0].remove)), set(map(str, self.stages[-1].remove))
        if len(last) > len(first):
            raise ConfigError(
                f"the last stage ({self.stages[-1].name!r}) removes classes {sorted(last)} that the first stage "
                f"({self.stages[0].name!r}) trains on: the final model must cover every class of stage 1"
            )

    def stage(self, name: str) -> StageConfig:
        for s in self.stages:
            if s.name == name:
                return s
        raise ConfigError(f"no stage {name!r}; stages are {[s.name for s in self.stages]}")

    def to_dict(self) -> dict[str, Any]:
        return _plain(dataclasses.asdict(self))


# ------------------------------------------------------------------------------ building
def _plain(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    return obj


def _strip_optional(tp: Any) -> tuple[Any, bool]:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return (args[0] if len(args) == 1 else typing.Union[tuple(args)]), True  # type: ignore[return-value]
    return tp, False


def _coerce(value: Any, tp: Any, key: str) -> Any:
    tp, optional = _strip_optional(tp)
    if value is None:
        if optional:
            return None
        raise ConfigError(f"{key} may not be empty (null)")
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, Mapping):
            raise ConfigError(f"{key} must be a mapping of options, got {value!r}")
        return build_dataclass(tp, value, key)
    origin = typing.get_origin(tp)
    if origin is typing.Union or origin is types.UnionType:
        for alt in typing.get_args(tp):
            try:
                return _coerce(value, alt, key)
            except ConfigError:
                continue
        raise ConfigError(f"{key}: {value!r} is not a valid {tp}")
    if origin in (tuple, list):
        if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
            value = [value]
        args = typing.get_args(tp)
        inner = args[0] if args else Any
        return tuple(_coerce(v, inner, f"{key}[{i}]") for i, v in enumerate(value))
    if tp is Any:
        return value
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{key} must be true or false, got {value!r}")
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value:
            raise ConfigError(f"{key} must be an integer, got {value!r}")
        return int(value)
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{key} must be a number, got {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            raise ConfigError(f"{key} must be a string, got {value!r}")
        return str(value)
    return value


def build_dataclass(cls: type, data: Mapping[str, Any], prefix: str = "") -> Any:
    """Build dataclass ``cls`` from ``data``, refusing unknown keys and coercing types."""
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    kwargs = {}
    for key, value in data.items():
        full = f"{prefix}.{key}" if prefix else str(key)
        if key not in names:
            raise ConfigError(f"unknown config key {full!r}.{suggest(key, names)} Valid keys here: {', '.join(names)}")
        kwargs[key] = _coerce(value, hints[key], full)
    try:
        return cls(**kwargs)
    except TypeError as exc:
        missing = [n for n in names if n not in kwargs and _required(cls, n)]
        raise ConfigError(f"{prefix or cls.__name__}: missing required key(s) {missing}") from exc
    except ConfigError as exc:
        if prefix and not str(exc).startswith(prefix):
            raise ConfigError(f"{prefix}: {exc}") from None
        raise


def _required(cls: type, name: str) -> bool:
    f = next(f for f in dataclasses.fields(cls) if f.name == name)
    return f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING  # type: ignore[misc]


# ------------------------------------------------------------------------------ recipes
RECIPE_DIR = "recipes"


def recipe_names() -> list[str]:
    """Names of the recipes shipped with the kit."""
    folder = resources.files("sartail") / RECIPE_DIR
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml"))


def recipe_text(name: str) -> str:
    """The YAML text of a shipped recipe, or of a recipe file given by path."""
    path = Path(name)
    if path.suffix in (".yaml", ".yml") and path.exists():
        return path.read_text()
    names = recipe_names()
    if name not in names:
        raise ConfigError(f"unknown recipe {name!r}; recipes are {names}.{suggest(name, names)}")
    return (resources.files("sartail") / RECIPE_DIR / f"{name}.yaml").read_text()


def recipe_dict(name: str) -> dict[str, Any]:
    """A recipe as a plain dict, with its ``stage_defaults`` merged into every stage."""
    try:
        raw = yaml.safe_load(recipe_text(name)) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"recipe {name!r} is not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"recipe {name!r} must be a mapping")
    raw.setdefault("recipe", Path(name).stem)
    defaults = raw.pop("stage_defaults", {}) or {}
    raw["stages"] = [_deep_merge(defaults, s) for s in raw.get("stages", [])]
    return raw


def _deep_merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(dict(base))
    for k, v in over.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), Mapping):
            out[k] = _deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def parse_override(text: str) -> tuple[str, Any]:
    """Parse ``key=value`` (the value as YAML: ``3``, ``0.1``, ``[0, 1]``, ``true``, ``null``)."""
    key, eq, value = text.partition("=")
    if not eq or not key.strip():
        raise ConfigError(f"override {text!r} must look like key=value, e.g. stages.rough.epochs=3")
    try:
        parsed = yaml.safe_load(value) if value.strip() else ""
    except yaml.YAMLError:
        parsed = value
    return key.strip(), parsed


def apply_overrides(cfg: dict[str, Any], overrides: Mapping[str, Any] | Sequence[str]) -> dict[str, Any]:
    """Apply dotted-key overrides to a config dict (stages by name, index or ``*``)."""
    cfg = copy.deepcopy(cfg)
    items = [parse_override(o) for o in overrides] if not isinstance(overrides, Mapping) else list(overrides.items())
    for key, value in items:
        parts = key.split(".")
        _set(cfg, parts, value, key)
    return cfg


def _set(node: Any, parts: list[str], value: Any, full: str) -> None:
    head, rest = parts[0], parts[1:]
    if isinstance(node, list):  # the stages list
        names = [s.get("name") for s in node]
        if head == "*":
            targets = node
        elif head in names:
            targets = [node[names.index(head)]]
        elif head.isdigit() and int(head) < len(node):
            targets = [node[int(head)]]
        else:
            raise ConfigError(f"unknown stage {head!r} in {full!r}; stages are {names}.{suggest(head, names)}")
        if not rest:
            raise ConfigError(f"{full!r} names a whole stage; name one of its keys, e.g. {full}.epochs")
        for t in targets:
            _set(t, rest, value, full)
        return
    if not rest:
        node[head] = value
        return
    child = node.get(head)
    if child is None:
        child = node[head] = {}
    if not isinstance(child, (dict, list)):
        raise ConfigError(f"{full!r}: {'.'.join(parts[:1])} is a value, not a group of options")
    _set(child, rest, value, full)


def load_config(recipe: str | Mapping[str, Any], overrides: Mapping[str, Any] | Sequence[str] = ()) -> RunConfig:
    """A validated :class:`RunConfig` from a recipe name, a recipe file or a dict, plus overrides."""
    raw = recipe_dict(recipe) if isinstance(recipe, str) else copy.deepcopy(dict(recipe))
    raw = apply_overrides(raw, overrides)
    return build_dataclass(RunConfig, raw)


def load_scaled_config(recipe: str | Mapping[str, Any], overrides: Mapping[str, Any] | Sequence[str] = (),
                       epoch_scale: float = 1.0) -> RunConfig:
    """:func:`load_config`, then every stage's epochs times ``epoch_scale`` (see :func:`epoch_scale_overrides`)."""
    cfg = load_config(recipe, overrides)
    if epoch_scale == 1:
        return cfg
    if isinstance(overrides, Mapping):
        merged: dict[str, Any] = dict(overrides)
    else:
        merged = dict(parse_override(o) for o in overrides)
    return load_config(recipe, {**merged, **epoch_scale_overrides(cfg, epoch_scale)})


def epoch_scale_overrides(cfg: RunConfig, k: float) -> dict[str, int]:
    """Overrides that multiply every stage's epochs (and LDAM's ``drw_epoch``) by ``k``.

    Recipes keep their proportions under a longer or shorter budget. Epochs are rounded, a
    training stage keeps at least one, and a post-hoc stage (0 epochs) stays post hoc.

    >>> cfg = load_config("three_stage")
    >>> epoch_scale_overrides(cfg, 4)["stages.rough.epochs"], epoch_scale_overrides(cfg, 4)["stages.residual.epochs"]
    (120, 80)
    """
    if not k > 0 or k != k or k == float("inf"):
        raise ConfigError(f"the epoch scale must be a positive number, got {k!r}")
    out: dict[str, int] = {}
    for stage in cfg.stages:
        epochs = max(1, round(stage.epochs * k)) if stage.epochs > 0 else 0
        out[f"stages.{stage.name}.epochs"] = epochs
        if stage.loss.drw_epoch is not None:
            out[f"stages.{stage.name}.loss.drw_epoch"] = min(epochs, round(stage.loss.drw_epoch * k))
    return out


def config_from_dict(data: Mapping[str, Any]) -> RunConfig:
    """Rebuild a :class:`RunConfig` from its saved dict (``config.yaml`` of a run)."""
    return build_dataclass(RunConfig, data)
