"""Spatially correlated random fields for the synthetic renderer, drawn in the Fourier domain.

- :func:`speckle`: single-look speckle intensity (mean 1) behind an anisotropic, rotated
  Gaussian point-spread function, one PSF per chip;
- :func:`texture`: a zero-mean, unit-variance Gaussian field with an exponential
  autocorrelation ``exp(-r / length)``, one correlation length per chip.

Both take white Gaussian noise ``[n, 2, side, side]`` (real and imaginary part; ``side`` =
:func:`fft_side`, a power of two above the chip; drawn by the caller, so that chips rendered
in blocks draw the same numbers as all at once), shape its spectrum and return the top-left
``size x size`` crop (the field is periodic over ``side``, the crop is not).

>>> noise = torch.randn(64, 2, fft_side(40), fft_side(40), generator=torch.Generator().manual_seed(0))
>>> s = speckle(torch.full((64,), 1.3), torch.full((64,), 1.3), torch.zeros(64), 40, noise)
>>> s.shape, round(float(s.mean()), 1)
(torch.Size([64, 40, 40]), 1.0)
"""
from __future__ import annotations

import math

import torch


def fft_side(size: int, margin: int = 8) -> int:
    """The FFT side for fields of ``size`` px: the next power of two at least ``margin`` px larger."""
    return 1 << math.ceil(math.log2(size + margin))


def _frequencies(side: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Frequencies (cycles per px) along columns ``[1, side, 1]`` and rows ``[1, 1, side]``."""
    f = torch.fft.fftfreq(side)
    return f.view(1, side, 1), f.view(1, 1, side)


def _white(noise: torch.Tensor) -> torch.Tensor:
    """Complex white noise ``[n, side, side]`` with ``E|z|^2 = 1`` from real noise ``[n, 2, side, side]``."""
    return torch.complex(noise[:, 0], noise[:, 1]).mul_(math.sqrt(0.5))


def speckle(sigma_u: torch.Tensor, sigma_v: torch.Tensor, angle: torch.Tensor, size: int,
            noise: torch.Tensor) -> torch.Tensor:
    """Single-look speckle intensity ``[n, size, size]`` (mean 1): ``|PSF * complex white noise|^2``
    with a Gaussian amplitude PSF of standard deviations ``sigma_u`` / ``sigma_v`` (px) along /
    across the direction ``angle`` (radians from the rows), per chip."""
    n, side = sigma_u.numel(), noise.shape[-1]
    fy, fx = _frequencies(side)
    c, s = torch.cos(angle).view(n, 1, 1), torch.sin(angle).view(n, 1, 1)
    fu, fv = fx * c + fy * s, fy * c - fx * s
    su2, sv2 = sigma_u.square().view(n, 1, 1), sigma_v.square().view(n, 1, 1)
    gain = (fu.square_().mul_(su2).add_(fv.square_().mul_(sv2))).mul_(-2 * math.pi**2).exp_()
    gain.div_(gain.square().mean((1, 2), keepdim=True).sqrt_())  # mean |H|^2 = 1: intensity mean 1
    field = torch.fft.ifft2(_white(noise).mul_(gain), norm="ortho")[:, :size, :size]
    return field.real.square().add_(field.imag.square())


def texture(length: torch.Tensor, size: int, noise: torch.Tensor) -> torch.Tensor:
    """Two independent Gaussian fields ``[n, 2, size, size]`` with autocorrelation about
    ``exp(-r / length[i])``, each normalised to mean 0 and standard deviation 1.

    The spectrum of ``exp(-r / L)`` in 2-D is ``(1 + (2 pi f L)^2)^(-3/2)``; the real and the
    imaginary part of the shaped complex noise are the two fields.
    """
    n, side = length.numel(), noise.shape[-1]
    fy, fx = _frequencies(side)
    f2 = fx.square() + fy.square()
    gain = f2.mul(length.square().view(n, 1, 1) * (2 * math.pi) ** 2).add_(1.0).pow_(-0.75)
    shaped = torch.fft.ifft2(_white(noise).mul_(gain), norm="ortho")[:, :size, :size]
    field = torch.view_as_real(shaped).permute(0, 3, 1, 2)
    field = field - field.mean((2, 3), keepdim=True)
    return field.div_(field.std((2, 3), keepdim=True).clamp_min_(1e-6))
