"""Publication-ready figures with matplotlib and seaborn, in one consistent, colour-blind-safe style.

Every function returns a :class:`matplotlib.figure.Figure` and shows or saves nothing by
itself; :func:`save_figure` writes any figure as PNG, SVG and PDF at 300 dpi. Figures of
synthetic data say so in a note under the axes, so that nobody mistakes them for results on
real SAR. Modules: :mod:`.style` (style, saving, the synthetic note), :mod:`.data` (chip sets),
:mod:`.results` (accuracies, reliability), :mod:`.confusion`, :mod:`.curves`, :mod:`.insight`
(feature layouts, saliency, error galleries), :mod:`.leakage` (test chips' nearest training chips).

>>> fig = class_histogram([400, 40, 4], ["sedan", "SUV", "bus"], synthetic=True)
>>> fig.axes[0].get_title()
'444 chips in 3 classes, imbalance ratio 100'
>>> is_marked_synthetic(fig)
True
"""
from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ...eval.results import RunResults
from .confusion import confusion_figure, confusion_matrices, stage_confusions
from .curves import METRIC_LABELS, draw_training_curves, mean_curves, training_curves
from .data import chip_gallery, class_histogram, pixel_statistics
from .leakage import leakage_figure
from .model_views import clutter_figure, feature_figure, gallery_figure, saliency_figure
from .removal import removal_figure, removal_table
from .results import accuracy_heatmap, per_class_accuracy, reliability_diagram, shot_accuracy, stage_comparison
from .style import (
    CLASS_COLORS,
    CLASS_MARKERS,
    DOUBLE,
    FORMATS,
    SINGLE,
    STYLE,
    SYNTHETIC_NOTE,
    colors,
    figure_png,
    is_marked_synthetic,
    mark_synthetic,
    markers,
    register_ipython,
    save_figure,
    style,
)


def write_run_figures(results: RunResults, records: Sequence[Mapping[str, Any]], folder: str | os.PathLike,
                      formats: Sequence[str] = FORMATS) -> list[Path]:
    """The standard figures of a finished run: per-class accuracy by stage, confusions, curves."""
    folder = Path(folder)
    out = []
    syn = results.synthetic
    for name, fig in (("per_class_accuracy", stage_comparison(results)), ("confusion_matrices", stage_confusions(results)),
                      ("training_curves", training_curves(records, synthetic=syn))):
        out += save_figure(fig, folder / name, formats)
    return out


__all__ = [
    "CLASS_COLORS",
    "CLASS_MARKERS",
    "DOUBLE",
    "METRIC_LABELS",
    "SINGLE",
    "STYLE",
    "SYNTHETIC_NOTE",
    "accuracy_heatmap",
    "chip_gallery",
    "class_histogram",
    "clutter_figure",
    "colors",
    "confusion_figure",
    "confusion_matrices",
    "draw_training_curves",
    "feature_figure",
    "figure_png",
    "gallery_figure",
    "is_marked_synthetic",
    "leakage_figure",
    "mark_synthetic",
    "markers",
    "mean_curves",
    "per_class_accuracy",
    "pixel_statistics",
    "register_ipython",
    "reliability_diagram",
    "removal_figure",
    "removal_table",
    "saliency_figure",
    "save_figure",
    "shot_accuracy",
    "stage_comparison",
    "stage_confusions",
    "style",
    "training_curves",
    "write_run_figures",
]
