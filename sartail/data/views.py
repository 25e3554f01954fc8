"""Two augmented views of a batch of SAR chips, for self-supervised pre-training.

A view is a named pipeline of batched tensor transforms (:data:`VIEW_OPS`), each drawing its
randomness from an explicit :class:`torch.Generator`, so the views of a batch are reproducible
from a seed. The transforms suit SAR chips: crops of real pixels (never zero-filled corners
where the chip is larger than the view), left-right flips, multiplicative gamma-distributed
speckle, small rotations and intensity gamma changes. Colour jitter and blur, the habits of
natural-image methods, have no SAR meaning and are left out.

>>> import torch
>>> x = torch.rand(8, 1, 72, 72) * 255
>>> a, b = two_views(x, DEFAULT_VIEW, torch.Generator().manual_seed(0), size=64)
>>> a.shape, b.shape
(torch.Size([8, 1, 64, 64]), torch.Size([8, 1, 64, 64]))
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from ..errors import ConfigError, suggest
from .augment import random_crop, random_flip, random_gamma, random_rotate, random_speckle, random_translate

ViewOp = Callable[[torch.Tensor, float, torch.Generator], torch.Tensor]


def _shift(x: torch.Tensor, amount: float, g: torch.Generator) -> torch.Tensor:
    return random_translate(x, int(amount), g)


def _flip(x: torch.Tensor, amount: float, g: torch.Generator) -> torch.Tensor:
    return random_flip(x, g) if amount else x


def _speckle(x: torch.Tensor, amount: float, g: torch.Generator) -> torch.Tensor:
    return random_speckle(x, amount, g) if amount else x


def _rotate(x: torch.Tensor, amount: float, g: torch.Generator) -> torch.Tensor:
    return random_rotate(x, amount, g) if amount else x


def _gamma(x: torch.Tensor, amount: float, g: torch.Generator) -> torch.Tensor:
    return random_gamma(x, amount, g).clamp(0, 255) if amount else x


#: The named view transforms and what their amount means: ``shift`` (pixels of a zero-filled
#: translation), ``flip`` (on when non-zero), ``speckle`` (looks of unit-mean gamma noise),
#: ``rotate`` (largest angle in degrees), ``gamma`` (range of the log intensity exponent).
VIEW_OPS: dict[str, ViewOp] = {"shift": _shift, "flip": _flip, "speckle": _speckle, "rotate": _rotate,
                               "gamma": _gamma}

#: A view: ``(name, amount)`` steps applied in order after the real-pixel crop.
View = tuple[tuple[str, float], ...]

#: The default view for MSTAR-like chips: a flip, a rotation of up to 10 degrees, 4-look
#: speckle and a gamma change of up to exp(+-0.3); the crop comes from the real pixels around
#: the chip (``data.load_size``), with a 4 px shift where there are none.
DEFAULT_VIEW: View = (("flip", 1), ("rotate", 10), ("speckle", 4), ("gamma", 0.3))


def check_view(view: Sequence[tuple[str, float]]) -> View:
    """``view`` as a tuple of known ``(name, amount)`` steps; an unknown name or a negative amount is an error."""
    steps = []
    for name, amount in view:
        if name not in VIEW_OPS:
            raise ConfigError(f"unknown view transform {name!r}; use one of {list(VIEW_OPS)}.{suggest(name, VIEW_OPS)}")
        if float(amount) < 0:
            raise ConfigError(f"view transform {name!r}: the amount must be >= 0, got {amount!r}")
        steps.append((name, float(amount)))
    return tuple(steps)


def parse_view(text: str) -> View:
    """``"flip=1,rotate=10,speckle=4"`` as a view (an empty text is the identity)."""
    steps = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, amount = part.partition("=")
        try:
            steps.append((name.strip(), float(amount) if sep else 1.0))
        except ValueError:
            raise ConfigError(f"view transform {part!r}: the amount must be a number") from None
    return check_view(steps)


def make_view(x: torch.Tensor, view: Sequence[tuple[str, float]], g: torch.Generator, *,
              size: int | None = None, shift: int = 4) -> torch.Tensor:
    """One view of the float batch ``x`` ``[B, 1, H, W]`` (chip units, 0..255).

    First a crop to ``size``: a random window of real pixels when the chips are larger than
    ``size``, else a zero-filled shift of up to ``shift`` px; then the steps of ``view``.
    """
    size = x.shape[-1] if size is None else int(size)
    if size > min(x.shape[-2:]):
        raise ConfigError(f"a view of {size} px cannot be cut from {x.shape[-2]}x{x.shape[-1]} chips")
    x = random_crop(x, size, g) if size < min(x.shape[-2:]) else random_translate(x, shift, g)
    for name, amount in check_view(view):
        x = VIEW_OPS[name](x, amount, g)
    return x


def two_views(x: torch.Tensor, view: Sequence[tuple[str, float]], g: torch.Generator, *,
              size: int | None = None, shift: int = 4) -> tuple[torch.Tensor, torch.Tensor]:
    """Two independent views of every chip of ``x`` (see :func:`make_view`), drawn from ``g`` in turn."""
    return make_view(x, view, g, size=size, shift=shift), make_view(x, view, g, size=size, shift=shift)
