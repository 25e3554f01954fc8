"""One consistent, colour-blind-safe figure style, saving in PNG / SVG / PDF, the synthetic-data note.

Figures are made without pyplot's global figure manager, so they are never shown twice in a
notebook, never pile up in memory, and can be drawn from a background thread. Sizes follow a
two-column paper: :data:`DOUBLE` (7 in) wide for full-width figures, :data:`SINGLE` (3.4 in)
for one column. Classes (and any other series) take their colours from :data:`CLASS_COLORS`
and their markers from :data:`CLASS_MARKERS`; heatmaps use viridis.
"""
from __future__ import annotations

import io
import math
import os
import textwrap
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import seaborn as sns
from cycler import cycler
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure

from ...atomic import atomic_open
from ...eval.summary import mean_std

#: Ten class colours: Paul Tol's "muted" qualitative scheme (nine colours, made to stay apart for
#: colour-blind readers) and black as the tenth (Tol's own tenth, pale grey, vanishes on white).
#: Their closest pair in CIELAB (sand / olive) is 22.8 delta-E apart; simulated deuteranopia,
#: protanopia and tritanopia keep every pair at least 15.6 apart (seaborn's "colorblind" palette:
#: 20.7 and 10.8, with two blues and two oranges; Okabe-Ito with two additions: 26.4 and 7.1).
CLASS_COLORS = ("#CC6677", "#332288", "#DDCC77", "#117733", "#88CCEE", "#882255", "#44AA99", "#999933",
                "#AA4499", "#000000")

#: The colour of a mistake or a warning (Tol's "vibrant" red), apart from every class colour.
ALERT = "#CC3311"

#: Ten markers, one per class, so that a class is told apart by shape as well as by colour.
CLASS_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "<", "p", "*")


SYNTHETIC_NOTE = "synthetic SAR-like chips, not real data"


DOUBLE = 7.0


SINGLE = 3.4


GREY = "0.55"


STYLE = {
    "figure.dpi": 100,
    "savefig.dpi": 300,
    "font.size": 8,
    "axes.titlesize": 9,
    "axes.labelsize": 8,
    "legend.fontsize": 7,
    "legend.title_fontsize": 7,
    "xtick.labelsize": 7,
    "ytick.labelsize": 7,
    "figure.titlesize": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.linewidth": 0.7,
    "xtick.major.width": 0.7,
    "ytick.major.width": 0.7,
    "lines.linewidth": 1.4,
    "patch.linewidth": 0.5,
    "pdf.fonttype": 42,  # TrueType in PDF, editable text in SVG: journals ask for both
    "ps.fonttype": 42,
    "svg.fonttype": "none",
    "svg.hashsalt": "sartail",  # reproducible SVG ids
    "image.cmap": "viridis",
    "axes.prop_cycle": cycler(color=list(CLASS_COLORS)),
}


SHOT_GROUPS = ("many", "medium", "few")


_LOCK = threading.RLock()  # rcParams are global: one figure is styled at a time


@contextmanager
def style() -> Iterator[None]:
    """A context manager with the kit's figure style (seaborn ticks, the class colours as colour cycle).

    It holds a lock, so that a figure drawn in a background thread (a live training plot)
    and one drawn in the notebook never mix their settings.
    """
    with _LOCK, matplotlib.rc_context({**sns.axes_style("ticks"), **STYLE}):  # type: ignore[dict-item]  # stubs narrower than the values used
        yield


def colors(n: int) -> list[tuple[float, float, float]]:
    """``n`` colours of :data:`CLASS_COLORS` as RGB triples (they cycle after 10; :func:`markers` then tells them apart)."""
    base = [to_rgb(c) for c in CLASS_COLORS]
    return [base[i % len(base)] for i in range(max(n, 0))]


def markers(n: int) -> list[str]:
    """``n`` markers of :data:`CLASS_MARKERS`; past ten the colours repeat, so the markers shift by one per cycle."""
    k = len(CLASS_MARKERS)
    return [CLASS_MARKERS[(i + i // len(CLASS_COLORS)) % k] for i in range(max(n, 0))]


def _figure(width: float, height: float, layout: str = "constrained") -> Figure:
    """A new figure with constrained layout, outside pyplot (call inside :func:`style`).

    ``layout="compressed"`` packs fixed-aspect axes (heatmaps, images) without gaps; the
    spare height is cropped when the figure is saved or shown (tight bounding box).
    """
    return Figure(figsize=(width, height), layout=layout)  # type: ignore[arg-type]  # stubs narrower than the values used


def _fit_height(fig: Figure, margin: float = 0.12) -> None:
    """Trim the spare height of a figure of fixed-aspect axes (a compressed layout).

    Such axes take the width they are given and leave spare height above and below; this
    measures the content and sets the figure height to fit it, so that a note under the axes
    sits right under them.
    """
    from matplotlib.transforms import Bbox

    fig.draw_without_rendering()
    boxes = [a.get_tightbbox() for a in fig.axes if a.get_visible()]
    boxes += [t.get_window_extent() for t in (getattr(fig, "_suptitle", None),) if t is not None]
    legends = [leg.get_window_extent() for leg in fig.legends]
    boxes = [b for b in boxes + legends if b is not None and b.width > 0]
    if not boxes:
        return
    content = Bbox.union(boxes).height / fig.dpi  # type: ignore[arg-type]  # stubs narrower than the values used
    note = 0.18 if is_marked_synthetic(fig) else 0.0
    target = content + note + margin
    if target < fig.get_figheight() - 0.05:
        fig.set_figheight(target)


def mark_synthetic(fig: Figure, synthetic: bool) -> None:
    """Add the note 'synthetic SAR-like chips, not real data' under the axes when ``synthetic``.

    With constrained layout the note is the figure's bottom label, so the layout makes room
    for it (it never overlaps tick labels), or its top label where a key sits under the axes;
    otherwise it is placed in the lower right corner.
    """
    if not synthetic or is_marked_synthetic(fig):
        return
    kw = {"fontsize": 6.5, "color": "0.35", "style": "italic"}
    engine = fig.get_layout_engine()
    below = any(getattr(leg, "_outside_loc", None) == "lower" for leg in fig.legends)  # a key under the axes
    if engine is not None and type(engine).__name__ == "ConstrainedLayoutEngine":
        if below and getattr(fig, "_suptitle", None) is None:  # the layout would put both on one line: note on top
            fig.suptitle(SYNTHETIC_NOTE, x=0.995, ha="right", **kw)
        else:
            fig.supxlabel(SYNTHETIC_NOTE, x=0.995, ha="right", **kw)
    else:
        fig.text(0.995, 0.005, SYNTHETIC_NOTE, ha="right", va="bottom", **kw)  # type: ignore[arg-type]  # stubs narrower than the values used


def is_marked_synthetic(fig: Figure) -> bool:
    """Whether :func:`mark_synthetic` marked ``fig``."""
    return any(t.get_text() == SYNTHETIC_NOTE for t in fig.texts)  # fig.supxlabel adds to fig.texts too


#: The formats :func:`save_figure` writes (all of them by default).
FORMATS = ("png", "svg", "pdf")


def save_figure(fig: Figure, path: str | os.PathLike, formats: Sequence[str] = FORMATS,
                dpi: int = 300) -> list[Path]:
    """Save ``fig`` as ``path`` with each suffix in ``formats`` (atomically); returns the paths.

    PNG at ``dpi`` (300: print resolution), SVG with editable text, PDF with embedded
    TrueType fonts; no creation dates, so saving the same figure twice gives the same SVG and
    PDF bytes. A suffix on ``path`` (``.png``, ``.svg``, ``.pdf``) is dropped.
    """
    stem = Path(path)
    if stem.suffix.lstrip(".") in FORMATS:
        stem = stem.with_suffix("")
    stem.parent.mkdir(parents=True, exist_ok=True)
    meta = {"png": {"Software": "sartail"}, "svg": {"Date": None, "Creator": "sartail"},
            "pdf": {"CreationDate": None, "Creator": "sartail", "Producer": "sartail"}}
    out = []
    with style():
        for fmt in formats:
            target = stem.with_suffix(f".{fmt}")
            with atomic_open(target, "wb") as fh:
                fig.savefig(fh, format=fmt, dpi=dpi, bbox_inches="tight", pad_inches=0.03,
                            metadata=meta.get(fmt), facecolor="white")
            out.append(target)
    return out


def figure_png(fig: Figure, dpi: int = 96) -> bytes:
    """``fig`` as PNG bytes (for an ``ipywidgets.Image``); safe in a background thread."""
    buf = io.BytesIO()
    with style():
        fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight", pad_inches=0.03, facecolor="white")
    return buf.getvalue()


def register_ipython() -> None:
    """In IPython / Jupyter, show figures as PNG (they are made outside pyplot, whose hooks would do it)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    ip = get_ipython()
    formatter = None if ip is None else ip.display_formatter.formatters.get("image/png")
    if formatter is not None:
        formatter.for_type(Figure, lambda fig: figure_png(fig, dpi=110))


def _short(names: Sequence[str], width: int = 14) -> list[str]:
    return [n if len(n) <= width else n[: width - 1] + "…" for n in names]


def _fill(text: str, inches: float, fontsize: float) -> str:
    """``text`` wrapped (at word breaks, each of its lines) to fit ``inches`` at ``fontsize`` points."""
    chars = max(8, int(inches * 72 / (0.55 * fontsize)))
    return "\n".join(textwrap.fill(line, chars) for line in str(text).split("\n"))


def _legend_cols(labels: Sequence[str], width: float, fontsize: float = 7.0, most: int = 4) -> int:
    """How many legend columns of ``labels`` fit in ``width`` inches (at most ``most``)."""
    longest = max((len(line) for lab in labels for line in str(lab).split("\n")), default=1)
    entry = longest * 0.55 * fontsize / 72 + 0.45  # text, handle and spacing
    return max(1, min(len(labels), most, int((width - 0.1) // entry)))


def _wrap(name: str, width: int = 12) -> str:
    return "\n".join(textwrap.wrap(str(name), width, break_long_words=True)) or str(name)


def _class_ticks(names: Sequence[str], counts: Sequence[int] | None = None, width: int = 12) -> list[str]:
    labels = [_wrap(n, width) for n in names]
    if counts is not None:
        labels = [f"{lab}\nn={int(c):,}" for lab, c in zip(labels, counts)]
    return labels


def _set_class_xticks(ax: Any, names: Sequence[str], counts: Sequence[int] | None = None) -> None:
    """Class names under the x axis: wrapped on two lines where there is room, else rotated."""
    x = np.arange(len(names))
    room = ax.figure.get_figwidth() * ax.get_position().width / max(len(names), 1)  # inches per class
    if len(names) <= 12 and room >= 0.5:
        ax.set_xticks(x, _class_ticks(names, counts), fontsize=6.5)
    else:  # many classes: one line each, rotated
        labels = _short(names, 28)  # whole names: a paper figure must not cut them
        if counts is not None:
            labels = [f"{n} ({int(c):,})" for n, c in zip(labels, counts)]
        ax.set_xticks(x, labels, rotation=40, ha="right", rotation_mode="anchor", fontsize=6.5)
    ax.tick_params(axis="x", length=0)


def _mean_std(value: Any) -> tuple[float, float]:
    """Mean and standard deviation (NaN below two values: no error bar) of a number or of several (``None`` / NaN ignored)."""
    if value is None:
        return math.nan, math.nan
    if isinstance(value, (int, float, np.floating, np.integer)):
        return float(value), math.nan
    mean, std, n = mean_std([None if v is None else float(v) for v in value])
    return (math.nan if mean is None else mean), (std if n > 1 and std is not None else math.nan)


def _yerr(ys: np.ndarray, es: np.ndarray) -> np.ndarray:
    """Error bars of +- ``es`` around accuracies ``ys``, clipped to [0, 1] (an accuracy cannot leave it)."""
    es = np.where(np.isfinite(es), es, 0.0)
    ys = np.nan_to_num(ys)
    return np.stack([np.minimum(es, ys), np.minimum(es, 1.0 - ys)]).clip(min=0)


def _pct(x: float) -> str:
    return "–" if x is None or math.isnan(x) else f"{100 * x:.0f}"


def _text_color(rgb: Sequence[float]) -> str:
    r, g, b = rgb[:3]
    return "black" if 0.299 * r + 0.587 * g + 0.114 * b > 0.5 else "white"
