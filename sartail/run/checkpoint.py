"""Checkpoints that are safe to open: only tensors and plain Python values, with a format version.

A run folder may come from someone else (``sartail eval``, ``predict``, ``--resume``,
``--reuse``, the notebooks). Checkpoints are therefore read with ``torch.load(...,
weights_only=True)``, which rebuilds tensors, ``dict``/``list``/``tuple``, ``str``, numbers,
``bool`` and ``None`` and refuses everything else *before* running any of it: a file that needs
another object (a pickled class, a function call) is refused with a :class:`RunError` naming the
file, and no code of it runs. Everything sartail writes fits (RNG states are byte tensors).

Every checkpoint records ``format`` (:data:`FORMAT`) and ``format_version``
(:data:`FORMAT_VERSION`); one of another format or version is refused with a message that says
what it is and what to do.
"""
from __future__ import annotations

import os
import pickle
import re
from pathlib import Path
from typing import Any

import torch

from ..atomic import save_torch
from ..errors import RunError

FORMAT = "sartail-checkpoint"
#: bumped whenever the keys of a checkpoint change meaning; version 1: sartail 0.1 (weights_only-safe)
FORMAT_VERSION = 1


def save_checkpoint(path: str | os.PathLike, obj: dict[str, Any]) -> None:
    """Atomically write ``obj`` (tensors and plain values only) with the format stamp."""
    save_torch(path, {**obj, "format": FORMAT, "format_version": FORMAT_VERSION})


def load_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Read a checkpoint safely (see the module docstring); :class:`RunError` names the file at fault."""
    path = Path(path)
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        found = re.search(r"GLOBAL (\S+)", str(exc))
        if found is None:  # not a pickle that names anything: a damaged or foreign file
            raise RunError(f"cannot read checkpoint {path}: not a PyTorch checkpoint, or a damaged one") from None
        raise RunError(f"refusing to load checkpoint {path}: it holds objects other than tensors and plain Python "
                       f"values (it calls {found.group(1)}), and loading it could run code from the file. sartail "
                       "never writes such checkpoints; do not use it unless you trust where it came from") from None
    except FileNotFoundError:
        raise RunError(f"checkpoint {path} does not exist") from None
    except Exception as exc:
        raise RunError(f"cannot read checkpoint {path}: {exc}") from None
    check_format(ckpt, path)
    return ckpt


def check_format(ckpt: Any, path: Path) -> None:
    """Raise a :class:`RunError` unless ``ckpt`` is a sartail checkpoint of :data:`FORMAT_VERSION`."""
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        what = "has no format version" if isinstance(ckpt, dict) else f"holds a {type(ckpt).__name__}, not a dict"
        raise RunError(f"{path} is not a sartail checkpoint of format {FORMAT_VERSION} (it {what}): it was written by "
                       "another program or by a sartail before 0.1. Train that stage again (delete the file and "
                       "resume the run), or open it with the program that wrote it")
    version = ckpt.get("format_version")
    if version != FORMAT_VERSION:
        newer = isinstance(version, int) and version > FORMAT_VERSION
        fix = "upgrade sartail (pip install -U sartail) to read it" if newer else \
            "train that stage again (delete the file and resume the run), or use the sartail that wrote it"
        raise RunError(f"checkpoint {path} has format version {version!r}; this sartail reads version "
                       f"{FORMAT_VERSION}: {fix}")


__all__ = ["FORMAT", "FORMAT_VERSION", "check_format", "load_checkpoint", "save_checkpoint"]
