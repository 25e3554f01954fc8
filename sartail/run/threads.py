"""PyTorch's CPU threads: ``$SARTAIL_THREADS``, the CLI's ``--threads`` and the notebooks' one thread.

A run's digits depend on the thread count (float sums in another order), and its provenance
records it (``provenance.json``). The notebooks default to one thread (:func:`sartail.ui.notebook.use_threads`),
the CLI to PyTorch's own default unless ``--threads`` or ``$SARTAIL_THREADS`` says otherwise.
"""
from __future__ import annotations

import os

from ..errors import ConfigError

#: The environment variable that sets PyTorch's CPU threads (notebooks: default 1; CLI: torch's default).
THREADS_ENV = "SARTAIL_THREADS"


def env_threads() -> int | None:
    """``$SARTAIL_THREADS`` as a number, ``None`` when unset; a non-number is refused, naming the variable."""
    raw = os.environ.get(THREADS_ENV, "").strip()
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"${THREADS_ENV}={raw!r}: expected a number of threads, e.g. 1") from None


def set_threads(n: int) -> int:
    """Make PyTorch use ``n`` (>= 1) CPU threads; return ``n``."""
    import torch

    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ConfigError(f"the number of threads must be an integer of at least 1, got {n!r}")
    torch.set_num_threads(n)
    return n
