"""A seeded generator of synthetic SAR-like chips with the MAVOC class structure.

**These chips are synthetic.** They imitate the look of MAVOC / UNICORN SAR chips (a
few bright scatterers on a vehicle body, correlated speckle on textured clutter, a radar
shadow; measured against real chips with :mod:`sartail.data.realism`) so that
the kit runs with no download, but results on them say nothing about real SAR.

Each of the ten MAVOC classes has its own target geometry: body parts (length, width,
height, brightness), a layout of bright point scatterers, and a radar shadow whose length
follows the height of each part and the depression angle. Every chip draws a random
orientation, a position and size jitter, a depression angle, clutter texture and scene relief
(field boundaries, roads), brightness and
contrast, single-look correlated speckle and a native size of 54 to 60 px (see
:func:`render_chips`). Neighbouring classes
(sedan / SUV, pickup / pickup with trailer, flatbed / flatbed with trailer) differ subtly,
so that a plain classifier trained on the long-tailed counts sinks the tail into the head.

>>> train, test = make_synthetic(scale=0.002, test_per_class=4, seed=0)
>>> train.class_counts().tolist()[:3], len(test)
([468, 56, 31], 40)
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from ...errors import DataError
from .._memory import release_free_memory
from ..chipset import ChipSet, GeneratedIds
from ..classes import MAVOC_CLASS_NAMES, MAVOC_TRAIN_COUNTS
from ..random_fields import fft_side, speckle, texture
from ..render_parts import MODELS, PX, Part, TargetModel, _smear_down, _soft_edge  # noqa: F401

#: The default scale of the embedded training set (about 4,400 chips; class 9 keeps 9).
DEFAULT_SCALE = 0.015


def mavoc_counts(scale: float = DEFAULT_SCALE, min_per_class: int = 5) -> list[int]:
    """MAVOC's training counts times ``scale``, rounded, at least ``min_per_class`` each."""
    if not (scale > 0):
        raise DataError(f"scale must be positive, got {scale!r}")
    return [max(int(round(c * scale)), int(min_per_class)) for c in MAVOC_TRAIN_COUNTS]


#: Native chip sizes (px) and their weights: the 826 real MAVOC test chips are 56 (666), 57 (72),
#: 58 (78) and 59 (10) px; MAVOC's chips span 54 to 60 px, so 54, 55 and 60 keep a small share.
#: Chips are rendered at their native size's field of view and centre-cropped / zero-padded to
#: the requested size, as :func:`~sartail.data.loaders.load_mavoc` does.
NATIVE_SIZES: tuple[tuple[int, float], ...] = ((54, 0.003), (55, 0.003), (56, 0.797), (57, 0.087), (58, 0.094),
                                               (59, 0.013), (60, 0.003))
#: Share of all-dark (all-zero) chips: 2 of the 826 real chips.
DARK_SHARE = 0.0024
#: Depression angles (degrees) of the radar: a target part of height h casts a shadow
#: h / tan(angle) long (drawn per chip from these, equally often).
DEPRESSION_DEG: tuple[float, ...] = (25.0, 30.0, 35.0, 40.0, 45.0)
#: Gaussian amplitude point-spread function of the speckle, per chip: the standard deviation
#: (px) along its long axis drawn from ``(low, low + span)``, the short axis that times a ratio
#: from ``(low, low + span)``, the axis at a random angle (real MAVOC speckle correlates over
#: about 2 px, with streaks whose direction changes from chip to chip).
PSF_MAJOR, PSF_RATIO = (1.4, 0.0), (0.52, 0.5)
#: Grey level = brightness * (GREY_OFFSET + GREY_SCALE * intensity ** GREY_POWER), intensity
#: relative to the mean clutter: a power-law compression between amplitude (0.5) and dB (the
#: limit 0), fitted to the real chips' grey-level histogram and lower tail.
GREY_POWER, GREY_OFFSET, GREY_SCALE = 0.21, 0.0, 107.0
#: Per chip, the offset varies by this standard deviation (grey levels): in real chips the
#: brighter ones have the lower local coefficient of variation (a varying floor).
GREY_OFFSET_SD = 8.0
#: Per chip, the power varies log-normally by this standard deviation (of its logarithm):
#: real chips differ in speckle contrast (processing, looks).
GREY_POWER_SD = 0.0
#: Clutter texture: log-normal, a Gaussian field with an exponential autocorrelation whose
#: length (px) is drawn per chip log-uniformly from ``(low, high)``, times this standard deviation.
TEXTURE_LENGTH, TEXTURE_SD = (6.0, 27.0), 0.1
#: Dark patches: where a second such field exceeds a level drawn from ``(low, low + span)``
#: (standard deviations), the log-reflectivity drops by up to a depth drawn from ``(0, PATCH_DEPTH)``.
PATCH_LEVEL, PATCH_DEPTH = (1.4, 0.04), 5.9
#: Per chip, the texture's strength is multiplied by a factor drawn from ``(low, low + span)``:
#: real scenes range from smooth fields to rough terrain.
TEXTURE_GAIN = (0.6, 1.3)
#: Per chip, drawn uniformly from ``(low, low + span)``: the diffuse return of the target body
#: and the peak return of its point scatterers (intensities over the mean clutter), and how
#: much of the clutter the shadow takes away.
BODY_GAIN, SCATTER_GAIN, SHADOW_DEPTH = (5.0, 5.0), (15.0, 25.0), (0.68, 0.11)
#: Share of the body's diffuse return that is speckled (the rest adds without speckle).
BODY_SPECKLE = 0.62
#: Log-normal chip-to-chip variation (standard deviations of the logarithm) of brightness and contrast.
BRIGHTNESS_SD, CONTRAST_SD = 0.08, 0.08
#: Target position jitter: the centre moves up to half this (px) along each axis.
JITTER = 4.0
#: Share of chips with a straight bright feature (a road edge, a wall, a guard rail).
LINE_SHARE = 0.135
#: Large-scale scene structure: a coarse log-reflectivity relief (a noise grid of this side,
#: bicubically enlarged) whose standard deviation is drawn per chip as ``max_sd * u ** 2``
#: (u uniform): most scenes flat, some with strong low-frequency relief, as the real chips'
#: widely spread autocorrelation lengths show.
RELIEF_SIDE, RELIEF_MAX_SD = 3, 1.5
#: Share of chips crossed by a field boundary (a straight edge between two terrains), and the
#: standard deviation of the log-reflectivity step across it.
FIELD_SHARE, FIELD_STEP_SD = 0.47, 0.24


def render_chips(labels: torch.Tensor, size: int, generator: torch.Generator, block: int = 256) -> torch.Tensor:
    """Render one chip per label (``int64 [B]``) as ``uint8 [B, 1, size, size]``.

    A chip is the intensity of coherent clutter and a target, compressed to grey levels:

    - clutter reflectivity: a log-normal texture with an exponential autocorrelation of per-chip
      length (:data:`TEXTURE_LENGTH`), dark patches from its twin field (:data:`PATCH_DEPTH`),
      a coarse relief of per-chip strength (:data:`RELIEF_MAX_SD`), now and then a field
      boundary (:data:`FIELD_SHARE`) and a straight bright feature (a road edge or wall);
    - the target: diffuse body parts (the class geometry of :data:`MODELS`, rotated and
      jittered) and the radar shadow behind them, whose length is each part's height over
      the tangent of the chip's depression angle (:data:`DEPRESSION_DEG`);
    - speckle: single-look, spatially correlated (a complex Gaussian field through an
      anisotropic Gaussian point-spread function at a random angle, :data:`PSF_MAJOR`),
      multiplying the clutter and :data:`BODY_SPECKLE` of the body's return (the rest is steady);
    - bright point scatterers (not speckled) on top, as a few dominant corner returns;
    - grey = brightness * (offset + scale * contrast * intensity ** power), with a brightness,
      a contrast and an offset that vary from chip to chip, rounded to uint8;
    - the chip's native size (:data:`NATIVE_SIZES`) centre-cropped / zero-padded to
      ``size``, and a rare all-dark chip (:data:`DARK_SHARE`), as in the real chips.

    The random draws (and their order) define the chips; per-pixel work runs in blocks of
    ``block`` chips, which draw the same random numbers as one draw for all.
    """
    b = labels.numel()
    g = generator
    scene = _scene(b, g)
    coords = torch.arange(size, dtype=torch.float32) - (size - 1) / 2
    body, shadow, points = _targets(labels, scene, coords, g, block)
    lines = _bright_lines(b, size, g)
    img = torch.empty(b, size, size, dtype=torch.uint8)
    for start in range(0, b, block):
        stop = min(start + block, b)
        img[start:stop] = _grey_block(scene, body[start:stop], shadow[start:stop], points[start:stop], lines, coords,
                                      start, stop, g)
    _native_size(img, g)
    img[torch.rand(b, generator=g) < DARK_SHARE] = 0
    return img.unsqueeze(1)


def _scene(b: int, g: torch.Generator) -> dict[str, Any]:
    """Per chip: the target frame (orientation, position, size jitter), depression and the looks of the scene."""
    rnd = lambda *shape: torch.rand(*shape, generator=g)  # noqa: E731
    d: dict[str, Any] = {}
    d["theta"] = rnd(b) * 2 * math.pi
    d["centre"] = (rnd(b, 2) - 0.5) * JITTER
    d["stretch"] = 1.0 + (rnd(b, 2) - 0.5) * 0.24  # length and width, +-12 %
    d["depression"] = torch.randint(0, len(DEPRESSION_DEG), (b,), generator=g)
    d["body_gain"] = BODY_GAIN[0] + BODY_GAIN[1] * rnd(b)
    d["scatter_gain"] = SCATTER_GAIN[0] + SCATTER_GAIN[1] * rnd(b)
    d["shadow_depth"] = SHADOW_DEPTH[0] + SHADOW_DEPTH[1] * rnd(b)
    d["brightness"] = torch.exp(BRIGHTNESS_SD * torch.randn(b, generator=g))
    d["contrast"] = torch.exp(CONTRAST_SD * torch.randn(b, generator=g))
    d["offset"] = GREY_OFFSET + GREY_OFFSET_SD * torch.randn(b, generator=g)
    d["power"] = GREY_POWER * torch.exp(GREY_POWER_SD * torch.randn(b, generator=g))
    d["terrain"] = TEXTURE_GAIN[0] + TEXTURE_GAIN[1] * rnd(b)  # smooth fields to rough terrain
    d["relief_sd"] = RELIEF_MAX_SD * rnd(b).square()
    d["relief"] = torch.randn(b, 1, RELIEF_SIDE, RELIEF_SIDE, generator=g)
    d["tex_length"] = torch.exp(math.log(TEXTURE_LENGTH[0]) + math.log(TEXTURE_LENGTH[1] / TEXTURE_LENGTH[0]) * rnd(b))
    d["psf_u"] = PSF_MAJOR[0] + PSF_MAJOR[1] * rnd(b)
    d["psf_v"] = d["psf_u"] * (PSF_RATIO[0] + PSF_RATIO[1] * rnd(b))
    d["psf_angle"] = rnd(b) * math.pi
    d["patch_level"] = PATCH_LEVEL[0] + PATCH_LEVEL[1] * rnd(b)
    d["patch_depth"] = PATCH_DEPTH * rnd(b)
    d["fields"] = _field_edges(b, g)
    return d


def _targets(labels: torch.Tensor, scene: dict[str, Any], coords: torch.Tensor, g: torch.Generator,
             block: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The targets' body return, shadow and point scatterers of every chip, class by class and depression by depression."""
    b, size = labels.numel(), coords.numel()
    cos, sin = torch.cos(scene["theta"]), torch.sin(scene["theta"])
    body = torch.empty(b, size, size)
    shadow = torch.empty(b, size, size)
    points = torch.empty(b, size, size)
    for cls in labels.unique().tolist():
        model = MODELS[cls]
        cls_idx = torch.nonzero(labels == cls).reshape(-1)
        amp = 0.7 + 0.6 * torch.rand(cls_idx.numel(), len(model.scatterers), generator=g)
        for d, angle in enumerate(DEPRESSION_DEG):
            pick = torch.nonzero(scene["depression"][cls_idx] == d).reshape(-1)
            idx = cls_idx[pick]
            run = 1.0 / math.tan(math.radians(angle))
            for start in range(0, idx.numel(), block):
                sub, sub_pick = idx[start : start + block], pick[start : start + block]
                refl, shad, pts = _render_targets(model, coords, scene["centre"][sub], cos[sub], sin[sub],
                                                  scene["stretch"][sub], amp[sub_pick], run)
                body[sub], shadow[sub], points[sub] = refl, shad, pts
    return body, shadow, points


def _grey_block(scene: dict[str, Any], body: torch.Tensor, shadow: torch.Tensor, points: torch.Tensor,
                lines: tuple[torch.Tensor, torch.Tensor], coords: torch.Tensor, start: int, stop: int,
                g: torch.Generator) -> torch.Tensor:
    """The grey levels of chips ``start:stop``: clutter texture, targets, speckle and the grey mapping."""
    n, size = stop - start, coords.numel()
    at = {k: v[start:stop] for k, v in scene.items() if isinstance(v, torch.Tensor)}
    # clutter reflectivity: a log-normal texture of per-chip strength and correlation length
    # per chip: the texture's noise (at half resolution: the texture is smooth), the speckle's
    half = (size + 1) // 2
    tex_side, side = fft_side(half, 4), fft_side(size)
    noise = torch.randn(n, 2 * tex_side * tex_side + 2 * side * side, generator=g)
    fields2 = texture(at["tex_length"] / 2, half, noise[:, : 2 * tex_side**2].view(n, 2, tex_side, tex_side))
    fields2 = F.interpolate(fields2, size=(size, size), mode="bilinear", align_corners=False)
    tex = fields2[:, 0].mul_((TEXTURE_SD * at["terrain"]).view(n, 1, 1))
    # dark patches (tarmac, water, the shadows of trees and buildings) where the second field is high
    tex.sub_(fields2[:, 1].sub_(at["patch_level"].view(n, 1, 1)).mul_(3.0).sigmoid_()
             .mul_(at["patch_depth"].view(n, 1, 1)))
    if RELIEF_MAX_SD > 0:
        big = F.interpolate(at["relief"], size=(size, size), mode="bicubic", align_corners=False)
        tex.add_(big.squeeze_(1).mul_(at["relief_sd"].view(n, 1, 1)))
    _add_field_edges(tex, scene["fields"], start, coords)
    refl = tex.exp_()
    refl.div_(refl.flatten(1).mean(1).view(n, 1, 1))
    sel = lines[0] >= start
    sel &= lines[0] < stop
    if sel.any():
        refl[lines[0][sel] - start] += lines[1][sel]
    refl.mul_(shadow.mul_(-at["shadow_depth"].view(n, 1, 1)).add_(1.0))
    ret = body.mul_(at["body_gain"].view(n, 1, 1))
    refl.add_(ret, alpha=BODY_SPECKLE)
    # single-look correlated speckle (mean 1) behind a rotated anisotropic PSF
    intensity = refl.mul_(speckle(at["psf_u"], at["psf_v"], at["psf_angle"], size,
                                  noise[:, 2 * tex_side**2 :].view(n, 2, side, side)))
    if BODY_SPECKLE < 1.0:  # the rest of the body's return is steady (many bright facets)
        intensity.add_(ret, alpha=1.0 - BODY_SPECKLE)
    intensity.add_(points.mul_(at["scatter_gain"].view(n, 1, 1)))
    grey = intensity.clamp_min_(0).pow_(at["power"].view(n, 1, 1)).mul_((GREY_SCALE * at["contrast"]).view(n, 1, 1))
    grey.add_(at["offset"].view(n, 1, 1)).mul_(at["brightness"].view(n, 1, 1))
    return grey.clamp_(0, 255).round_().to(torch.uint8)


def _bright_lines(b: int, size: int, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Chips with a straight bright feature, and its reflectivity ``[k, size, size]``."""
    has = torch.rand(b, generator=g) < LINE_SHARE
    idx = torch.nonzero(has).reshape(-1)
    k = idx.numel()
    phi = torch.rand(k, generator=g) * math.pi
    offset = (torch.rand(k, generator=g) - 0.5) * size * 0.9
    strength = 1.0 + 3.0 * torch.rand(k, generator=g)
    width = 0.8 + 1.2 * torch.rand(k, generator=g)
    coords = torch.arange(size, dtype=torch.float32) - (size - 1) / 2
    x, y = coords.view(1, 1, size), coords.view(1, size, 1)
    dist = x * torch.cos(phi).view(k, 1, 1) + y * torch.sin(phi).view(k, 1, 1) - offset.view(k, 1, 1)
    refl = dist.square_().div_((-2 * width.square()).view(k, 1, 1)).clamp_min_(-80.0).exp_()
    return idx, refl.mul_(strength.view(k, 1, 1))


def _field_edges(b: int, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per chip: the direction and offset of a field boundary and the log-reflectivity step
    across it (0 for the chips without one, :data:`FIELD_SHARE`)."""
    has = torch.rand(b, generator=g) < FIELD_SHARE
    phi = torch.rand(b, generator=g) * (2 * math.pi)
    offset = (torch.rand(b, generator=g) - 0.5) * 40.0
    step = torch.randn(b, generator=g) * FIELD_STEP_SD * has
    return phi, offset, step


def _add_field_edges(tex: torch.Tensor, fields: tuple[torch.Tensor, torch.Tensor, torch.Tensor], start: int,
                     coords: torch.Tensor) -> None:
    """Add the field-boundary steps of chips ``start..start + n`` to their log-reflectivity ``tex`` [n, S, S]."""
    n, size = tex.shape[0], tex.shape[-1]
    phi, offset, step = (f[start : start + n] for f in fields)
    idx = torch.nonzero(step).reshape(-1)
    if idx.numel() == 0:
        return
    k = idx.numel()
    x, y = coords.view(1, 1, size), coords.view(1, size, 1)
    dist = x * torch.cos(phi[idx]).view(k, 1, 1) + y * torch.sin(phi[idx]).view(k, 1, 1) - offset[idx].view(k, 1, 1)
    tex[idx] += dist.mul_(1.5).sigmoid_().mul_(step[idx].view(k, 1, 1))


def _native_size(img: torch.Tensor, g: torch.Generator) -> None:
    """Zero-pad chips whose native size (drawn from :data:`NATIVE_SIZES`) is below the chip
    size, centred as :func:`~sartail.data.decode.fit_chip` pads (larger chips are cropped:
    the rendered field of view already is the centre crop)."""
    b, size = img.shape[0], img.shape[-1]
    sizes = torch.tensor([s for s, _ in NATIVE_SIZES])
    weights = torch.tensor([w for _, w in NATIVE_SIZES], dtype=torch.float64)
    native = sizes[torch.multinomial(weights, b, replacement=True, generator=g)]
    for n in native.unique().tolist():
        if n >= size:
            continue
        idx = torch.nonzero(native == n).reshape(-1)
        top = (size - n) // 2
        bottom = size - n - top
        if top:
            img[idx, :top, :] = 0
            img[idx, :, :top] = 0
        if bottom:
            img[idx, size - bottom:, :] = 0
            img[idx, :, size - bottom:] = 0


def _render_targets(model: TargetModel, coords: torch.Tensor, centre: torch.Tensor, cos: torch.Tensor,
                    sin: torch.Tensor, stretch: torch.Tensor, amp: torch.Tensor,
                    shadow_run: float = 2.2) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Body reflectivity, shadow mask and point scatterers ``[n, S, S]`` of ``n`` chips of one class.

    A part of height ``h`` casts a shadow ``h * shadow_run`` long (``1 / tan(depression)``).
    """
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
        torch.maximum(shad, _smear_down(inside, round(part.height * shadow_run * PX)), out=shad)
    shad.sub_(refl.mul(4.0)).clamp_(0.0, 1.0)  # no shadow where the target returns
    pts = torch.zeros(n, size, size)
    dv2: dict[float, torch.Tensor] = {}
    for j, (pu, pv, a) in enumerate(model.scatterers):
        if pv not in dv2:
            dv2[pv] = (v0 - pv).square_()
        # exp() of arguments below -87 takes a slow path and only yields 0 or denormals
        # that vanish beside the clutter: clamp them (the sum is unchanged in float32)
        spot = (u0 - pu).square_().add_(dv2[pv]).div_(-0.9).clamp_min_(-80.0).exp_()
        pts.add_(spot.mul_((a * amp[:, j]).view(n, 1, 1)))
    return refl, shad, pts


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
