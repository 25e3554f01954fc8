"""A seeded generator of synthetic SAR-like chips with the MAVOC class structure.

**These chips are synthetic.** They imitate the look of MAVOC / UNICORN SAR chips (a
bright vehicle return on speckled clutter, a radar shadow, a zero-padded border) so that
the kit runs with no download, but results on them say nothing about real SAR.

Each of the ten MAVOC classes has its own target geometry: body parts (length, width,
height, brightness), a layout of bright point scatterers, and a radar shadow whose length
follows the height of each part. Every chip draws a random orientation, a position jitter,
a size jitter, clutter texture, gain and multiplicative gamma speckle. Neighbouring classes
(sedan / SUV, pickup / pickup with trailer, flatbed / flatbed with trailer) differ subtly,
so that a plain classifier trained on the long-tailed counts sinks the tail into the head.

>>> train, test = make_synthetic(scale=0.002, test_per_class=4, seed=0)
>>> train.class_counts().tolist()[:3], len(test)
([468, 56, 31], 40)
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from tqdm.auto import tqdm

from ...errors import DataError
from .._memory import release_free_memory
from ..chipset import ChipSet, GeneratedIds
from ..classes import MAVOC_CLASS_NAMES, MAVOC_TRAIN_COUNTS

#: The default scale of the embedded training set (about 4,400 chips; class 9 keeps 9).
DEFAULT_SCALE = 0.015
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


def mavoc_counts(scale: float = DEFAULT_SCALE, min_per_class: int = 5) -> list[int]:
    """MAVOC's training counts times ``scale``, rounded, at least ``min_per_class`` each."""
    if not (scale > 0):
        raise DataError(f"scale must be positive, got {scale!r}")
    return [max(int(round(c * scale)), int(min_per_class)) for c in MAVOC_TRAIN_COUNTS]


def render_chips(labels: torch.Tensor, size: int, generator: torch.Generator, block: int = 256) -> torch.Tensor:
    """Render one chip per label (``int64 [B]``) as ``uint8 [B, 1, size, size]``.

    The random draws (and their order) define the chips; the arithmetic is arranged for
    speed and memory (shared rotated coordinates per class, a sliding-maximum shadow, a
    separable clutter blur, in-place updates, per-pixel work in blocks of ``block`` chips,
    which draw the same random numbers as one draw for all), which moves a pixel by one grey
    level only where a value sits on a rounding boundary.
    """
    b = labels.numel()
    g = generator
    rnd = lambda *shape: torch.rand(*shape, generator=g)  # noqa: E731
    # target frame of every chip: orientation, position and size jitter
    theta = rnd(b) * 2 * math.pi
    centre = (rnd(b, 2) - 0.5) * 6.0
    stretch = 1.0 + (rnd(b, 2) - 0.5) * 0.24  # length and width, +-12 %
    half = (size - 1) / 2
    coords = torch.arange(size, dtype=torch.float32) - half
    cos, sin = torch.cos(theta), torch.sin(theta)

    target = torch.empty(b, size, size)
    shadow = torch.empty(b, size, size)
    for cls in labels.unique().tolist():
        idx = torch.nonzero(labels == cls).reshape(-1)
        model = MODELS[cls]
        amp = 0.8 + 0.4 * torch.rand(idx.numel(), len(model.scatterers), generator=g)
        for start in range(0, idx.numel(), block):
            sub = idx[start : start + block]
            refl, shad = _render_targets(model, coords, centre[sub], cos[sub], sin[sub], stretch[sub],
                                         amp[start : start + block])
            target[sub] = refl
            shadow[sub] = shad
    # clutter: smooth log-normal texture
    taps = _gauss_taps(2.0)
    texture = torch.empty(b, size, size)
    for start in range(0, b, block):
        stop = min(start + block, b)
        texture[start:stop] = _blur_valid(torch.randn(stop - start, size + 8, size + 8, generator=g), taps)
    texture /= texture.flatten(1).std(1).clamp_min(1e-6).view(b, 1, 1)
    clutter_level = 0.18 + 0.1 * rnd(b, 1, 1)
    clutter = texture.mul_(0.35).exp_().mul_(clutter_level)
    shadow_only = shadow.masked_fill_(target > 0.05, 0.0)  # no shadow where the target returns
    intensity = clutter.mul_(shadow_only.mul_(-0.8).add_(1.0)).add_(target.mul_(0.9 + 0.3 * rnd(b, 1, 1)))
    # multiplicative speckle: gamma distributed with 3 looks (the mean of three exponentials,
    # -log(u1 u2 u3) / 3)
    looks = 3
    for start in range(0, b, block):
        stop = min(start + block, b)
        speckle = rnd(stop - start, looks, size, size).clamp_min_(1e-12).prod(1).log_().div_(-looks)
        intensity[start:stop].mul_(speckle)
    db = intensity.clamp_min_(1e-4).log10_().mul_(10.0)
    img = db.add_(14.0).div_(20.0).mul_(255.0).mul_(0.85 + 0.3 * rnd(b, 1, 1))
    img = img.clamp_(0, 255).round_().to(torch.uint8)
    _zero_border(img, g)
    return img.unsqueeze(1)


def _render_targets(model: TargetModel, coords: torch.Tensor, centre: torch.Tensor, cos: torch.Tensor,
                    sin: torch.Tensor, stretch: torch.Tensor, amp: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Noise-free reflectivity and shadow mask ``[n, S, S]`` of ``n`` chips of one class."""
    n, size = centre.shape[0], coords.numel()
    x = coords.view(1, 1, size) - centre[:, 0].view(n, 1, 1)  # [n, 1, S]
    y = coords.view(1, size, 1) - centre[:, 1].view(n, 1, 1)  # [n, S, 1]
    ci, si = cos.view(n, 1, 1), sin.view(n, 1, 1)
    su, sv = stretch[:, 0].view(n, 1, 1), stretch[:, 1].view(n, 1, 1)
    u0 = (x * ci + y * si) / (su * PX)  # [n, S, S], along the target
    v0 = (-x * si + y * ci) / (sv * PX)  # across it
    refl = torch.zeros(n, size, size)
    shad = torch.zeros(n, size, size)
    across: dict[float, torch.Tensor] = {}
    for part in model.parts:
        if part.width not in across:
            across[part.width] = _soft_edge(v0, 0.0, part.width)
        inside = _soft_edge(u0, part.u, part.length).mul_(across[part.width])
        torch.maximum(refl, inside * part.brightness, out=refl)
        torch.maximum(shad, _smear_down(inside, int(round(part.height * 2.2 * PX))), out=shad)
    dv2: dict[float, torch.Tensor] = {}
    for j, (pu, pv, a) in enumerate(model.scatterers):
        if pv not in dv2:
            dv2[pv] = (v0 - pv).square_()
        # exp() of arguments below -87 takes a slow path and only yields 0 or denormals
        # that vanish beside the clutter: clamp them (the sum is unchanged in float32)
        spot = (u0 - pu).square_().add_(dv2[pv]).div_(-1.2).clamp_min_(-80.0).exp_()
        refl.add_(spot.mul_((a * amp[:, j]).view(n, 1, 1)))
    return refl, shad


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


def _gauss_taps(sigma: float) -> list[float]:
    r = torch.arange(9, dtype=torch.float32) - 4
    k = torch.exp(-(r**2) / (2 * sigma**2))
    return (k / k.sum()).tolist()


def _blur_valid(x: torch.Tensor, taps: list[float]) -> torch.Tensor:
    """'Valid' separable convolution of ``x`` [B, H, W] with ``taps`` along both axes."""
    k = len(taps)
    h, w = x.shape[1] - k + 1, x.shape[2] - k + 1
    rows = x[:, 0:h, :] * taps[0]
    for i in range(1, k):
        rows.add_(x[:, i : i + h, :], alpha=taps[i])
    out = rows[:, :, 0:w] * taps[0]
    for i in range(1, k):
        out.add_(rows[:, :, i : i + w], alpha=taps[i])
    return out


def _zero_border(img: torch.Tensor, g: torch.Generator) -> None:
    """Zero-pad some edges, as real MAVOC chips (54 to 60 px) are padded to a common size."""
    b = img.shape[0]
    widths = torch.randint(0, 4, (b, 4), generator=g) * (torch.rand(b, 4, generator=g) < 0.35)
    for side in range(4):
        for w in (1, 2, 3):
            sel = widths[:, side] >= w
            if not sel.any():
                continue
            idx = torch.nonzero(sel).reshape(-1)
            if side == 0:
                img[idx, w - 1, :] = 0
            elif side == 1:
                img[idx, -w, :] = 0
            elif side == 2:
                img[idx, :, w - 1] = 0
            else:
                img[idx, :, -w] = 0


def generate(counts: Sequence[int], *, size: int = 56, seed: int = 0, prefix: str = "train",
             progress: bool = True, chunk: int = 2048) -> ChipSet:
    """Generate ``counts[c]`` chips of each class ``c`` (shuffled), deterministic by ``seed``."""
    counts = [int(c) for c in counts]
    if len(counts) != len(MODELS) or min(counts) < 0:
        raise DataError(f"counts must be {len(MODELS)} non-negative numbers, got {counts}")
    if size < 32:
        raise DataError(f"synthetic chips must be at least 32 px, got {size}")
    g = torch.Generator().manual_seed(int(seed))
    labels = torch.repeat_interleave(torch.arange(len(counts)), torch.tensor(counts))
    labels = labels[torch.randperm(labels.numel(), generator=g)]
    n = labels.numel()
    images = torch.empty((n, 1, size, size), dtype=torch.uint8)
    with tqdm(total=n, desc=f"synthetic {prefix}", unit="chip", disable=not progress, leave=False,
              mininterval=0.5) as bar:
        for start in range(0, n, chunk):
            stop = min(start + chunk, n)
            images[start:stop] = render_chips(labels[start:stop], size, g)
            bar.update(stop - start)
    ids = GeneratedIds(f"synthetic/{prefix}", labels)
    chips = ChipSet.from_tensors(images, labels, MAVOC_CLASS_NAMES, ids, source=f"synthetic:{prefix}", synthetic=True)
    release_free_memory()  # the renderer's freed temporaries (a few hundred MB at MAVOC size)
    return chips


def make_synthetic(
    scale: float = DEFAULT_SCALE,
    *,
    counts: Sequence[int] | None = None,
    test_per_class: int = 80,
    size: int = 56,
    seed: int = 0,
    min_per_class: int = 5,
    progress: bool = True,
) -> tuple[ChipSet, ChipSet]:
    """The embedded default data: a long-tailed training set and a balanced test set.

    The training set has MAVOC's class proportions times ``scale`` (or explicit
    ``counts``); the test set has ``test_per_class`` chips of every class, as MAVOC's
    near-balanced dev and test sets. Both are **synthetic** (``ChipSet.synthetic``).
    """
    counts = list(counts) if counts is not None else mavoc_counts(scale, min_per_class)
    train = generate(counts, size=size, seed=seed, prefix="train", progress=progress)
    test = generate([int(test_per_class)] * len(MODELS), size=size, seed=seed + 7919, prefix="test",
                    progress=progress)
    return train, test


def parse_synthetic_args(text: str) -> dict[str, float | int]:
    """Parse ``"scale=0.02,seed=1,test_per_class=50"`` (the part after ``synthetic:``)."""
    out: dict[str, float | int] = {}
    allowed = {"scale": float, "seed": int, "test_per_class": int, "size": int, "min_per_class": int}
    for item in filter(None, (t.strip() for t in text.split(","))):
        key, eq, value = item.partition("=")
        if not eq or key not in allowed:
            raise DataError(f"bad synthetic option {item!r}; use key=value with keys {sorted(allowed)}")
        try:
            out[key] = allowed[key](value)
        except ValueError:
            raise DataError(f"bad value for synthetic option {key}: {value!r}") from None
    return out
