"""Figures of a realism comparison: statistics side by side and a gallery of both chip sets.

The numbers come from :mod:`sartail.data.realism`; these functions draw them.
:func:`write_realism_report` writes ``realism.json``, ``realism.txt`` and both figures (PNG,
SVG, PDF) to a folder; figures of a synthetic set say so under the axes.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from ..atomic import write_text
from ..data.chipset import ChipSet
from ..data.realism import RealismReport, compare_specs, format_report
from .figures.style import DOUBLE, _figure, colors, mark_synthetic, save_figure, style

#: The statistics drawn in :func:`statistics_figure` (name, axis label).
PANELS: tuple[tuple[str, str], ...] = (
    ("mean", "chip mean grey level"),
    ("std", "chip grey-level std"),
    ("local_cv", "local coeff. of variation"),
    ("acf_length", "autocorr. length (px)"),
    ("peaks", "bright peaks per chip"),
    ("peak_contrast", "brightest over median (std)"),
    ("zero_share", "share of 0 pixels"),
)


def _short_name(name: str, width: int = 34) -> str:
    """``kind:.../last_folder`` for long specs."""
    if len(name) <= width:
        return name
    kind, sep, path = name.partition(":")
    tail = Path(path).name if sep else name
    short = f"{kind}:.../{tail}" if sep else tail
    return short if len(short) <= width else "..." + short[-(width - 3):]


def statistics_figure(report: RealismReport) -> Figure:
    """The pooled grey-level histograms and the distribution across chips of each statistic
    of :data:`PANELS`, set A beside set B, with the discriminators' AUCs in the title."""
    ca, cb = colors(2)
    na, nb = _short_name(report.name_a), _short_name(report.name_b)
    with style():
        fig = _figure(DOUBLE, 4.6)
        axes = fig.subplots(2, 4).ravel()
        levels = np.arange(256)
        for hist, col, name in ((report.hist_a, ca, na), (report.hist_b, cb, nb)):
            axes[0].plot(levels, hist / max(hist.sum(), 1), color=col, lw=1.0, label=name)
        axes[0].set_yscale("log")
        axes[0].set_xlim(0, 255)
        axes[0].set_xlabel("grey level")
        axes[0].set_ylabel("share of pixels (log)")
        axes[0].set_title(f"W1 {report.grey_wasserstein1:.1f}, KS {report.grey_ks:.2f}")
        axes[0].legend(frameon=False, fontsize=5.5, loc="lower center")
        for ax, (key, label) in zip(axes[1:], PANELS):
            va, vb = report.stats_a[key], report.stats_b[key]
            lo, hi = np.percentile(np.r_[va, vb], [0.5, 99.5])
            if hi <= lo:
                hi = lo + 1.0
            bins = np.linspace(lo, hi, 31)
            ax.hist(np.clip(va, lo, hi), bins=bins, density=True, color=ca, alpha=0.55, label=na)
            ax.hist(np.clip(vb, lo, hi), bins=bins, density=True, color=cb, alpha=0.55, label=nb)
            ax.set_xlabel(label)
            ax.set_yticks([])
            ax.set_title(f"KS {report.statistic_ks[key]:.2f}")
        aucs = ", ".join(f"{k} {v['auc']:.2f}" for k, v in report.discriminators.items())
        fig.suptitle(f"{na} vs {nb}: discriminator ROC AUC (0.5 = alike) {aucs}")
        mark_synthetic(fig, report.synthetic_a or report.synthetic_b)
    return fig


def gallery_figure(a: ChipSet, b: ChipSet, *, per_set: int = 24, cols: int = 8, seed: int = 0,
                   name_a: str | None = None, name_b: str | None = None) -> Figure:
    """``per_set`` random chips of each set side by side, all at one display scale (grey
    levels 0..255 as stored: no stretch, so brightness and contrast compare directly)."""
    g = np.random.default_rng(seed)
    rows = -(-per_set // cols)
    with style():
        fig = _figure(DOUBLE, 0.46 * rows + 0.45)
        subs = fig.subfigures(1, 2, wspace=0.03)
        for sf, chips, name in ((subs[0], a, name_a or a.source), (subs[1], b, name_b or b.source)):  # type: ignore[index]
            pos = np.sort(g.choice(len(chips), size=min(per_set, len(chips)), replace=False))
            px = chips.pixels(torch_index(pos)).numpy()[:, 0]
            axes = sf.subplots(rows, cols, squeeze=False, gridspec_kw={"wspace": 0.04, "hspace": 0.04})
            for k, ax in enumerate(axes.ravel()):
                ax.set_xticks([])
                ax.set_yticks([])
                for s in ax.spines.values():
                    s.set_visible(False)
                if k < len(px):
                    ax.imshow(px[k], cmap="gray", vmin=0, vmax=255, interpolation="nearest")
            label = _short_name(str(name), 40)
            if chips.synthetic and "synthetic" not in label:
                label += " (synthetic)"
            sf.suptitle(label, fontsize=8, color="0.25")
        mark_synthetic(fig, a.synthetic or b.synthetic)
    return fig


def torch_index(pos: np.ndarray) -> Any:
    """Positions as a tensor index (chip sets take tensors)."""
    import torch

    return torch.as_tensor(pos, dtype=torch.int64)


def write_realism_report(report: RealismReport, a: ChipSet, b: ChipSet, out: str | os.PathLike) -> list[Path]:
    """Write ``realism.json``, ``realism.txt``, ``realism_statistics.*`` and ``realism_gallery.*``
    into ``out``; returns the paths written."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    write_text(out / "realism.json", report.to_json() + "\n")
    write_text(out / "realism.txt", format_report(report) + "\n")
    paths = [out / "realism.json", out / "realism.txt"]
    paths += save_figure(statistics_figure(report), out / "realism_statistics")
    paths += save_figure(gallery_figure(a, b, name_a=report.name_a, name_b=report.name_b), out / "realism_gallery")
    return paths


def compare(spec_a: str, spec_b: str, out: str | os.PathLike | None = None, *, size: int = 56, cnn: bool = True,
            seed: int = 0, progress: bool = True) -> RealismReport:
    """Compare two data specs (e.g. ``"synthetic"`` and ``"mavoc_test:/data/mavoc_test"``) and,
    with ``out``, write the report and its figures there (see :func:`write_realism_report`)."""
    report, a, b = compare_specs(spec_a, spec_b, size=size, cnn=cnn, seed=seed, progress=progress)
    if out is not None:
        write_realism_report(report, a, b, out)
    return report


def _resolve_spec(spec: str) -> tuple[str, Path]:
    """``spec`` with its path made absolute: as given, or else relative to the kit's
    ``notebooks/`` folder (notebooks run in other working folders)."""
    kind, _, path = spec.partition(":")
    p = Path(path).expanduser()
    if not p.is_absolute() and not p.exists():
        alt = Path(__file__).resolve().parents[2] / "notebooks" / p
        if alt.exists():
            p = alt
    return f"{kind}:{p}", p


def notebook_comparison(real: str, *, cnn: bool = False, seed: int = 0) -> tuple[RealismReport | None, dict[str, Figure]]:
    """The synthetic default against the chips of ``real`` (a data spec), for notebook 00:
    prints the report and returns it with its two figures, or prints a note and returns
    ``(None, {})`` when the real chips are absent."""
    spec, path = _resolve_spec(real) if real else ("", Path())
    if not real or not path.is_dir():
        print(f"No real chips at {real!r}: the comparison needs them (set REAL = 'mavoc_test:/path/to/mavoc_test'). "
              "benchmarks/history/2026-12-01-synthetic-realism.md holds the report measured on the 826 real MAVOC test chips.")
        return None, {}
    report, a, b = compare_specs("synthetic", spec, cnn=cnn, seed=seed, progress=False)
    print(format_report(report))
    figures = {"realism_statistics": statistics_figure(report),
               "realism_gallery": gallery_figure(a, b, name_a="synthetic", name_b="real")}
    return report, figures
