"""Front-end parameters -> config overrides: one translation for the command line and the notebooks.

A parameter is an UPPERCASE name: a notebook's ``DATA``, ``RATIO`` or ``ROUGH_EPOCHS``, or a
command-line flag (``--data``, ``--ratio``, ``--subset-seed``) read by :func:`params_from_args`.
"""
from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import Any

from ..config import QUICK_BUDGET, QUICK_EPOCHS, RunConfig, load_config, recipe_dict, stage_role
from ..config.quick import REMOVES_ROLE, epoch_overrides, is_post_hoc
from ..data import data_kind

#: Parameters that set one config key each (besides the data kind's own keys, e.g. ``SCALE``).
PARAMETERS: dict[str, str] = {"DATA": "data.train", "TEST": "data.test", "SUBSET_SEED": "data.subset_seed",
                              "SEED": "seed", "WIDTH": "model.width", "DEVICE": "device", "BATCH_SIZE": "batch_size",
                              "SIZE": "data.size"}
#: Per-stage parameters ``<STAGE>_LR``, ``<STAGE>_SAMPLER`` (besides ``<STAGE>_EPOCHS``).
STAGE_PARAMETERS: dict[str, str] = {"LR": "optimizer.lr", "SAMPLER": "sampler.name"}


def params_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """The parameters a command line gave (``--data`` -> ``DATA``, ...); options left out are absent."""
    return {k.upper(): v for k, v in vars(args).items() if v is not None and not callable(v)}


def _profile(P: Mapping[str, Any]) -> tuple[str | None, float | None]:
    """The long-tail profile to apply: ``PROFILE='auto'`` makes balanced real sets (MSTAR, folders) long-tailed."""
    profile, ratio = P.get("PROFILE"), P.get("RATIO")
    if profile == "auto":
        profile = "exp" if data_kind(P.get("DATA") or "synthetic")[0].balanced else None
    return profile, (None if profile is None else ratio)


def data_overrides(P: Mapping[str, Any]) -> dict[str, Any]:
    """Config overrides for the data, model and run parameters in ``P`` (absent parameters set nothing)."""
    out: dict[str, Any] = {}
    if P.get("DATA") is not None:
        out["data.train"] = P["DATA"]
    if P.get("TEST"):
        out["data.test"] = P["TEST"]
    for key in data_kind(P.get("DATA") or "synthetic")[0].config_keys:  # e.g. SCALE, TEST_PER_CLASS of synthetic chips
        if P.get(key.upper()) is not None:
            out[f"data.{key}"] = P[key.upper()]
    profile, ratio = _profile(P)
    if profile:
        out["data.profile"] = profile
        if ratio is not None:
            out["data.ratio"] = float(ratio)
    for name, key in PARAMETERS.items():
        if name not in ("DATA", "TEST") and P.get(name) is not None:
            out[key] = P[name]
    return out


def stage_overrides(recipe: str, P: Mapping[str, Any]) -> dict[str, Any]:
    """Epochs, learning rates and samplers of a recipe's stages from ``<STAGE>_EPOCHS`` etc.

    A stage without its own parameter takes the one of its role (see :mod:`sartail.config.quick`);
    missing epochs default to the quick epochs of that role. ``REMOVE`` sets the classes of the
    ``residual`` role.
    """
    out: dict[str, Any] = {}
    for i, st in enumerate(recipe_dict(recipe)["stages"]):
        name, role = st["name"], stage_role(st, i)
        if is_post_hoc(st):
            continue  # tau-norm trains nothing
        epochs = P.get(f"{name.upper()}_EPOCHS", P.get(f"{role.upper()}_EPOCHS", QUICK_EPOCHS.get(role)))
        if epochs is not None:
            out.update(epoch_overrides(st, int(epochs)))
        for suffix, key in STAGE_PARAMETERS.items():
            value = P.get(f"{name.upper()}_{suffix}")
            if value is not None:
                out[f"stages.{name}.{key}"] = value
        if role == REMOVES_ROLE and P.get("REMOVE") is not None:
            out[f"stages.{name}.remove"] = list(P["REMOVE"])
    return out


def make_config(recipe: str, P: Mapping[str, Any], overrides: Mapping[str, Any] | None = None) -> RunConfig:
    """The config of ``recipe`` at the quick settings for the parameters ``P`` (plus any ``overrides``).

    Stages train the epochs the parameters give (default: the quick epochs of their role), with no
    budget floor; comparisons at these settings add the equal-budget ``ce@equal`` control.
    ``DATA`` defaults to the synthetic chips.
    """
    P = {"DATA": "synthetic", **P}
    return load_config(recipe, {**data_overrides(P), **QUICK_BUDGET, **stage_overrides(recipe, P), **dict(overrides or {})})
