"""Spatially correlated random fields for the synthetic renderer, drawn in the Fourier domain.

- :func:`speckle`: single-look speckle intensity (mean 1) behind an anisotropic, rotated
  Gaussian point-spread function, one PSF per chip;
- :func:`texture`: a zero-mean, unit-variance Gaussian field with an exponential
  autocorrelation ``exp(-r / length)``, one correlation length per chip.

Both draw white complex noise of ``side x side`` (a power of two above the chip) with the
given generator, shape its spectrum and return the top-left ``size x size`` crop (the field is
periodic over ``side``, the crop is not).

>>> g = torch.Generator().manual_seed(0)
>>> s = speckle(torch.full((64,), 1.3), torch.full((64,), 1.3), torch.zeros(64), 40, g)
>>> s.shape, round(float(s.mean()), 1)
(torch.Size([64, 40, 40]), 1.0)
"""
from __future__ import annotations

import math

import torch


def fft_side(size: int) -> int:
    """The FFT side used for chips of ``size`` px: the next power of two at least 8 px larger."""
    return 1 << math.ceil(math.log2(size + 8))


def _frequencies(side: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Frequencies (cycles per px) along columns ``[1, side, 1]`` and rows ``[1, 1, side]``."""
    f = torch.fft.fftfreq(side)
    return f.view(1, side, 1), f.view(1, 1, side)


def _white(n: int, side: int, g: torch.Generator) -> torch.Tensor:
    """Complex white Gaussian noise ``[n, side, side]`` with ``E|z|^2 = 1``."""
    z = torch.randn(n, 2, side, side, generator=g).mul_(math.sqrt(0.5))
    return torch.complex(z[:, 0], z[:, 1])


def speckle(sigma_u: torch.Tensor, sigma_v: torch.Tensor, angle: torch.Tensor, size: int,
            g: torch.Generator) -> torch.Tensor:
    """Single-look speckle intensity ``[n, size, size]`` (mean 1): ``|PSF * complex white noise|^2``
    with a Gaussian amplitude PSF of standard deviations ``sigma_u`` / ``sigma_v`` (px) along /
    across the direction ``angle`` (radians from the rows), per chip."""
    n, side = sigma_u.numel(), fft_side(size)
    fy, fx = _frequencies(side)
    c, s = torch.cos(angle).view(n, 1, 1), torch.sin(angle).view(n, 1, 1)
    fu, fv = fx * c + fy * s, fy * c - fx * s
    su2, sv2 = sigma_u.square().view(n, 1, 1), sigma_v.square().view(n, 1, 1)
    gain = (fu.square_().mul_(su2).add_(fv.square_().mul_(sv2))).mul_(-2 * math.pi**2).exp_()
    gain.div_(gain.square().mean((1, 2), keepdim=True).sqrt_())  # mean |H|^2 = 1: intensity mean 1
    field = torch.fft.ifft2(_white(n, side, g).mul_(gain), norm="ortho")[:, :size, :size]
    return field.real.square().add_(field.imag.square())


def texture(length: torch.Tensor, size: int, g: torch.Generator) -> torch.Tensor:
    """Two independent Gaussian fields ``[n, 2, size, size]`` with autocorrelation about
    ``exp(-r / length[i])``, each normalised to mean 0 and standard deviation 1.

    The spectrum of ``exp(-r / L)`` in 2-D is ``(1 + (2 pi f L)^2)^(-3/2)``; the real and the
    imaginary part of the shaped complex noise are the two fields.
    """
    n, side = length.numel(), fft_side(size)
    fy, fx = _frequencies(side)
    f2 = fx.square() + fy.square()
    gain = f2.mul(length.square().view(n, 1, 1) * (2 * math.pi) ** 2).add_(1.0).pow_(-0.75)
    shaped = torch.fft.ifft2(_white(n, side, g).mul_(gain), norm="ortho")[:, :size, :size]
    field = torch.view_as_real(shaped).permute(0, 3, 1, 2)
    field = field - field.mean((2, 3), keepdim=True)
    return field.div_(field.std((2, 3), keepdim=True).clamp_min_(1e-6))
