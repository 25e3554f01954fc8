"""A SAR chip's regions: its bright target returns, its shadow and the clutter around them.

:func:`segment_chip` splits a chip into its bright target returns (above a high percentile
after smoothing, cleaned: opened, kept near the brightest blob, holes filled), its shadow (a
dark region, below a low percentile, within reach of the target) and clutter (the rest, zero
padding included). :func:`region_shares` gives the share of a map's *positive* values that
falls on each region (used by :mod:`sartail.eval.saliency` for attribution maps).
"""
from __future__ import annotations

import numpy as np
import torch

from ..errors import ConfigError

REGIONS = ("target", "shadow", "clutter")
#: Region codes in a segmentation map.
TARGET, SHADOW, CLUTTER = 1, 2, 0


# ------------------------------------------------------------------------------ segmentation
def segment_chip(chip: np.ndarray | torch.Tensor, *, target_percentile: float = 95.0, shadow_percentile: float = 20.0,
                 shadow_ratio: float = 0.7, smooth: float = 1.5, reach: float = 0.2) -> np.ndarray:
    """A map ``int8 [H, W]`` of a chip: ``1`` target (bright returns), ``2`` shadow, ``0`` clutter.

    The chip (``[H, W]`` or ``[1, H, W]``) is smoothed (Gaussian, ``smooth`` px) against
    speckle; percentiles are taken over its non-zero pixels (zero padding is not data).
    Target: pixels above ``target_percentile``, opened (3x3), keeping the largest blob and
    every blob at least a fifth of its size, closed and hole-filled. Shadow: pixels below
    ``shadow_percentile`` and below ``shadow_ratio`` times the median (padding excluded), opened, kept where they lie within ``reach`` (a fraction of
    the chip size) of the target, dropping blobs under 30 % of the largest. Clutter: everything else.
    """
    from scipy import ndimage as ndi

    a = np.asarray(chip.numpy() if isinstance(chip, torch.Tensor) else chip, dtype=np.float64)
    if a.ndim == 3 and a.shape[0] == 1:
        a = a[0]
    if a.ndim != 2:
        raise ValueError(f"a chip must be [H, W] or [1, H, W], got shape {a.shape}")
    if not (0 < shadow_percentile < target_percentile < 100):
        raise ConfigError(f"need 0 < shadow_percentile < target_percentile < 100, got {shadow_percentile}, "
                          f"{target_percentile}")
    out = np.zeros(a.shape, dtype=np.int8)
    valid = a > 0
    if valid.sum() < 4:
        return out
    s = _smooth(a, valid, smooth)
    hi = np.percentile(s[valid], target_percentile)
    cross = ndi.generate_binary_structure(2, 1)
    bright = ndi.binary_opening(valid & (s > hi), structure=cross)
    lab, n = ndi.label(bright)
    if n == 0:
        return out
    sizes = ndi.sum(bright, lab, index=np.arange(1, n + 1))
    keep = np.flatnonzero(sizes >= 0.2 * sizes.max()) + 1
    target = np.isin(lab, keep)
    target = ndi.binary_fill_holes(ndi.binary_closing(target, structure=cross, iterations=1)) & valid
    r = max(1, round(reach * max(a.shape)))
    near = ndi.distance_transform_edt(~target) <= r
    # a shadow is dark against the clutter level, not only against the chip's other pixels
    cut = min(np.percentile(s[valid], shadow_percentile), shadow_ratio * np.median(s[valid]))
    dark = ndi.binary_opening(valid & (s < cut) & ~target, structure=cross)
    lab, n = ndi.label(dark)
    shadow = np.zeros_like(dark)
    touching = np.unique(lab[near & dark])
    touching = touching[touching > 0]
    if touching.size:
        sizes = ndi.sum(dark & near, lab, index=touching)
        keep = touching[sizes >= 0.3 * sizes.max()]
        shadow = np.isin(lab, keep) & near
    out[target] = TARGET
    out[shadow & ~target] = SHADOW
    return out


def _smooth(a: np.ndarray, valid: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian smoothing over the data pixels only: the zero padding does not darken the pixels next to it."""
    from scipy import ndimage as ndi

    if sigma <= 0:
        return a
    weight = ndi.gaussian_filter(valid.astype(np.float64), sigma)
    return ndi.gaussian_filter(np.where(valid, a, 0.0), sigma) / np.maximum(weight, 1e-6)


def region_areas(segments: np.ndarray) -> np.ndarray:
    """Share of the chip's area in each region (target, shadow, clutter): ``[..., 3]``."""
    seg = np.asarray(segments)
    flat = seg.reshape(*seg.shape[:-2], -1)
    return np.stack([(flat == TARGET).mean(-1), (flat == SHADOW).mean(-1), (flat == CLUTTER).mean(-1)], -1)


def region_shares(maps: np.ndarray, segments: np.ndarray) -> np.ndarray:
    """Share of the positive attribution of each map on target, shadow and clutter: ``[N, 3]``.

    ``maps`` and ``segments`` are ``[N, H, W]`` (or one ``[H, W]`` each). A map with no
    positive attribution gives NaN shares.
    """
    m = np.clip(np.asarray(maps, dtype=np.float64), 0, None)
    seg = np.asarray(segments)
    if m.shape != seg.shape:
        raise ValueError(f"maps {m.shape} and segmentations {seg.shape} differ in shape")
    single = m.ndim == 2
    m, seg = (m[None], seg[None]) if single else (m, seg)
    total = m.reshape(len(m), -1).sum(1)
    parts = np.stack([(m * (seg == code)).reshape(len(m), -1).sum(1) for code in (TARGET, SHADOW, CLUTTER)], 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        shares = np.where(total[:, None] > 0, parts / total[:, None], np.nan)
    return shares[0] if single else shares
