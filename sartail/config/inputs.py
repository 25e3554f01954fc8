"""Input defaults per data kind: the chip size and batch that fit each kind's chips.

A kind's defaults fill in the keys that neither the recipe nor the user sets, so
``--set data.size=56`` (or a recipe that names a size) always wins, and a run's saved
``config.yaml`` holds the values it used. Measured on the 17-degree MSTAR chips
(BENCHMARKS.md, inputs per data kind):

- ``mstar``: 64 px and batch 64. The target fills the centre 64 px of the 128 px chips; on a
  few hundred MSTAR-LT chips a batch of 128 halves the optimizer steps per presentation.
  Test fold and validation split by aspect arc (``data.split: aspect``): MSTAR's file order
  sweeps the aspect circle four to five times per class, and holding out whole arcs of it
  halves the test chips with a near-duplicate in training against a random fold or blocks of
  file numbers (benchmarks/history/2026-12-08-leakage.md). No fold of the 17-degree chips
  reproduces the 15-degree test's verdicts (BENCHMARKS.md, "Which recipe?").
- ``mavoc``, ``mavoc_test``, ``folder``, ``synthetic``: the general defaults (56 px, the MAVOC
  chips' own 54-60 px; batch 128). Folder data are whatever the user brings: set
  ``data.size`` to the chips' size.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .overrides import apply_overrides

#: ``{kind: {dotted config key: value}}``; kinds not listed take the dataclass defaults.
KIND_INPUTS: dict[str, dict[str, Any]] = {
    "mstar": {"data.size": 64, "batch_size": 64, "data.split": "aspect"},
}


def spec_kind(spec: Any) -> str:
    """The kind prefix of a data spec (``"mstar:/data/x"`` -> ``"mstar"``; the default is ``synthetic``)."""
    return str(spec if spec is not None else "synthetic").partition(":")[0].strip().lower()


def kind_inputs(spec: Any) -> dict[str, Any]:
    """The input defaults of the kind of ``spec`` (empty for a kind with none)."""
    return dict(KIND_INPUTS.get(spec_kind(spec), {}))


def _has(raw: Mapping[str, Any], parts: list[str]) -> bool:
    node: Any = raw
    for p in parts:
        if not isinstance(node, Mapping) or p not in node:
            return False
        node = node[p]
    return True


def with_kind_inputs(raw: Mapping[str, Any]) -> dict[str, Any]:
    """``raw`` (a recipe dict with overrides applied) with its data kind's input defaults where it sets none."""
    data = raw.get("data")
    defaults = kind_inputs(data.get("train") if isinstance(data, Mapping) else None)
    return apply_overrides(dict(raw), {k: v for k, v in defaults.items() if not _has(raw, k.split("."))})
