"""Building blocks of the synthetic renderer (:mod:`sartail.data.sources.synthetic`):
the vehicle target model of each MAVOC class and the shadow smear it renders with."""
from __future__ import annotations

from dataclasses import dataclass

import torch

#: Pixels per unit of the target models below (a sedan is about 18 px long in a 56 px chip).
PX = 1.4


@dataclass(frozen=True)
class Part:
    """A rectangular part of a target, in the target's frame (pixels; u along its length)."""

    u: float  # centre along the length (+ is the front)
    length: float
    width: float
    height: float  # sets the shadow length
    brightness: float


@dataclass(frozen=True)
class TargetModel:
    """Geometry of one class: parts and bright scatterers ``(u, v, amplitude)``."""

    parts: tuple[Part, ...]
    scatterers: tuple[tuple[float, float, float], ...]


def _pickup(shift: float = 0.0) -> tuple[tuple[Part, ...], tuple[tuple[float, float, float], ...]]:
    parts = (Part(4.5 + shift, 6.5, 6.6, 1.9, 0.55), Part(-3.5 + shift, 8.5, 6.6, 0.9, 0.35))
    scat = ((7.5 + shift, 0, 1.0), (-7.5 + shift, 3.0, 0.9), (-7.5 + shift, -3.0, 0.9), (1.2 + shift, 0, 0.7))
    return parts, scat


def _flatbed(shift: float = 0.0) -> tuple[tuple[Part, ...], tuple[tuple[float, float, float], ...]]:
    parts = (Part(8.0 + shift, 5.5, 7.6, 2.8, 0.6), Part(-3.0 + shift, 15.0, 7.6, 1.1, 0.45))
    scat = ((10.5 + shift, 0, 1.0), (-10.4 + shift, 3.5, 0.8), (-10.4 + shift, -3.5, 0.8), (5.0 + shift, 0, 0.9))
    return parts, scat


def _models() -> tuple[TargetModel, ...]:
    pickup_parts, pickup_scat = _pickup()
    flat_parts, flat_scat = _flatbed()
    tp_parts, tp_scat = _pickup(shift=5.5)
    tf_parts, tf_scat = _flatbed(shift=6.5)
    return (
        # 0 sedan
        TargetModel((Part(0.0, 13.0, 6.0, 1.4, 0.5),), ((6.2, 0, 0.9), (-6.2, 0, 0.8), (2.0, 0, 0.6))),
        # 1 SUV: a little longer, wider and taller than the sedan
        TargetModel((Part(0.0, 14.0, 6.5, 1.9, 0.55),), ((6.7, 0, 0.9), (-6.7, 0, 0.9), (0.0, 2.6, 0.55), (0.0, -2.6, 0.55))),
        # 2 pickup: tall cab, low open bed with bright rear corners
        TargetModel(pickup_parts, pickup_scat),
        # 3 van: one tall box
        TargetModel((Part(0.0, 15.0, 7.0, 2.4, 0.62),), ((7.3, 0, 1.0), (-7.3, 2.8, 0.7), (-7.3, -2.8, 0.7))),
        # 4 box truck: cab plus a long, tall box
        TargetModel((Part(9.0, 5.0, 7.8, 2.6, 0.55), Part(-3.0, 16.0, 8.2, 3.4, 0.7)), ((11.3, 0, 1.0), (-11.0, 3.9, 1.0), (-11.0, -3.9, 1.0))),
        # 5 motorcycle: small and bright in one spot
        TargetModel((Part(0.0, 6.0, 2.4, 1.3, 0.45),), ((1.0, 0, 1.2),)),
        # 6 flatbed truck: cab plus a long low bed
        TargetModel(flat_parts, flat_scat),
        # 7 bus: long and tall, a row of window returns
        TargetModel((Part(0.0, 28.0, 8.5, 3.1, 0.6),), tuple((u, 4.0, 0.6) for u in (-10.5, -5.3, 0.0, 5.3, 10.5)) + ((13.8, 0, 1.0),)),
        # 8 pickup truck with trailer: the pickup moved forward and a small trailer behind a hitch
        TargetModel(tp_parts + (Part(-11.0, 7.0, 5.6, 1.0, 0.4),), tp_scat + ((-8.0, 0, 0.6), (-14.3, 2.4, 0.7))),
        # 9 flatbed truck with trailer
        TargetModel(tf_parts + (Part(-16.5, 9.0, 7.0, 1.0, 0.42),), tf_scat + ((-12.5, 0, 0.6), (-20.8, 3.0, 0.7))),
    )


MODELS: tuple[TargetModel, ...] = _models()


def _soft_edge(t: torch.Tensor, centre: float, extent: float) -> torch.Tensor:
    """``sigmoid(2 (extent / 2 - |t - centre|))``: a soft 1-D box (one factor of a soft rectangle)."""
    return (t - centre).abs_().neg_().add_(extent / 2).mul_(2.0).sigmoid_()


def _smear_down(mask: torch.Tensor, steps: int) -> torch.Tensor:
    """Shift ``mask`` [B, H, W] (values >= 0) down by 0..``steps`` pixels and take the maximum.

    A sliding maximum over ``steps + 1`` rows, by doubling: O(log steps) passes.
    """
    if steps <= 0:
        return mask
    window = steps + 1
    out, span = mask, 1
    while 2 * span <= window:
        nxt = out.clone()
        torch.maximum(out[:, span:], out[:, :-span], out=nxt[:, span:])
        out, span = nxt, 2 * span
    if span < window:
        rest = window - span
        nxt = out.clone()
        torch.maximum(out[:, rest:], out[:, :-rest], out=nxt[:, rest:])
        out = nxt
    return out
