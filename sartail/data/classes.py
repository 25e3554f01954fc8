"""Class names and counts of the datasets the kit knows (MAVOC / UNICORN, MSTAR)."""
from __future__ import annotations

MAVOC_CLASS_NAMES: tuple[str, ...] = (
    "sedan",
    "SUV",
    "pickup truck",
    "van",
    "box truck",
    "motorcycle",
    "flatbed truck",
    "bus",
    "pickup truck w/ trailer",
    "flatbed truck w/ trailer",
)


MAVOC_TRAIN_COUNTS: tuple[int, ...] = (234209, 28089, 15301, 10655, 1741, 852, 828, 624, 840, 633)


MSTAR_CLASS_NAMES: tuple[str, ...] = ("2S1", "BMP2", "BRDM_2", "BTR60", "BTR70", "D7", "T62", "T72", "ZIL131", "ZSU_23_4")
