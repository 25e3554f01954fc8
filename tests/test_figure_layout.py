"""Every figure function: ten distinct class colours, and no text that overlaps other text or leaves the canvas.

Each function exported by :mod:`sartail.report.figures` that makes a figure is drawn at its
default size on small inputs with the ten MSTAR class names (the longest real names), then
every visible text box (titles, suptitles, axis labels, tick labels, legend entries,
annotations) is measured with the Agg renderer.
"""
from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Text

from sartail.data import ChipSet, make_synthetic
from sartail.data.leakage import leakage, self_copy_scores
from sartail.eval import features as F
from sartail.eval import gallery as G
from sartail.eval import saliency as S
from sartail.eval.metrics import evaluate_logits
from sartail.eval.results import RunResults
from sartail.models import ModelConfig, build_model
from sartail.report import figures as plots
from sartail.run.removal import RemovalSweep

NAMES = ["sedan", "SUV", "pickup truck", "van", "box truck", "motorcycle", "flatbed truck", "bus",
         "pickup truck w/ trailer", "flatbed truck w/ trailer"]
COUNTS = [3162, 379, 207, 144, 23, 12, 11, 8, 12, 8]
TOLERANCE = 1.0  # pixels of overlap forgiven (anti-aliasing, rounding)


# ------------------------------------------------------------------------------ colours
def _lab(hex_colors) -> np.ndarray:
    """sRGB hex colours in CIELAB (D65)."""
    rgb = np.array([[int(h[i:i + 2], 16) / 255 for i in (1, 3, 5)] for h in hex_colors])
    lin = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    m = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
    xyz = lin @ m.T / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.stack([116 * f[:, 1] - 16, 500 * (f[:, 0] - f[:, 1]), 200 * (f[:, 1] - f[:, 2])], axis=1)


def test_ten_class_colours_far_apart_in_cielab_and_ten_markers():
    cols = plots.CLASS_COLORS
    assert len(cols) == 10 and len(set(cols)) == 10
    lab = _lab(cols)
    gaps = [float(np.linalg.norm(lab[i] - lab[j])) for i, j in itertools.combinations(range(10), 2)]
    assert min(gaps) > 20.0  # delta-E 1976; seaborn's "colorblind" set has two blues and two oranges
    assert _lab(["#000000"])[0, 0] == pytest.approx(0, abs=1e-6) and _lab(["#FFFFFF"])[0, 0] == pytest.approx(100, abs=0.1)
    assert len(set(plots.CLASS_MARKERS)) == 10
    assert [tuple(round(v * 255) for v in c) for c in plots.colors(10)] == \
        [tuple(int(h[i:i + 2], 16) for i in (1, 3, 5)) for h in cols]
    assert plots.colors(12)[10] == plots.colors(12)[0] and plots.markers(12)[10] != plots.markers(12)[0]


def _class_colours(fig: Figure) -> set[tuple[float, ...]]:
    from matplotlib.colors import to_rgb

    out = set()
    for ax in fig.axes:
        for coll in ax.collections:
            out |= {tuple(np.round(c[:3], 3)) for c in coll.get_facecolors()}
        out |= {tuple(np.round(to_rgb(line.get_color()), 3)) for line in ax.get_lines()}
    return out


def test_class_coloured_figures_use_the_palette(figures):
    palette = {tuple(np.round(c, 3)) for c in plots.colors(10)}
    feature = _class_colours(figures["feature_figure"])
    assert palette <= feature  # every class has its own palette colour
    pixel = _class_colours(figures["pixel_statistics"])
    assert palette <= pixel
    markers = {coll.get_paths()[0].vertices.shape for ax in figures["feature_figure"].axes for coll in ax.collections}
    assert len(markers) >= 5  # classes differ in shape too


# ------------------------------------------------------------------------------ inputs
def _metrics(classes, seed, skill=2.0, n_per_class=20):
    g = torch.Generator().manual_seed(seed)
    targets = torch.arange(len(classes)).repeat_interleave(n_per_class)
    logits = torch.randn(len(targets), len(classes), generator=g)
    logits[torch.arange(len(targets)), targets] += skill
    m = evaluate_logits(logits, targets, classes, train_counts=[COUNTS[NAMES.index(n)] for n in classes])
    m["classes_seen"] = list(classes)
    m["removed"] = [n for n in NAMES if n not in classes]
    return m


def _results(seed: int = 0) -> RunResults:
    stages = {"rough": _metrics(NAMES, seed, 1.0), "residual": _metrics(NAMES[1:], seed + 1, 1.5),
              "balanced": _metrics(NAMES, seed + 2, 2.0), "classifier": _metrics(NAMES, seed + 3, 2.5)}
    return RunResults.from_json({"recipe": "three_stage", "seed": seed, "stages": stages, "final_stage": "classifier",
                                 "data": {"classes": NAMES, "train_counts": COUNTS, "synthetic": True}})


def _views(stages: int = 3) -> F.FeatureViews:
    g = torch.Generator().manual_seed(0)
    y = torch.arange(10).repeat_interleave(6)
    x = torch.randn(10, 8, generator=g)[y] * 4 + torch.randn(60, 8, generator=g)
    feats = dict(list({"rough": x, "residual": x * 2, "balanced": x + 1}.items())[:stages])
    return F.compare_stages(feats, y, NAMES, train_counts=COUNTS, methods=("pca",), synthetic=True)


def _sar_chips() -> ChipSet:
    g = torch.Generator().manual_seed(0)
    x = 90 + 25 * torch.rand(4, 1, 32, 32, generator=g)
    x[:, :, 10:20, 10:20] = 230
    return ChipSet.from_tensors(x.round().to(torch.uint8), [0, 1, 8, 9], NAMES)


@pytest.fixture(scope="module")
def figures() -> dict[str, Figure]:
    res, chips = _results(), make_synthetic(scale=0.002, test_per_class=5, seed=0, progress=False)[0]
    torch.manual_seed(0)
    model = build_model(ModelConfig(width=4), 10, mean=100.0, std=40.0).eval()
    sar = _sar_chips()
    atts = {"rough": {m: S.attribute(model, sar, m) for m in S.METHODS}}
    check = S.clutter_check(model, sar, methods=("gradcam",))
    gallery = G.gallery_from_outputs(torch.eye(10)[[1, 0, 8, 8]] * 3, tuple(range(10)), sar, 0)
    recs = [{"stage": s, "epoch": e, "train_loss": 1 / e, "val_balanced": 0.1 * e} for s in ("rough", "residual",
            "balanced", "classifier") for e in (1, 2)]
    per = {s: dict(res.stages[s].per_class) for s in res.stages}
    sweep = RemovalSweep(sets={"none": (), "{0}": (0,), "top 2": (0, 1)},
                         results={k: [_results(0), _results(1)] for k in ("none", "{0}", "top 2")},
                         class_names=tuple(NAMES), synthetic=True)
    raw = {k: v.to_json() for k, v in res.stages.items()}
    return {
        "class_histogram": plots.class_histogram(COUNTS, NAMES, synthetic=True),
        "chip_gallery": plots.chip_gallery(chips, per_class=3),
        "pixel_statistics": plots.pixel_statistics(chips, max_per_class=30),
        "per_class_accuracy": plots.per_class_accuracy(per, NAMES, counts=COUNTS, synthetic=True),
        "stage_comparison": plots.stage_comparison(res),
        "accuracy_heatmap": plots.accuracy_heatmap(per, NAMES, counts=COUNTS, synthetic=True,
                                                   shot_groups=["many"] * 4 + ["medium"] * 2 + ["few"] * 4),
        "shot_accuracy": plots.shot_accuracy(raw, synthetic=True),
        "reliability_diagram": plots.reliability_diagram(raw, synthetic=True),
        "confusion_figure": plots.confusion_figure(res.stages["rough"].confusion, NAMES, synthetic=True),
        "confusion_matrices": plots.confusion_matrices({k: v.confusion for k, v in res.stages.items()},
                                                       {k: v.classes_seen for k, v in res.stages.items()}),
        "stage_confusions": plots.stage_confusions(res),
        "training_curves": plots.training_curves(recs, synthetic=True),
        "mean_curves": plots.mean_curves({"three_stage": [recs, recs], "ce@equal": [recs[:2]]}, synthetic=True),
        "mean_curves (single column)": plots.mean_curves({"three_stage": [recs]}, width=3.5),
        "feature_figure": plots.feature_figure(_views()),
        "feature_figure (two stages)": plots.feature_figure(_views(2)),
        "saliency_figure": plots.saliency_figure(sar, atts),
        "clutter_figure": plots.clutter_figure({"rough": check}),
        "gallery_figure": plots.gallery_figure(gallery),
        "removal_figure": plots.removal_figure(sweep),
        "leakage_figure": plots.leakage_figure({"test fold vs training": leakage(chips, chips.take(torch.arange(0, len(chips), 3))),
                                                "validation vs training": leakage(chips, chips.take(torch.arange(1, len(chips), 5)))},
                                               references={"own copy": self_copy_scores(chips)}, synthetic=True),
        # one journal column (3.5 in), as `sartail figures --width single` draws them
        "per_class_accuracy (single column)": plots.per_class_accuracy(
            per, NAMES, counts=COUNTS, width=3.5, title="Per-class test accuracy (mean ± std over seeds)",
            synthetic=True),
        "shot_accuracy (single column)": plots.shot_accuracy(raw, balanced=True, width=3.5, synthetic=True,
                                                             title="Test accuracy (mean ± std over seeds)"),
        "confusion_matrices (single column)": plots.confusion_matrices(
            {k: v.confusion for k, v in res.stages.items()}, {k: v.classes_seen for k, v in res.stages.items()},
            width=3.5, ncols=2, synthetic=True),
        "reliability_diagram (single column)": plots.reliability_diagram(dict(list(raw.items())[:3]), width=3.5,
                                                                         ncols=2, synthetic=True),
    }


def test_every_figure_function_is_drawn(figures):
    helpers = {"draw_training_curves", "figure_png", "is_marked_synthetic", "mark_synthetic", "register_ipython",
               "save_figure", "style", "colors", "markers", "removal_table", "write_run_figures"}
    made = {n for n in plots.__all__ if callable(getattr(plots, n)) and n[0].islower()} - helpers
    assert made <= set(figures), f"not drawn by the layout test: {sorted(made - set(figures))}"


# ------------------------------------------------------------------------------ text boxes
def _text_boxes(fig: Figure) -> list[tuple[str, object, np.ndarray]]:
    """(text, window box, corners) of every non-empty text drawn when the figure is rendered with Agg."""
    drawn: list[Text] = []
    original = Text.draw

    def record(self, renderer):
        original(self, renderer)
        if self.get_visible() and self.get_text().strip():
            drawn.append(self)

    canvas = FigureCanvasAgg(fig)
    Text.draw = record  # type: ignore[method-assign]
    try:
        with plots.style():
            canvas.draw()
    finally:
        Text.draw = original  # type: ignore[method-assign]
    renderer = canvas.get_renderer()
    return [(t.get_text(), t.get_window_extent(renderer), _corners(t, renderer)) for t in drawn]


def _corners(t: Text, renderer) -> np.ndarray:
    """The four corners of a text's (possibly rotated) box in pixels: the unrotated box turned about its centre,
    placed where the rotated box's bounding box is."""
    box = t.get_window_extent(renderer)
    angle = t.get_rotation()
    if angle % 360 == 0:
        return np.array([[box.x0, box.y0], [box.x1, box.y0], [box.x1, box.y1], [box.x0, box.y1]])
    t.set_rotation(0)
    flat = t.get_window_extent(renderer)
    t.set_rotation(angle)
    w, h, a = flat.width / 2, flat.height / 2, np.deg2rad(angle)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    pts = np.array([[-w, -h], [w, -h], [w, h], [-w, h]]) @ rot.T
    return pts + np.array([(box.x0 + box.x1) / 2, (box.y0 + box.y1) / 2])


def _overlap(p: np.ndarray, q: np.ndarray) -> bool:
    """Whether two convex quadrilaterals overlap by more than the tolerance (separating axis test)."""
    for poly in (p, q):
        for i in range(4):
            edge = poly[(i + 1) % 4] - poly[i]
            normal = np.array([-edge[1], edge[0]]) / max(float(np.hypot(*edge)), 1e-9)
            a, b = p @ normal, q @ normal
            if min(a.max(), b.max()) - max(a.min(), b.min()) <= TOLERANCE:
                return False
    return True


@pytest.mark.parametrize("name", ["class_histogram", "chip_gallery", "pixel_statistics", "per_class_accuracy",
                                  "stage_comparison", "accuracy_heatmap", "shot_accuracy", "reliability_diagram",
                                  "confusion_figure", "confusion_matrices", "stage_confusions", "training_curves",
                                  "mean_curves", "mean_curves (single column)",
                                  "feature_figure", "feature_figure (two stages)", "saliency_figure", "clutter_figure", "gallery_figure",
                                  "removal_figure", "leakage_figure", "per_class_accuracy (single column)",
                                  "shot_accuracy (single column)", "confusion_matrices (single column)",
                                  "reliability_diagram (single column)"])
def test_no_text_overlaps_or_leaves_the_canvas(figures, name):
    fig = figures[name]
    boxes = _text_boxes(fig)
    w, h = fig.bbox.width, fig.bbox.height
    outside = [t for t, b, _ in boxes if b.x0 < -TOLERANCE or b.y0 < -TOLERANCE or b.x1 > w + TOLERANCE
               or b.y1 > h + TOLERANCE]
    assert not outside, f"{name}: text leaves the canvas: {outside}"
    clashes = [(s, t) for (s, _, a), (t, _, b) in itertools.combinations(boxes, 2) if _overlap(a, b)]
    assert not clashes, f"{name}: texts overlap: {clashes[:5]}"
