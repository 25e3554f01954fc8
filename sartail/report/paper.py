"""Figures for a paper from finished runs: several recipes over seeds, mean +- std, at a journal's column width.

>>> parse_choices("pdf, png", FORMATS, "format")
['pdf', 'png']
>>> WIDTHS["single"], WIDTHS["double"]
(3.5, 7.2)

Each run folder (``results.json``, ``metrics.jsonl``) is one seed of one recipe. A run in a
folder named ``seed-N`` takes its label from the folder above (``runs/ce@equal/seed-0``:
``ce@equal``), any other run its recipe's name; runs of one label are the seeds averaged. A
folder that is not a run but holds runs (the output of ``sartail run A,B --seeds ...``)
stands for all of them.
"""
from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from ..errors import ConfigError
from ..eval.results import RunResults
from ..run.rundir import RESULTS, RunDir
from . import figures as plots

#: The figures ``sartail figures`` makes, each written as ``<kind>.<format>``.
KINDS = ("per-class", "confusion", "comparison", "curves", "reliability")
#: The formats it can write.
FORMATS = ("pdf", "svg", "png")
#: Figure widths in inches: one column (about 3.5 in) or the full page (about 7.2 in) of common journals.
WIDTHS = {"single": 3.5, "double": 7.2}


def parse_choices(text: str, allowed: Sequence[str], what: str) -> list[str]:
    """A comma-separated list of ``allowed`` values, in the order given; a clear error for anything else."""
    items = [t.strip() for t in str(text).split(",") if t.strip()]
    bad = [t for t in items if t not in allowed]
    if bad or not items:
        raise ConfigError(f"unknown {what} {bad[0] if bad else repr(text)}: choose from {', '.join(allowed)} "
                          "(comma-separated)")
    return list(dict.fromkeys(items))


def _label(folder: Path, results: RunResults) -> str:
    return folder.parent.name if re.fullmatch(r"seed-\d+", folder.name) and folder.parent.name else results.recipe


def _read(folder: Path) -> RunResults:
    try:
        return RunDir.open(folder).results()
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"{folder / RESULTS} cannot be read ({type(exc).__name__}: {exc})") from None


def find_runs(paths: Sequence[str | os.PathLike]) -> dict[str, list[tuple[Path, RunResults]]]:
    """The finished runs of ``paths`` (each a run, or a folder holding runs) with their results, by label, in order."""
    out: dict[str, list[tuple[Path, RunResults]]] = {}
    for p in map(Path, paths):
        if not p.is_dir():
            raise ConfigError(f"{p}: no such folder")
        found = [p] if (p / RESULTS).exists() else sorted(q.parent for q in p.glob(f"**/{RESULTS}"))
        if not found:
            hint = "the run has not finished: resume it" if (p / "config.yaml").exists() else "not a sartail run"
            raise ConfigError(f"{p} is not a finished run: no {RESULTS} in it or below ({hint})")
        for f in found:
            res = _read(f)
            out.setdefault(_label(f, res), []).append((f, res))
    return out


class PaperRuns:
    """The results and epoch records of finished runs, by label (recipe), over seeds."""

    def __init__(self, paths: Sequence[str | os.PathLike]) -> None:
        found = find_runs(paths)
        self.folders = {k: [f for f, _ in v] for k, v in found.items()}
        self.results = {k: [r for _, r in v] for k, v in found.items()}
        self.records = {k: [RunDir.open(f).metrics() for f in fs] for k, fs in self.folders.items()}
        first = next(iter(self.results.values()))[0]
        self.class_names = first.class_names
        for k, rs in self.results.items():
            for f, r in zip(self.folders[k], rs):
                if r.class_names != self.class_names:
                    raise ConfigError(f"{f} has other classes than {self.folders[next(iter(self.folders))][0]}: "
                                      "runs to compare must share their test classes")
        self.synthetic = any(r.synthetic for rs in self.results.values() for r in rs)
        counts = [r.data["train_counts"] for rs in self.results.values() for r in rs]
        self.train_counts = [round(float(np.mean(c))) for c in zip(*counts)]

    def figure(self, kind: str, width: float) -> Figure:
        """The figure of ``kind`` (one of :data:`KINDS`) at ``width`` inches."""
        finals = {k: [r.final.to_json() for r in rs] for k, rs in self.results.items()}
        seeds = {k: len(rs) for k, rs in self.results.items()}
        note = "mean ± std over seeds" if max(seeds.values()) > 1 else "one seed"
        if kind == "per-class":
            per = {f"{k} (n={seeds[k]})": {c: [r.final.per_class.get(c) for r in rs] for c in self.class_names}
                   for k, rs in self.results.items()}
            return plots.per_class_accuracy(per, self.class_names, counts=self.train_counts, width=width,
                                            synthetic=self.synthetic, title=f"Per-class test accuracy ({note})")
        if kind == "confusion":
            cms = {f"{k} (n={seeds[k]})": self._mean_confusion(rs) for k, rs in self.results.items()}
            return plots.confusion_matrices(cms, self.class_names, synthetic=self.synthetic, width=width,
                                            ncols=min(len(cms), 2 if width < 5 else 3))
        if kind == "comparison":
            return plots.shot_accuracy({f"{k} (n={seeds[k]})": v for k, v in finals.items()}, balanced=True,
                                       width=width, synthetic=self.synthetic, title=f"Test accuracy ({note})")
        if kind == "curves":
            return plots.mean_curves(self.records, width=width, synthetic=self.synthetic)
        if kind == "reliability":
            return plots.reliability_diagram({f"{k} (n={seeds[k]})": v for k, v in finals.items()}, width=width,
                                             ncols=min(len(finals), 2 if width < 5 else 4), synthetic=self.synthetic)
        raise ConfigError(f"unknown figure kind {kind!r}: choose from {', '.join(KINDS)}")

    def _mean_confusion(self, runs: Sequence[RunResults]) -> np.ndarray:
        """The row-normalised confusion matrices of the final stages, averaged over seeds (in the full class space)."""
        mats = []
        for r in runs:
            seen = r.final.classes_seen or self.class_names
            cm = np.full((len(self.class_names),) * 2, np.nan)
            idx = [self.class_names.index(c) for c in seen]
            cm[np.ix_(idx, idx)] = np.asarray(r.final.confusion, dtype=float)
            rows = cm.sum(axis=1, keepdims=True)
            mats.append(np.divide(cm, rows, out=np.full_like(cm, np.nan), where=rows > 0))
        return np.nanmean(np.stack(mats), axis=0) if mats else np.zeros((0, 0))


def paper_figures(paths: Sequence[str | os.PathLike], out: str | os.PathLike, *, kinds: str | Sequence[str] = KINDS,
                  formats: str | Sequence[str] = FORMATS, width: str = "double") -> list[Path]:
    """Write the figures of ``kinds`` of the runs in ``paths`` into ``out`` as ``<kind>.<format>``; returns the files.

    ``kinds`` and ``formats`` are lists or comma-separated strings; ``width`` is ``single``
    (3.5 in) or ``double`` (7.2 in).
    """
    kinds = parse_choices(kinds if isinstance(kinds, str) else ",".join(kinds), KINDS, "figure kind")
    formats = parse_choices(formats if isinstance(formats, str) else ",".join(formats), FORMATS, "format")
    if width not in WIDTHS:
        raise ConfigError(f"unknown width {width!r}: choose single (3.5 in) or double (7.2 in)")
    runs = PaperRuns(paths)
    files: list[Path] = []
    for kind in kinds:
        files += plots.save_figure(runs.figure(kind, WIDTHS[width]), Path(out) / kind, formats)
    return files

