"""Batched tensor augmentation for SAR chips (no per-image PIL work in the training loop).

All operations act on a whole float batch ``[B, 1, H, W]`` at once and draw their randomness
from an explicit :class:`torch.Generator`, so a run is reproducible and resumable.
"""
from __future__ import annotations

import numpy as np
import torch

from ..config import AugmentConfig


def random_translate(x: torch.Tensor, max_shift: int, g: torch.Generator) -> torch.Tensor:
    """Shift every chip by its own random offset in ``[-max_shift, max_shift]`` (zero fill)."""
    if max_shift <= 0:
        return x
    dy, dx = _draw_shifts(x.shape[0], max_shift, g)
    return _shift_and_flip(x, max_shift, dy, dx, None)


def random_flip(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """Mirror each chip left-right with probability 0.5."""
    flip = _draw_flips(x.shape[0], g).to(x.device)
    return torch.where(flip[:, None, None, None], x.flip(-1), x)


def _draw_shifts(b: int, max_shift: int, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Per chip, the top-left corner ``(dy, dx)`` of its window in the zero-padded chip."""
    dy = torch.randint(0, 2 * max_shift + 1, (b,), generator=g)
    dx = torch.randint(0, 2 * max_shift + 1, (b,), generator=g)
    return dy, dx


def _draw_flips(b: int, g: torch.Generator) -> torch.Tensor:
    return torch.rand(b, generator=g) < 0.5


def _shift_and_flip(x: torch.Tensor, pad: int, dy: torch.Tensor, dx: torch.Tensor,
                    flip: torch.Tensor | None) -> torch.Tensor:
    """Each chip's ``H x W`` window at ``(dy, dx)`` of the zero-padded batch, mirrored where
    ``flip``: one gather, whatever the mix of offsets (per-element advanced indexing was the
    slowest step of an in-memory epoch)."""
    b, c, h, w = x.shape
    dev = x.device
    padded = torch.nn.functional.pad(x, (pad, pad, pad, pad))
    wp = w + 2 * pad
    cols = torch.arange(w, device=dev).expand(b, w)
    if flip is not None:
        cols = torch.where(flip.to(dev)[:, None], (w - 1) - cols, cols)
    rows = dy.to(dev)[:, None] + torch.arange(h, device=dev)[None, :]  # [B, H]
    index = (rows * wp)[:, :, None] + (dx.to(dev)[:, None] + cols)[:, None, :]  # [B, H, W] into the padded plane
    index = index.reshape(b, 1, h * w).expand(b, c, h * w)
    return padded.reshape(b, c, -1).gather(2, index).view(b, c, h, w)


def random_rot90(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    if x.shape[-1] != x.shape[-2]:
        raise ValueError("rot90 needs square chips")
    k = torch.randint(0, 4, (x.shape[0],), generator=g).to(x.device)
    out = x.clone()
    for r in (1, 2, 3):
        sel = k == r
        if sel.any():
            out[sel] = torch.rot90(x[sel], r, dims=(-2, -1))
    return out


def random_speckle(x: torch.Tensor, looks: float, g: torch.Generator) -> torch.Tensor:
    """Multiply by unit-mean gamma noise of ``looks`` looks (the mean of that many exponentials)."""
    k = max(1, int(round(looks)))
    e = -torch.log(torch.rand((k, *x.shape), generator=g).clamp_min(1e-12)).mean(0)
    return x * e.to(x.device)


def random_rotate(x: torch.Tensor, degrees: float, g: torch.Generator) -> torch.Tensor:
    """Rotate each chip by its own angle in ``[-degrees, degrees]`` about its centre (bilinear, edges reflected)."""
    angle = (torch.rand(x.shape[0], generator=g) * 2 - 1) * (degrees * np.pi / 180)
    cos, sin = torch.cos(angle), torch.sin(angle)
    zero = torch.zeros_like(cos)
    theta = torch.stack([torch.stack([cos, -sin, zero], 1), torch.stack([sin, cos, zero], 1)], 1)
    grid = torch.nn.functional.affine_grid(theta.to(x.device, x.dtype), list(x.shape), align_corners=False)
    return torch.nn.functional.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)


def random_erase(x: torch.Tensor, p: float, g: torch.Generator) -> torch.Tensor:
    """With probability ``p`` per chip, fill one random box (2-20 % of its area, aspect 0.3-3.3) with its mean."""
    b, _, h, w = x.shape
    u = torch.rand(b, 5, generator=g)
    area = (0.02 + 0.18 * u[:, 1]) * h * w
    aspect = torch.exp(np.log(0.3) + (np.log(1 / 0.3) - np.log(0.3)) * u[:, 2])
    bh = (area * aspect).sqrt().round().clamp(1, h)
    bw = (area / aspect).sqrt().round().clamp(1, w)
    y0 = ((h - bh) * u[:, 3]).floor()
    x0 = ((w - bw) * u[:, 4]).floor()
    rows = torch.arange(h)[None, :]
    cols = torch.arange(w)[None, :]
    in_y = (rows >= y0[:, None]) & (rows < (y0 + bh)[:, None])
    in_x = (cols >= x0[:, None]) & (cols < (x0 + bw)[:, None])
    box = (in_y[:, :, None] & in_x[:, None, :]) & (u[:, 0] < p)[:, None, None]
    box = box[:, None].to(x.device)
    return torch.where(box, x.mean(dim=(-2, -1), keepdim=True), x)


def random_gamma(x: torch.Tensor, amount: float, g: torch.Generator) -> torch.Tensor:
    """``255 * (x / 255) ** exp(u)`` with ``u`` uniform in ``[-amount, amount]`` per chip (values 0..255)."""
    u = (torch.rand(x.shape[0], generator=g) * 2 - 1) * amount
    return 255.0 * (x.clamp(0, 255) / 255.0) ** torch.exp(u).to(x.device, x.dtype)[:, None, None, None]


def random_crop(x: torch.Tensor, size: int, g: torch.Generator) -> torch.Tensor:
    """A random ``size`` x ``size`` window of real pixels of every chip of ``x`` ``[B, 1, H, W]`` (one gather)."""
    b, _, h, w = x.shape
    dy = torch.randint(0, h - size + 1, (b,), generator=g).to(x.device)
    dx = torch.randint(0, w - size + 1, (b,), generator=g).to(x.device)
    ar = torch.arange(size, device=x.device)
    rows = (dy[:, None] + ar)[:, :, None]
    cols = (dx[:, None] + ar)[:, None, :]
    return x[torch.arange(b, device=x.device)[:, None, None], 0, rows, cols][:, None]


def augment_batch(x: torch.Tensor, cfg: AugmentConfig, g: torch.Generator) -> torch.Tensor:
    """Apply ``cfg`` to a float batch ``[B, 1, H, W]`` (values in chip units, 0..255)."""
    if cfg.speckle:
        x = random_speckle(x, cfg.speckle, g)
    if cfg.crop and cfg.flip:  # the same draws as a shift then a flip, done in one pass
        dy, dx = _draw_shifts(x.shape[0], cfg.crop, g)
        x = _shift_and_flip(x, cfg.crop, dy, dx, _draw_flips(x.shape[0], g))
    elif cfg.crop:
        x = random_translate(x, cfg.crop, g)
    elif cfg.flip:
        x = random_flip(x, g)
    if cfg.rot90:
        x = random_rot90(x, g)
    # the options below draw nothing when off, so older runs keep their random streams
    if cfg.rotate:
        x = random_rotate(x, cfg.rotate, g)
    if cfg.gamma:
        x = random_gamma(x, cfg.gamma, g)
    if cfg.erase:
        x = random_erase(x, cfg.erase, g)
    return x


def mixup(x: torch.Tensor, alpha: float, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, float]:
    """Mix the batch with a shuffled copy of itself. Returns ``(mixed, permutation, lam)``.

    ``lam`` is drawn from Beta(alpha, alpha) by a NumPy generator seeded from ``g``.
    """
    seed = int(torch.randint(0, 2**31 - 1, (1,), generator=g))
    lam = float(np.random.default_rng(seed).beta(alpha, alpha)) if alpha > 0 else 1.0
    perm = torch.randperm(x.shape[0], generator=g).to(x.device)
    return lam * x + (1 - lam) * x[perm], perm, lam


def cutmix_box(h: int, w: int, lam: float, cy: float, cx: float) -> tuple[int, int, int, int]:
    """Yun et al.'s box ``(y0, y1, x0, x1)``: sides ``sqrt(1 - lam)`` of the chip's, centred at
    ``(cy, cx)``, clipped to the chip (so its area may be smaller than ``1 - lam``)."""
    ch, cw = int(h * (1 - lam) ** 0.5), int(w * (1 - lam) ** 0.5)
    cy_i, cx_i = int(cy), int(cx)
    return (min(max(cy_i - ch // 2, 0), h), min(max(cy_i + ch // 2, 0), h),
            min(max(cx_i - cw // 2, 0), w), min(max(cx_i + cw // 2, 0), w))


def paste_box(x: torch.Tensor, perm: torch.Tensor, box: tuple[int, int, int, int]) -> tuple[torch.Tensor, float]:
    """``x`` with ``box`` taken from ``x[perm]``; returns it and ``lam``, the exact share of
    each chip's pixels still its own (the weight of its own label)."""
    y0, y1, x0, x1 = box
    out = x.clone()
    out[..., y0:y1, x0:x1] = x[..., y0:y1, x0:x1][perm]
    return out, 1.0 - (y1 - y0) * (x1 - x0) / (x.shape[-2] * x.shape[-1])


def chip_energy(x: torch.Tensor) -> torch.Tensor:
    """Per-pixel energy of each chip of ``x`` ``[B, 1, H, W]``: its squared grey level above the
    chip's own median (the clutter floor), so that the bright scatterers of a target dominate."""
    floor = x.flatten(1).median(dim=1).values[:, None, None, None]
    return (x - floor).clamp_min(0).square()


def energy_shares(x: torch.Tensor, perm: torch.Tensor, box: tuple[int, int, int, int],
                  area_lam: float) -> torch.Tensor:
    """Per-chip weight of each mixed chip's own label when ``box`` comes from ``x[perm]``.

    Chip ``i`` keeps the share ``a`` of its energy outside the box and receives the share
    ``b`` of chip ``perm[i]``'s energy inside it; its own label weighs ``a / (a + b)``. A chip
    with no energy at all (``a + b == 0``) falls back to the area weight ``area_lam``.
    """
    y0, y1, x0, x1 = box
    e = chip_energy(x.float())
    total = e.sum(dim=(1, 2, 3))
    inside = e[..., y0:y1, x0:x1].sum(dim=(1, 2, 3))
    share_in = torch.where(total > 0, inside / total.clamp_min(1e-12), torch.zeros_like(total))
    own = torch.where(total > 0, 1 - share_in, torch.zeros_like(total))
    other = share_in[perm]
    norm = own + other
    return torch.where(norm > 0, own / norm.clamp_min(1e-12), torch.full_like(norm, area_lam))


def same_class_partners(perm: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """A permutation that sends every chip to a chip of its own class (``y``), drawn from the
    random permutation ``perm``: within each class, the chips in index order are paired with the
    same chips in ``perm``'s order (a chip alone in its class is paired with itself)."""
    by_class = torch.argsort(y, stable=True)
    shuffled = perm[torch.argsort(y[perm], stable=True)]
    out = torch.empty_like(perm)
    out[by_class] = shuffled
    return out


def cutmix(x: torch.Tensor, alpha: float, g: torch.Generator, center: float = 1.0,
           labels: str = "area", y: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor, float | torch.Tensor]:
    """CutMix the batch with a shuffled copy of itself. Returns ``(mixed, permutation, lam)``.

    One box for the batch, as Yun et al.: its area share ``1 - lam0`` with ``lam0`` from
    Beta(alpha, alpha) (a NumPy generator seeded from ``g``), its centre uniform in the central
    ``center`` fraction of each side. With ``labels="area"`` the returned ``lam`` is a float
    recomputed from the clipped box; with ``"energy"`` it is a tensor ``[B]``, each chip's own
    share of energy (:func:`energy_shares`). Both draw the same random numbers. Given the labels
    ``y``, each box comes from a chip of the same class (:func:`same_class_partners`), with the
    same random numbers again.
    """
    seed = int(torch.randint(0, 2**31 - 1, (1,), generator=g))
    lam0 = float(np.random.default_rng(seed).beta(alpha, alpha))
    perm = torch.randperm(x.shape[0], generator=g).to(x.device)
    if y is not None:
        perm = same_class_partners(perm, y.to(x.device))
    u = torch.rand(2, generator=g).tolist()
    h, w = x.shape[-2:]
    cy, cx = h / 2 + (u[0] - 0.5) * center * h, w / 2 + (u[1] - 0.5) * center * w
    box = cutmix_box(h, w, lam0, cy, cx)
    mixed, lam = paste_box(x, perm, box)
    if labels == "energy":
        return mixed, perm, energy_shares(x, perm, box, lam)
    return mixed, perm, lam


def mix_batch(x: torch.Tensor, cfg: AugmentConfig, g: torch.Generator,
              y: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor, float | torch.Tensor] | None:
    """Mixup or CutMix as ``cfg`` asks: ``(mixed, permutation, lam)``, or ``None`` if neither is on
    (or this batch is one that ``cfg.cutmix_prob`` leaves unmixed).

    The loss is then ``lam * loss(y) + (1 - lam) * loss(y[permutation])``, per chip when
    ``lam`` is a tensor (:func:`sartail.train.losses.mixed_loss`). ``cfg.cutmix_pairs:
    same_class`` needs the labels ``y``.
    """
    if cfg.mixup > 0:
        return mixup(x, cfg.mixup, g)
    if cfg.cutmix > 0:
        # a draw only when some batches stay unmixed, so that runs at cutmix_prob 1 keep their stream
        if cfg.cutmix_prob < 1 and float(torch.rand(1, generator=g)) >= cfg.cutmix_prob:
            return None
        if cfg.cutmix_pairs == "same_class" and y is None:
            raise ValueError("augment.cutmix_pairs: same_class needs the batch's labels")
        return cutmix(x, cfg.cutmix, g, cfg.cutmix_center, cfg.cutmix_labels,
                      y if cfg.cutmix_pairs == "same_class" else None)
    return None
