"""Recipes: YAML files in ``sartail/config/recipes``, loaded into a validated :class:`RunConfig`."""
from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from ..errors import ConfigError, suggest
from .build import build_dataclass
from .edits import epoch_scaled
from .inputs import with_kind_inputs
from .overrides import apply_overrides
from .schema import RunConfig

RECIPE_DIR = "recipes"
#: The settings every recipe starts from; a recipe file holds only what differs from them.
BASE = "base.yaml"


def recipe_names() -> list[str]:
    """Names of the recipes shipped with the kit."""
    folder = resources.files("sartail.config") / RECIPE_DIR
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml"))


def recipe_text(name: str) -> str:
    """The YAML text of a shipped recipe, or of a recipe file given by path."""
    path = Path(name)
    if path.suffix in (".yaml", ".yml") and path.exists():
        return path.read_text()
    names = recipe_names()
    if name not in names:
        raise ConfigError(f"unknown recipe {name!r}; recipes are {names}.{suggest(name, names)}")
    return (resources.files("sartail.config") / RECIPE_DIR / f"{name}.yaml").read_text()


def recipe_dict(name: str) -> dict[str, Any]:
    """A recipe as a plain dict on the shared base (:func:`base_dict`), with the ``stage_defaults`` merged into every stage."""
    try:
        raw = yaml.safe_load(recipe_text(name)) or {}
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        at = f" (line {where.line + 1}, column {where.column + 1})" if where is not None else ""
        what = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"recipe {name!r} is not valid YAML{at}: {what}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"recipe {name!r} must be a mapping")
    raw.setdefault("recipe", Path(name).stem)
    base = base_dict()
    defaults = _deep_merge(base.pop("stage_defaults"), raw.pop("stage_defaults", {}) or {})
    raw = _deep_merge(base, raw)
    raw["stages"] = [_deep_merge(defaults, s) for s in raw.get("stages", [])]
    return raw


def base_dict() -> dict[str, Any]:
    """The settings every recipe starts from (``sartail/config/base.yaml``): the model and ``stage_defaults``."""
    return dict(yaml.safe_load((resources.files("sartail.config") / BASE).read_text()))


def _deep_merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(dict(base))
    for k, v in over.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), Mapping):
            out[k] = _deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def load_config(recipe: str | Mapping[str, Any], overrides: Mapping[str, Any] | Sequence[str] = ()) -> RunConfig:
    """A validated :class:`RunConfig` from a recipe name, a recipe file or a dict, plus overrides.

    Keys that neither sets take the data kind's input defaults (:mod:`sartail.config.inputs`:
    MSTAR trains on 64 px with batch 64), then the dataclass defaults.
    """
    raw = recipe_dict(recipe) if isinstance(recipe, str) else copy.deepcopy(dict(recipe))
    raw = with_kind_inputs(apply_overrides(raw, overrides))
    return build_dataclass(RunConfig, raw)


def load_scaled_config(recipe: str | Mapping[str, Any], overrides: Mapping[str, Any] | Sequence[str] = (),
                       epoch_scale: float = 1.0) -> RunConfig:
    """:func:`load_config`, then every stage's epochs times ``epoch_scale`` (:func:`~sartail.config.edits.epoch_scaled`)."""
    cfg = load_config(recipe, overrides)
    return cfg if epoch_scale == 1 else epoch_scaled(cfg, epoch_scale)


#: Keys that configs saved by earlier versions may hold and that no longer mean anything.
RETIRED_KEYS = ("check_coverage",)


def config_from_dict(data: Mapping[str, Any]) -> RunConfig:
    """Rebuild a :class:`RunConfig` from its saved dict (``config.yaml`` of a run; retired keys dropped)."""
    return build_dataclass(RunConfig, {k: v for k, v in data.items() if k not in RETIRED_KEYS})
