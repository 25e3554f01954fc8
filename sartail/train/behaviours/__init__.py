"""Stage behaviours: what a stage does besides its steps, each a module with one :class:`Behaviour`.

:data:`REGISTRY` lists them in the order their hooks run; :func:`build_behaviours` builds those
a :class:`~sartail.config.StageConfig` asks for. A new behaviour is one module (a class with
``name``, ``wanted(stage)`` and the hooks it needs) and one entry here; the loop does not change.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ...config import StageConfig
from .base import Behaviour
from .bn_recalibration import BNRecalibration
from .ema import EMA
from .max_norm import MaxNorm
from .mixing import Mixing
from .selection import EpochSelection
from .tau import TauSelection


@dataclass(frozen=True)
class Entry:
    """A behaviour the registry knows: whether a stage asks for it, and how to build it for that stage."""

    wanted: Callable[[StageConfig], bool]
    build: Callable[[StageConfig], Behaviour]


def entry(cls: type[Behaviour]) -> Entry:
    """The registry entry of a behaviour class with a static ``wanted(stage)`` and ``__init__(stage)``."""
    return Entry(cls.wanted, cls)


#: Behaviours by name, in the order their hooks run: MaxNorm caps the head before the average
#: takes the step; the average is in the model before the kept epoch is chosen; BatchNorm is
#: recalibrated for the kept weights; tau is chosen last.
REGISTRY: dict[str, Entry] = {
    "mixing": entry(Mixing),
    "max_norm": entry(MaxNorm),
    "ema": entry(EMA),
    "selection": entry(EpochSelection),
    "bn_recalibration": entry(BNRecalibration),
    "tau": entry(TauSelection),
}


def build_behaviours(stage: StageConfig) -> dict[str, Behaviour]:
    """The behaviours ``stage`` asks for, by name, in the registry's order."""
    return {name: e.build(stage) for name, e in REGISTRY.items() if e.wanted(stage)}


__all__ = ["REGISTRY", "Behaviour", "Entry", "build_behaviours", "entry"]
