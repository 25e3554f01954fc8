"""Figures: the expected axes, labels and values, the synthetic note, saving, layout and threads.

Results dicts are made the way ``Run.test`` makes them (``evaluate_logits`` on seeded random
logits), so no training is needed.
"""
from __future__ import annotations

import math
import threading

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from sartail.data import make_synthetic
from sartail.data.pixels import pixel_table
from sartail.eval.metrics import ShotGroups, evaluate_logits
from sartail.eval.results import RunResults
from sartail.report import figures as plots

NAMES = ["sedan", "SUV", "pickup truck", "van", "box truck", "motorcycle", "flatbed truck", "bus",
         "pickup truck w/ trailer", "flatbed truck w/ trailer"]
COUNTS = [3162, 379, 207, 144, 23, 12, 11, 8, 12, 8]


def _metrics(classes, seed, skill=2.0, n_per_class=20):
    g = torch.Generator().manual_seed(seed)
    c = len(classes)
    targets = torch.arange(c).repeat_interleave(n_per_class)
    logits = torch.randn(len(targets), c, generator=g)
    logits[torch.arange(len(targets)), targets] += skill
    counts = [COUNTS[NAMES.index(n)] for n in classes]
    m = evaluate_logits(logits, targets, classes, train_counts=counts)
    m["classes_seen"] = list(classes)
    m["removed"] = [n for n in NAMES if n not in classes]
    return m


@pytest.fixture(scope="module")
def results():
    """The results of a three-stage run (stage 2 without class 0), read from their results.json form."""
    stages = {"rough": _metrics(NAMES, 0, 1.0), "residual": _metrics(NAMES[1:], 1, 1.5),
              "balanced": _metrics(NAMES, 2, 2.0), "classifier": _metrics(NAMES, 3, 2.5)}
    return RunResults.from_json({"recipe": "three_stage", "seed": 0, "stages": stages, "final_stage": "classifier",
                                 "data": {"classes": NAMES, "train_counts": COUNTS, "synthetic": True}})


def _bars(ax):
    return [p for p in ax.patches if type(p).__name__ == "Rectangle" and p.get_visible() and p.get_width() > 0]


def _overlaps(a, b) -> bool:
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


def _note(fig):
    return next(t for t in fig.texts if t.get_text() == plots.SYNTHETIC_NOTE)


def _assert_note_clear(fig):
    """The synthetic note is in the figure and overlaps no tick label, axis label or title."""
    fig.draw_without_rendering()
    note = _note(fig).get_window_extent()  # public API: the figure's own renderer
    for ax in fig.axes:
        texts = [*ax.get_xticklabels(), *ax.get_yticklabels(), ax.xaxis.label, ax.yaxis.label, ax.title]
        for t in texts:
            if t.get_visible() and t.get_text():
                assert not _overlaps(note, t.get_window_extent()), f"note overlaps {t.get_text()!r}"


# ------------------------------------------------------------------------------ data figures
def test_class_histogram_values_labels_and_ratio():
    fig = plots.class_histogram(COUNTS, NAMES, synthetic=True)
    ax = fig.axes[0]
    assert [int(b.get_height()) for b in _bars(ax)] == COUNTS
    assert ax.get_yscale() == "log"
    assert ax.get_ylabel() == "training chips (log scale)"
    assert ax.get_title() == f"{sum(COUNTS):,} chips in 10 classes, imbalance ratio {3162 / 8:,.0f}"
    assert [t.get_text().replace("\n", " ") for t in ax.get_xticklabels()][:3] == ["sedan", "SUV", "pickup truck"]
    assert plots.is_marked_synthetic(fig)
    _assert_note_clear(fig)
    assert not plots.is_marked_synthetic(plots.class_histogram(COUNTS, NAMES))


def test_class_histogram_removed_and_reference():
    fig = plots.class_histogram(COUNTS, NAMES, removed=[0, "SUV"])
    ax = fig.axes[0]
    bars = _bars(ax)
    assert bars[0].get_hatch() == "////" and bars[1].get_hatch() == "////" and not bars[2].get_hatch()
    kept = COUNTS[2:]
    assert ax.get_title() == f"{sum(kept):,} chips in 8 classes, imbalance ratio {max(kept) / min(kept):,.0f}"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["removed"]
    fig = plots.class_histogram([80, 8], ["a", "b"], reference=[80, 80], log=False)
    ax = fig.axes[0]
    assert [int(b.get_height()) for b in _bars(ax)] == [80, 80, 80, 8]  # outlines first, then the bars
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["kept", "available"]


@pytest.fixture(scope="module")
def chips():
    return make_synthetic(scale=0.002, test_per_class=5, seed=0, progress=False)[0]


def test_chip_gallery_head_beside_tail(chips):
    per = 3
    fig = plots.chip_gallery(chips, per_class=per, seed=1)
    counts = chips.class_counts().tolist()
    images = [ax for ax in fig.axes if ax.get_visible() and ax.images]
    assert len(images) == sum(min(per, c) for c in counts)
    labels = [ax.get_ylabel() for ax in fig.axes if ax.get_visible() and ax.get_ylabel()]
    assert labels[0] == f"sedan\n{counts[0]:,}"  # the largest class heads the left block
    order = sorted(range(10), key=lambda c: (-counts[c], c))
    assert [lab.split("\n")[-1] for lab in labels] == [f"{counts[c]:,}" for c in order]
    assert [sf.get_suptitle() for sf in fig.subfigs] == ["head: most chips", "tail: fewest chips"]
    assert plots.is_marked_synthetic(fig)
    # one grey scale for every chip
    assert len({(im.norm.vmin, im.norm.vmax) for ax in images for im in ax.images}) == 1


def test_pixel_statistics_and_table(chips):
    fig = plots.pixel_statistics(chips, max_per_class=50)
    a1, a2 = fig.axes
    assert a1.get_xlabel() == "pixel value (uint8)" and a1.get_yscale() == "log"
    assert len(a1.get_lines()) == 10
    assert a2.get_ylabel() == "mean pixel value of a chip"
    assert len(a2.get_xticklabels()) == 10
    rows = pixel_table(chips, max_per_class=50)
    assert [r["chips"] for r in rows] == chips.class_counts().tolist()
    px = chips.pixels(torch.nonzero(chips.labels == 9).reshape(-1)).float()
    assert rows[9]["mean"] == pytest.approx(float(px.mean()), rel=1e-5)
    assert 0 <= rows[0]["zero_share"] < 1


# ------------------------------------------------------------------------------ results figures
def test_per_class_accuracy_values_none_and_layout(results):
    per = {s: results.stages[s].per_class for s in ("rough", "residual")}
    fig = plots.per_class_accuracy(per, NAMES, counts=COUNTS, synthetic=True, title="T")
    ax = fig.axes[0]
    assert fig.get_figwidth() <= 7.2  # a two-column figure, not a banner
    bars = [p for p in ax.patches if type(p).__name__ == "Rectangle"]
    heights = [b.get_height() for b in bars[:10]]
    assert heights == pytest.approx([per["rough"][n] for n in NAMES])
    assert not bars[10].get_visible()  # residual has no sedan ...
    assert any(t.get_text() == "not in stage" for t in ax.texts)  # ... and says so
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    mean = np.mean([v for v in per["residual"].values() if v is not None])
    assert legend[1] == f"residual ({100 * mean:.1f}%)"
    assert ax.get_ylabel() == "test accuracy (recall)" and ax.get_title(loc="left") == "T"
    assert ax.get_xticklabels()[0].get_text() == "sedan\nn=3,162"
    _assert_note_clear(fig)


def test_per_class_accuracy_over_seeds_has_error_bars():
    per = {"a": {"x": [0.5, 0.7], "y": [0.2, 0.2]}, "b": {"x": 0.9, "y": None}}
    fig = plots.per_class_accuracy(per, ["x", "y"], show_mean=False)
    ax = fig.axes[0]
    bars = [p for p in ax.patches if type(p).__name__ == "Rectangle"]
    assert [b.get_height() for b in bars[:2]] == pytest.approx([0.6, 0.2])
    assert len(ax.collections) == 1  # one error-bar collection, for series a
    seg = ax.collections[0].get_segments()[0]
    assert seg[1][1] - seg[0][1] == pytest.approx(2 * np.std([0.5, 0.7], ddof=1))
    # error bars stay within [0, 1]
    fig = plots.per_class_accuracy({"a": {"x": [0.0, 1.0]}}, ["x"])
    lo, hi = (p[1] for p in fig.axes[0].collections[0].get_segments()[0])
    assert (lo, hi) == (0.0, 1.0)


def test_confusion_matrix_normalised_highlight_and_alignment(results):
    m = results.stages["residual"]
    fig = plots.confusion_figure(m.confusion, m.classes_seen, all_classes=NAMES, highlight=0, synthetic=True)
    ax = fig.axes[0]
    data = ax.images[0].get_array()
    assert data.shape == (10, 10)
    assert data.mask[0].all() and data.mask[:, 0].all()  # sedan is not in stage 2: masked
    cm = np.array(m.confusion, dtype=float)
    assert np.asarray(data[1:, 1:]) == pytest.approx(cm / cm.sum(1, keepdims=True))
    assert [t.get_text() for t in ax.get_yticklabels()][:2] == ["sedan", "SUV"]
    assert ax.get_xlabel() == "predicted class" and ax.get_ylabel() == "true class"
    frames = [p for p in ax.patches if not p.get_fill()]
    assert len(frames) == 1 and frames[0].get_x() == pytest.approx(-0.5)
    assert fig.axes[1].get_ylabel() == "% of the true class"  # the colour bar
    shown = {t.get_text() for t in ax.texts}
    assert "0" not in shown  # empty cells stay quiet
    _assert_note_clear(fig)


def test_confusion_matrices_share_one_colour_bar(results):
    fig = plots.stage_confusions(results, stages=["rough", "residual", "classifier"], ncols=3,
                                 labels={"rough": "stage 1"})
    panels = [ax for ax in fig.axes if ax.images]
    assert [ax.get_title() for ax in panels] == ["stage 1", "residual", "classifier"]
    assert len(fig.axes) == 4  # three panels and one colour bar
    assert all(ax.images[0].get_array().shape == (10, 10) for ax in panels)
    assert panels[1].images[0].get_array().mask[0].all()
    assert plots.is_marked_synthetic(fig)
    _assert_note_clear(fig)


def test_confusion_ticks_keep_long_class_names_whole(results):
    """No tick cuts a name: one matrix wraps long names at word breaks, several number them with a key."""
    m = results.stages["rough"]
    one = plots.confusion_figure(m.confusion, NAMES)
    ticks = [t.get_text() for t in one.axes[0].get_yticklabels()]
    assert [t.replace("\n", " ") for t in ticks] == NAMES and "pickup truck w/ trailer" in NAMES
    assert not any("…" in t for t in ticks)
    many = plots.stage_confusions(results, stages=["rough", "classifier"], ncols=2)
    panel = next(ax for ax in many.axes if ax.images)
    assert [t.get_text() for t in panel.get_xticklabels()] == [str(i) for i in range(10)]
    key = [t.get_text() for t in many.legends[0].get_texts()]
    assert key == [f"{i}  {n}" for i, n in enumerate(NAMES)]


def test_stage_comparison_and_write_run_figures(results, tmp_path):
    fig = plots.stage_comparison(results)
    assert fig.axes[0].get_title(loc="left") == "Per-class test accuracy by stage (three_stage)"
    assert len(fig.legends[0].get_texts()) == 4
    records = [{"stage": s, "stage_index": i, "epoch": e, "train_loss": 1.0 / e, "val_balanced": 0.1 * e}
               for i, s in enumerate(results.stages) for e in (1, 2)]
    paths = plots.write_run_figures(results, records, tmp_path, formats=("png",))
    assert sorted(p.name for p in paths) == ["confusion_matrices.png", "per_class_accuracy.png", "training_curves.png"]


def test_training_curves_stages_in_turn():
    records = [{"stage": s, "epoch": e, "train_loss": 2.0 / e, "val_balanced": 0.2 * e}
               for s in ("rough", "residual") for e in (1, 2, 3)]
    steps = [(0.5, 2.5, "rough"), (1.0, 2.0, "rough")]
    fig = plots.training_curves(records, steps=steps, synthetic=True)
    a1, a2 = fig.axes
    assert a1.get_ylabel() == "training loss" and a2.get_ylabel() == "validation balanced accuracy"
    assert a1.get_xlabel() == "epoch (stages in turn)"
    lines = [ln for ln in a1.get_lines() if ln.get_marker() == "o"]
    assert [list(ln.get_xdata()) for ln in lines] == [[1, 2, 3], [4, 5, 6]]  # residual follows rough
    assert list(lines[1].get_ydata()) == pytest.approx([2.0, 1.0, 2 / 3])
    assert {t.get_text() for t in a1.texts} == {"rough", "residual"}
    assert a2.get_ylim() == (0, 1)
    _assert_note_clear(fig)
    # planned epochs keep the x axis of a live plot
    fig = plots.training_curves(records[:1], epochs={"rough": 12})
    assert fig.axes[0].get_xlim() == (0, 12)


def test_shot_accuracy_mean_and_std(results):
    runs = {"three_stage": [results.stages["classifier"], results.stages["balanced"]],
            "ce": results.stages["rough"]}
    fig = plots.shot_accuracy(runs, groups=ShotGroups(), synthetic=True)
    ax = fig.axes[0]
    bars = [p for p in ax.patches if type(p).__name__ == "Rectangle"]
    want = [np.mean([r.shot(g) for r in runs["three_stage"]]) for g in ("many", "medium", "few")]
    assert [b.get_height() for b in bars[:3]] == pytest.approx(want)
    assert ax.get_xticklabels()[0].get_text() == "many-shot\n(> 100 training chips)"
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["three_stage", "ce"]
    assert len(ax.collections) == 1  # error bars for the recipe with two runs only


def test_reliability_diagram_pools_seeds(results):
    runs = {"a": [results.stages["rough"], results.stages["classifier"]], "b": results.stages["balanced"]}
    fig = plots.reliability_diagram(runs, synthetic=True)
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert len(panels) == 2
    e = [r.ece for r in runs["a"]]
    assert panels[0].get_title() == f"a\nECE {np.mean(e):.3f} ± {np.std(e, ddof=1):.3f}"
    assert panels[1].get_title() == f"b\nECE {runs['b'].ece:.3f}"
    assert panels[0].get_xlabel() == "confidence" and panels[0].get_ylabel() == "accuracy"
    # a bar's height is the pooled accuracy of its bin
    bins = list(zip(*(r.reliability for r in runs["a"])))
    b = next(i for i, bs in enumerate(bins) if sum(x["count"] for x in bs) > 0)
    pooled = sum(x["count"] * (x["accuracy"] or 0) for x in bins[b]) / sum(x["count"] for x in bins[b])
    first = next(p for p in panels[0].patches if p.get_fill())
    assert first.get_height() == pytest.approx(pooled)
    _assert_note_clear(fig)


def test_accuracy_heatmap_values(results):
    per = {"x": results.stages["rough"].per_class, "y": results.stages["residual"].per_class}
    fig = plots.accuracy_heatmap(per, NAMES, counts=COUNTS, shot_groups=ShotGroups().assign(COUNTS))
    data = fig.axes[0].images[0].get_array()
    assert data.shape == (2, 11)
    assert np.asarray(data[0, :10]) == pytest.approx([per["x"][n] for n in NAMES])
    assert data.mask[1, 0]  # residual has no sedan
    assert data[1, 10] == pytest.approx(np.mean([v for v in per["y"].values() if v is not None]))
    assert fig.axes[0].get_xticklabels()[-1].get_text() == "balanced"


# ------------------------------------------------------------------------------ saving, style, threads
def test_save_figure_png_svg_pdf_at_300_dpi(tmp_path, results):
    fig = plots.stage_comparison(results)
    paths = plots.save_figure(fig, tmp_path / "sub" / "fig.png")
    assert [p.name for p in paths] == ["fig.png", "fig.svg", "fig.pdf"]
    png, svg, pdf = (p.read_bytes() for p in paths)
    assert png.startswith(b"\x89PNG") and b"<svg" in svg[:500] and pdf.startswith(b"%PDF")
    from PIL import Image

    with Image.open(paths[0]) as im:
        assert im.size[0] >= 0.9 * fig.get_figwidth() * 300  # print resolution
        assert round(im.info["dpi"][0]) == 300
    assert b"Per-class test accuracy" in svg  # text stays text in SVG
    again = plots.save_figure(fig, tmp_path / "again", formats=("svg", "pdf"))
    assert again[0].read_bytes() == svg and again[1].read_bytes() == pdf  # reproducible bytes


def test_figures_stay_out_of_pyplot(results):
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    fig = plots.stage_comparison(results)
    assert isinstance(fig, Figure)
    assert plt.get_fignums() == before  # never shown twice in a notebook, never leaked
    png = plots.figure_png(fig)
    assert png.startswith(b"\x89PNG")


def test_colours_are_the_class_palette():
    from matplotlib.colors import to_rgb

    assert plots.colors(3) == [to_rgb(c) for c in plots.CLASS_COLORS[:3]]
    assert len(plots.colors(12)) == 12


def test_figures_from_two_threads_at_once(results):
    errors, pngs = [], []

    def work(seed):
        try:
            for _ in range(2):
                recs = [{"stage": "rough", "epoch": e, "train_loss": 1 / e, "val_balanced": 0.1 * e} for e in (1, 2)]
                pngs.append(plots.figure_png(plots.training_curves(recs, synthetic=True)))
                pngs.append(plots.figure_png(plots.confusion_figure(results.stages["rough"].confusion, NAMES)))
        except Exception as exc:  # noqa: BLE001 - the assertion below reports it
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(pngs) == 8 and all(p.startswith(b"\x89PNG") for p in pngs)


def test_style_is_restored_after_a_figure():
    import matplotlib

    size = matplotlib.rcParams["font.size"]
    with plots.style():
        assert matplotlib.rcParams["font.size"] == plots.STYLE["font.size"]
        assert matplotlib.rcParams["pdf.fonttype"] == 42
    assert matplotlib.rcParams["font.size"] == size
    assert not math.isnan(plots.class_histogram([1, 2], ["a", "b"]).get_figwidth())
