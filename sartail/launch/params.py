"""Front-end parameters -> config overrides: one translation for the command line and the notebooks.

A parameter is an UPPERCASE name: a notebook's ``DATA``, ``RATIO`` or ``ROUGH_EPOCHS``, or a
command-line flag (``--data``, ``--ratio``, ``--subset-seed``) read by :func:`params_from_args`.
"""
from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import Any

from ..config import QUICK_BUDGET, QUICK_EPOCHS, RunConfig, load_config, recipe_dict, stage_role
from ..config.quick import REMOVES_ROLE, is_post_hoc
from ..data import data_kind

#: Parameters that set one config key each (besides the data kind's own keys, e.g. ``SCALE``).
PARAMETERS: dict[str, str] = {"DATA": "data.train", "TEST": "data.test", "SUBSET_SEED": "data.subset_seed",
                              "SEED": "seed", "WIDTH": "model.width", "DEVICE": "device", "BATCH_SIZE": "batch_size",
                              "SIZE": "data.size", "UNLABELLED": "data.unlabelled"}
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


def stage_epochs(cfg: RunConfig, P: Mapping[str, Any]) -> list[int]:
    """Every stage's epochs from ``<STAGE>_EPOCHS``, else ``<ROLE>_EPOCHS``, else the quick epochs of its role
    (:mod:`sartail.config.quick`); a post-hoc stage (tau-norm) trains nothing."""
    out = []
    for i, st in enumerate(cfg.stages):
        role = stage_role(st, i)
        epochs = P.get(f"{st.name.upper()}_EPOCHS", P.get(f"{role.upper()}_EPOCHS", QUICK_EPOCHS.get(role)))
        out.append(st.epochs if is_post_hoc(st) or epochs is None else int(epochs))
    return out


def stage_overrides(recipe: str, P: Mapping[str, Any]) -> dict[str, Any]:
    """Learning rates, samplers and removed classes of a recipe's stages from ``<STAGE>_LR``, ``<STAGE>_SAMPLER``
    and ``REMOVE`` (the classes of the ``residual`` role); epochs: :func:`stage_epochs`."""
    out: dict[str, Any] = {}
    for i, st in enumerate(recipe_dict(recipe)["stages"]):
        name, role = st["name"], stage_role(st, i)
        if is_post_hoc(st):
            continue  # tau-norm trains nothing
        for suffix, key in STAGE_PARAMETERS.items():
            value = P.get(f"{name.upper()}_{suffix}")
            if value is not None:
                out[f"stages.{name}.{key}"] = value
        if role == REMOVES_ROLE and P.get("REMOVE") is not None:
            out[f"stages.{name}.remove"] = list(P["REMOVE"])
    return out


def make_config(recipe: str, P: Mapping[str, Any]) -> RunConfig:
    """The config of ``recipe`` at the quick settings for the parameters ``P``.

    Stages train the epochs the parameters give (default: the quick epochs of their role, by the
    one epoch rule: warm-up, milestones and ``drw_epoch`` keep their place), with no budget
    floor; comparisons at these settings add the equal-budget ``ce@equal`` control. ``DATA``
    defaults to the synthetic chips.
    """
    P = {"DATA": "synthetic", **P}
    cfg = load_config(recipe, {**data_overrides(P), **QUICK_BUDGET, **stage_overrides(recipe, P)})
    return cfg.with_epochs(stage_epochs(cfg, P))
