"""Chip sets, the one registry of data kinds (the synthetic default included), splits and long-tail tools."""
from .chipset import UNLABELLED, ChipSet
from .classes import MAVOC_CLASS_NAMES, MAVOC_TRAIN_COUNTS, MSTAR_CLASS_NAMES
from .decode import DecodeOptions, decode_chip
from .folds import SPLITS, fold_split
from .leakage import NEAR_DUPLICATE, Leakage
from .sources import (
    DATA_KINDS,
    KINDS,
    DataKind,
    data_kind,
    load,
    load_folder,
    load_mavoc,
    load_mavoc_test,
    load_mstar,
    parse_spec,
)
from .sources.synthetic import DEFAULT_SCALE, make_synthetic, mavoc_counts
from .splits import Splits, prepare_data, stage_view

__all__ = [
    "UNLABELLED", "ChipSet", "DecodeOptions", "decode_chip", "DATA_KINDS", "KINDS", "DataKind", "data_kind",
    "MAVOC_CLASS_NAMES", "MAVOC_TRAIN_COUNTS", "MSTAR_CLASS_NAMES", "load", "load_folder", "load_mavoc",
    "load_mavoc_test", "load_mstar", "parse_spec", "DEFAULT_SCALE", "make_synthetic", "mavoc_counts", "Splits",
    "prepare_data", "stage_view", "SPLITS", "fold_split", "NEAR_DUPLICATE", "Leakage",
]
