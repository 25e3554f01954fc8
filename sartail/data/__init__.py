"""Chip sets, their loaders, the synthetic default and long-tail tools."""
from .chipset import UNLABELLED, ChipSet
from .decode import DecodeOptions, decode_chip
from .loaders import (
    DATA_KINDS,
    MAVOC_CLASS_NAMES,
    MAVOC_TRAIN_COUNTS,
    MSTAR_CLASS_NAMES,
    load,
    load_folder,
    load_mavoc,
    load_mavoc_test,
    load_mstar,
    parse_spec,
)
from .synthetic import DEFAULT_SCALE, make_synthetic, mavoc_counts

__all__ = [
    "UNLABELLED", "ChipSet", "DecodeOptions", "decode_chip", "DATA_KINDS", "MAVOC_CLASS_NAMES",
    "MAVOC_TRAIN_COUNTS", "MSTAR_CLASS_NAMES", "load", "load_folder", "load_mavoc", "load_mavoc_test",
    "load_mstar", "parse_spec", "DEFAULT_SCALE", "make_synthetic", "mavoc_counts",
]
