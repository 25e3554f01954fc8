"""Decoding one chip file into an 8-bit greyscale array of a fixed size.

Every check here names the file at fault: unreadable or truncated images, non-image files,
colour or 16-bit chips (converted with a note, or refused), and chips smaller than the
requested size when padding is off. Chips are brought to one size by centre crop or zero
pad, never by resizing (in MSTAR the chip size alone gives the class away).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image, UnidentifiedImageError

from ..errors import DataError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
Policy = Literal["convert", "refuse"]
Fit = Literal["crop_or_pad", "crop"]


@dataclass(frozen=True)
class DecodeOptions:
    """How chips are brought to one 8-bit greyscale size.

    Attributes:
        size: output ``(height, width)``; ``None`` keeps the native size (all chips must agree).
        fit: ``"crop_or_pad"`` centre-crops larger chips and zero-pads smaller ones;
            ``"crop"`` refuses chips smaller than ``size``.
        colour: ``"convert"`` turns RGB(A) chips to greyscale with a note; ``"refuse"`` errors.
        depth: ``"convert"`` scales 16-bit chips to 8 bits with a note; ``"refuse"`` errors.
    """

    size: tuple[int, int] | None = (56, 56)
    fit: Fit = "crop_or_pad"
    colour: Policy = "convert"
    depth: Policy = "convert"

    def __post_init__(self) -> None:
        if self.size is not None:
            size = (int(self.size), int(self.size)) if isinstance(self.size, int) else tuple(int(s) for s in self.size)
            if len(size) != 2 or min(size) < 1:
                raise DataError(f"chip size must be a positive (height, width), got {self.size!r}")
            object.__setattr__(self, "size", size)
        if self.fit not in ("crop_or_pad", "crop"):
            raise DataError(f"fit must be 'crop_or_pad' or 'crop', got {self.fit!r}")
        for name in ("colour", "depth"):
            if getattr(self, name) not in ("convert", "refuse"):
                raise DataError(f"{name} must be 'convert' or 'refuse', got {getattr(self, name)!r}")


def decode_chip(path: str | Path, options: DecodeOptions = DecodeOptions()) -> tuple[np.ndarray, str | None]:
    """Read ``path`` as an 8-bit greyscale chip of ``options.size``.

    Returns ``(array, note)`` where ``note`` says what was converted (or ``None``).
    Raises :class:`DataError` naming the file for anything that is not a readable chip.
    """
    path = Path(path)
    note = None
    try:
        if path.stat().st_size == 0:
            raise DataError(f"{path}: empty file (0 bytes), not an image")
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                im.load()
                arr, note = _to_grey8(path, im, options)
    except DataError:
        raise
    except UnidentifiedImageError:
        raise DataError(f"{path}: not an image file (cannot identify its format)") from None
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise DataError(f"{path}: unreadable or truncated image ({exc})") from None
    except Exception as exc:  # decoders raise many kinds of error on corrupted bytes
        raise DataError(f"{path}: corrupt image ({type(exc).__name__}: {exc})") from None
    if arr.ndim != 2 or arr.size == 0:
        raise DataError(f"{path}: decoded to an empty or non-2-D array of shape {arr.shape}")
    return fit_chip(arr, options, path), note


def _to_grey8(path: Path, im: Image.Image, options: DecodeOptions) -> tuple[np.ndarray, str | None]:
    mode = im.mode
    if mode == "L":
        return np.asarray(im, dtype=np.uint8), None
    if mode == "1":
        return np.asarray(im.convert("L"), dtype=np.uint8), None
    if mode.startswith(("I", "F")):
        if options.depth == "refuse":
            raise DataError(f"{path}: {mode} chip (more than 8 bits) where 8-bit greyscale is expected")
        arr = np.asarray(im).astype(np.float64)
        hi = 65535.0 if mode.startswith("I;16") or arr.max() > 255 else 255.0
        if mode.startswith("F"):
            lo, top = float(arr.min()), float(arr.max())
            arr = (arr - lo) / (top - lo or 1.0) * 255.0
        else:
            arr = arr / hi * 255.0
        return np.clip(np.rint(arr), 0, 255).astype(np.uint8), f"{path}: {mode} chip scaled to 8 bits"
    # RGB, RGBA, LA, P (palette), CMYK, ...
    if options.colour == "refuse":
        raise DataError(f"{path}: {mode} chip where 8-bit greyscale is expected (colour='refuse')")
    return np.asarray(im.convert("L"), dtype=np.uint8), f"{path}: {mode} chip converted to greyscale"


def fit_chip(arr: np.ndarray, options: DecodeOptions, path: str | Path = "<array>") -> np.ndarray:
    """Centre-crop and/or zero-pad ``arr`` (H x W) to ``options.size``; never resize."""
    if options.size is None:
        return np.ascontiguousarray(arr)
    out_h, out_w = options.size
    h, w = arr.shape
    if options.fit == "crop" and (h < out_h or w < out_w):
        raise DataError(
            f"{path}: chip of {h}x{w} px is smaller than the requested {out_h}x{out_w} "
            "and padding is off (fit='crop'); use fit='crop_or_pad' to zero-pad it"
        )
    # centre crop
    top, left = max((h - out_h) // 2, 0), max((w - out_w) // 2, 0)
    arr = arr[top : top + out_h, left : left + out_w]
    h, w = arr.shape
    if (h, w) == (out_h, out_w):
        return np.ascontiguousarray(arr)
    out = np.zeros((out_h, out_w), dtype=np.uint8)
    pt, pl = (out_h - h) // 2, (out_w - w) // 2
    out[pt : pt + h, pl : pl + w] = arr
    return out
