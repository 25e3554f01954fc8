"""Errors raised by sartail.

Every error the kit raises on purpose derives from :class:`SartailError`, so callers (and
the command line) can tell the kit's own clear messages from genuine bugs.
"""
from __future__ import annotations

import difflib
from collections.abc import Iterable


class SartailError(Exception):
    """Base class of every error sartail raises on purpose."""


class DataError(SartailError, ValueError):
    """Bad or unreadable input data (names the file or value at fault)."""


class ConfigError(SartailError, ValueError):
    """An unknown recipe, key or an invalid value in a configuration."""


class RunError(SartailError, RuntimeError):
    """A run directory, checkpoint or training run that cannot go on as asked."""


class RunLockedError(RunError):
    """Another process (or thread) is writing the run folder; the message names it."""


class NonFiniteLossError(RunError):
    """The loss became NaN or infinite; training stopped at the named step."""


class StopRequested(SartailError):
    """Training was asked to stop (Ctrl-C or a Stop button); a checkpoint was kept."""


def suggest(name: str, choices: Iterable[str]) -> str:
    """Return ' Did you mean ...?' for the nearest of ``choices``, or '' if none is close."""
    close = difflib.get_close_matches(str(name), [str(c) for c in choices], n=1, cutoff=0.5)
    return f" Did you mean {close[0]!r}?" if close else ""
