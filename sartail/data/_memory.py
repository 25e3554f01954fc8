"""Giving freed heap memory back to the operating system after a large build."""
from __future__ import annotations

import ctypes
import ctypes.util
import sys
from functools import lru_cache


@lru_cache(maxsize=1)
def _malloc_trim():
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc.malloc_trim
    except (OSError, AttributeError):  # not glibc (musl has no malloc_trim)
        return None


def release_free_memory() -> bool:
    """Return the C heap's free pages to the system (glibc ``malloc_trim``); ``False`` if unavailable.

    Rendering or decoding 300k chips frees hundreds of megabytes of temporaries in many
    blocks; glibc keeps them in the process (resident) unless asked to give them back.
    """
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True
