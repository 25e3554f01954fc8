"""Typed command-line values: a bad one answers in one line naming the option and the value (exit status 2)."""
from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

T = TypeVar("T")


class Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors are one line: ``sartail run: error: argument --ratio: ...``."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def _number(kind: type[T], text: str, what: str, ok: Callable[[Any], bool]) -> T:
    try:
        value = kind(text)  # type: ignore[call-arg]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
    if not ok(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not {what}")
    return value


def positive_int(text: str) -> int:
    """An integer >= 1 (``--threads``)."""
    return _number(int, text, "a whole number >= 1", lambda v: v >= 1)


def seed(text: str) -> int:
    """An integer >= 0 (``--seed``, ``--subset-seed``)."""
    return _number(int, text, "a whole number >= 0", lambda v: v >= 0)


def positive_float(text: str) -> float:
    """A finite number > 0 (``--epoch-scale``, ``--scale``, ``--ratio``)."""
    return _number(float, text, "a number > 0", lambda v: v > 0 and math.isfinite(v))


def share(text: str) -> float:
    """A number in (0, 1) (a share of the training chips)."""
    return _number(float, text, "a number between 0 and 1", lambda v: 0 < v < 1)


def comma_list(item: Callable[[str], T], what: str, *, distinct: bool = False) -> Callable[[str], list[T]]:
    """A type for ``a,b,c``: every item parsed by ``item``; ``distinct`` refuses repeats."""

    def parse(text: str) -> list[T]:
        parts = [p for p in text.replace(" ", "").split(",") if p]
        if not parts:
            raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of {what}")
        try:
            values = [item(p) for p in parts]
        except argparse.ArgumentTypeError as exc:
            raise argparse.ArgumentTypeError(str(exc) if len(parts) == 1 else f"in {text!r}, {exc}") from None
        if distinct and len(set(values)) != len(values):
            raise argparse.ArgumentTypeError(f"{text!r} repeats a value")
        return values

    parse.__name__ = f"list of {what}"
    return parse


seeds = comma_list(seed, "seeds (whole numbers >= 0)", distinct=True)
shares = comma_list(share, "shares between 0 and 1")
counts = comma_list(positive_int, "whole numbers >= 1")
class_ids = comma_list(seed, "class ids (whole numbers >= 0)", distinct=True)


def formats(text: str) -> tuple[str, ...]:
    """``"png,svg"`` -> ``("png", "svg")``; an unknown format is refused before anything trains."""
    from ..report.figures.style import FORMATS

    out = tuple(f.strip().lower() for f in text.split(",") if f.strip())
    if not out or any(f not in FORMATS for f in out):
        raise argparse.ArgumentTypeError(f"{text!r}: use one or more of {','.join(FORMATS)}")
    return out
