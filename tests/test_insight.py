"""Feature views, saliency, the SAR segmentation and error galleries (sartail.eval.*, sartail.report.insight)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from sartail.data import ChipSet
from sartail.errors import ConfigError
from sartail.eval import embedding as E
from sartail.eval import features as F
from sartail.eval import gallery as G
from sartail.eval import saliency as S
from sartail.models import ModelConfig, build_model
from sartail.report import insight as I
from sartail.report.figures import is_marked_synthetic

LONG = "flatbed truck w/ trailer"


# ------------------------------------------------------------------------------ scores
def _clusters(separation: float, n: int = 40, seed: int = 0, dims: int = 8) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(3).repeat_interleave(n)
    centres = torch.zeros(3, dims)
    centres[1, 0] = separation
    centres[2, 1] = separation
    return centres[y] + torch.randn(3 * n, dims, generator=g), y


def test_scatter_ratio_by_hand():
    x = torch.tensor([[0.0, 0], [0, 2], [6, 0], [6, 2]])
    y = torch.tensor([0, 0, 1, 1])
    # class means (0, 1), (6, 1); centre (3, 1): between 9 + 9; within: mean squared spread 1 + 1
    assert F.scatter_ratio(x, y) == pytest.approx(9.0)
    assert F.scatter_ratio(5 * x, y) == pytest.approx(9.0)  # one scale for all features changes nothing
    assert F.scatter_ratio(x, y, classes=[1]) == pytest.approx(9.0)


def test_separable_clusters_score_high_and_random_labels_low():
    x, y = _clusters(separation=20.0)
    sep = F.feature_scores(x, y, ["a", "b", "c"], ["many", "medium", "few"], k=5)
    assert sep.scatter > 10 and sep.knn == 1.0 and sep.knn_top1 == 1.0
    assert sep.knn_groups == {"many": 1.0, "medium": 1.0, "few": 1.0}
    x0, y0 = _clusters(separation=0.0)
    mixed = F.feature_scores(x0, y0, ["a", "b", "c"], ["many", "medium", "few"], k=5)
    assert mixed.scatter < 0.1
    assert 0.1 < mixed.knn < 0.6  # chance is 1/3
    assert mixed.to_dict()["knn_per_class"].keys() == {"a", "b", "c"}


def test_scores_per_group_tell_a_separate_class_from_two_mixed_ones():
    x, y = _clusters(separation=20.0)
    x[y == 2] = x[y == 1][torch.randperm(40, generator=torch.Generator().manual_seed(1))] + 0.01  # c on top of b
    sc = F.feature_scores(x, y, ["a", "b", "c"], ["many", "few", "few"], k=5)
    assert sc.knn_groups["many"] == 1.0
    assert sc.knn_groups["medium"] is None and sc.scatter_groups["medium"] is None
    assert sc.knn_groups["few"] < 0.75
    assert sc.scatter_groups["many"] > sc.scatter_groups["few"]


def test_knn_ties_go_to_the_nearest_neighbour():
    x = torch.tensor([[0.0], [1.0], [-2.0], [10.0], [11.0]])
    y = torch.tensor([0, 1, 0, 1, 1])
    # chip 0: neighbours 1 (d 1, label 1) and 2 (d 2, label 0): a tie, the nearest wins
    assert F.knn_predictions(x, y, k=2)[0].item() == 1
    with pytest.raises(ConfigError, match="k must be"):
        F.knn_predictions(x, y, k=0)


# ------------------------------------------------------------------------------ layouts
def test_layouts_are_bit_identical_for_one_seed_and_shared_across_stages():
    x, _ = _clusters(separation=5.0, n=20)
    feats = {"one": x, "two": 3 * x + 1}  # the same geometry, another scale and offset
    pca = F.embed_stages(feats, "pca")
    assert pca["one"].shape == (60, 2)
    np.testing.assert_allclose(pca["one"], pca["two"], atol=1e-6)  # one projection; scales do not dominate
    feats = {"one": x, "two": x.clone()}
    a = F.embed_stages(feats, "tsne", seed=3, perplexity=10)
    b = F.embed_stages(feats, "tsne", seed=3, perplexity=10)
    for s in feats:
        assert np.array_equal(a[s], b[s])
    assert np.array_equal(a["one"], a["two"])  # the same features, start and seed: the same picture
    c = F.embed_stages({"one": x, "two": x.flip(1)}, "tsne", seed=4, perplexity=10)
    assert not np.array_equal(a["one"], c["one"])


def test_umap_without_the_package_says_how_to_get_it(monkeypatch):
    monkeypatch.setattr(E, "umap_available", lambda: False)
    with pytest.raises(ConfigError, match="umap-learn"):
        F.embed_stages({"s": torch.randn(10, 3)}, "umap")
    with pytest.raises(ConfigError, match="unknown embedding method"):
        F.embed_stages({"s": torch.randn(10, 3)}, "mds")


def test_sample_chips_spreads_over_classes():
    chips = ChipSet.from_tensors(torch.zeros(30, 1, 4, 4, dtype=torch.uint8), [0] * 24 + [1] * 4 + [2] * 2, "abc")
    s = F.sample_chips(chips, 12, seed=0)
    assert s.class_counts().tolist() == [6, 4, 2]
    assert F.sample_chips(chips, 12, seed=0).rows.tolist() == s.rows.tolist()
    assert F.sample_chips(chips, None) is chips


# ------------------------------------------------------------------------------ a model that must look at one corner
SIZE = 48


def _blob_chips(n: int, seed: int) -> ChipSet:
    """Speckled clutter; class 1 alone has a bright blob in the top-left corner (rows / cols 4..13)."""
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 2
    x = 90 + 25 * torch.rand(n, 1, SIZE, SIZE, generator=g)
    x[y == 1, :, 4:14, 4:14] = 230
    return ChipSet.from_tensors(x.round().to(torch.uint8), y, ["clutter only", "blob"])


@pytest.fixture(scope="module")
def corner_model():
    torch.manual_seed(0)
    model = build_model(ModelConfig(width=4), 2, mean=100.0, std=40.0)
    train = _blob_chips(256, seed=1)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    x_all, y_all = train.pixels().float(), train.labels
    g = torch.Generator().manual_seed(2)
    model.train()
    for _ in range(60):
        idx = torch.randint(0, len(train), (32,), generator=g)
        loss = torch.nn.functional.cross_entropy(model(x_all[idx]), y_all[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    return model


def test_attribution_lands_on_the_only_region_that_explains_the_class(corner_model):
    chips = _blob_chips(16, seed=5)
    out = F.model_outputs(corner_model, chips)
    assert (out.predictions() == chips.labels).all()  # the model has learnt the blob
    blob = chips.take(torch.nonzero(chips.labels == 1).reshape(-1))
    quadrant = np.zeros((SIZE, SIZE), dtype=np.int8)
    quadrant[: SIZE // 3, : SIZE // 3] = S.TARGET
    for method in S.METHODS:
        att = S.attribute(corner_model, blob, method)
        assert att.maps.shape == (len(blob), SIZE, SIZE)
        corner = S.region_shares(att.maps, np.broadcast_to(quadrant, att.maps.shape))[:, 0]
        assert corner.min() > 0.5, (method, corner)  # the corner is 1/9 of the chip
        # the segmentation finds the blob as the target, and the attribution falls on it
        assert att.shares[:, 0].mean() > 5 * att.areas[:, 0].mean(), method


def test_clutter_check_reports_shares_per_class(corner_model):
    chips = _blob_chips(12, seed=6)
    check = S.clutter_check(corner_model, chips, methods=("gradcam",), stage="s")
    assert check.chips == {"clutter only": 6, "blob": 6}
    blob = check.shares["gradcam"]["blob"]
    assert sum(blob.values()) == pytest.approx(1.0)
    assert blob["target"] > 0.3
    assert "gradcam: " in check.summary() and "looks at the target" in check.summary()
    assert {r["class"] for r in check.rows()} == {"clutter only", "blob", "all"}
    assert '"overall"' in check.to_json()


def test_model_outputs_restore_training_mode_and_the_gradcam_layer(corner_model):
    corner_model.train()
    F.model_outputs(corner_model, _blob_chips(4, seed=7), batch_size=3)
    assert corner_model.training and corner_model.body.stem[1].training
    assert S.gradcam_layer(corner_model) is corner_model.body.layers[3]  # 1/4 of the chip size
    corner_model.eval()


# ------------------------------------------------------------------------------ segmentation
def test_segmentation_of_a_hand_built_chip():
    g = np.random.default_rng(0)
    chip = 100 + g.uniform(-4, 4, (SIZE, SIZE))
    chip[18:26, 15:31] = 220  # the target's bright returns (6 % of the chip, as a vehicle in a MAVOC chip)
    chip[26:32, 15:31] = 12  # its shadow, right behind it
    chip[0:6, 38:46] = 12  # a dark patch far from the target: clutter
    chip[:, :2] = 0  # zero padding: clutter, not shadow
    seg = S.segment_chip(chip.astype(np.uint8))
    want_t = np.zeros_like(seg, bool)
    want_t[18:26, 15:31] = True
    want_s = np.zeros_like(seg, bool)
    want_s[26:32, 15:31] = True

    def iou(a, b):
        return (a & b).sum() / (a | b).sum()

    assert iou(seg == S.TARGET, want_t) > 0.8
    assert iou(seg == S.SHADOW, want_s) > 0.6
    assert not (seg[0:6, 38:46] == S.SHADOW).any()
    assert (seg[:, :2] == S.CLUTTER).all()
    areas = S.region_areas(seg)
    assert areas.sum() == pytest.approx(1.0) and areas[0] == pytest.approx((seg == S.TARGET).mean())


def test_region_shares_count_positive_attribution_only():
    seg = np.array([[1, 2], [0, 0]], dtype=np.int8)
    m = np.array([[3.0, 1.0], [-5.0, 0.0]])
    np.testing.assert_allclose(S.region_shares(m, seg), [0.75, 0.25, 0.0])
    assert np.isnan(S.region_shares(-m.clip(0), seg)).all()


# ------------------------------------------------------------------------------ gallery
def _gallery_chips() -> ChipSet:
    return ChipSet.from_tensors(torch.arange(8, dtype=torch.uint8).view(8, 1, 1, 1).expand(8, 1, 6, 6).contiguous(),
                                [0, 0, 0, 1, 1, 1, 2, 2], ["sedan", "bus", LONG])


def test_gallery_picks_exactly_the_misclassified_chips():
    chips = _gallery_chips()
    logits = torch.tensor([[5.0, 0, 0], [5, 0, 0], [0, 4, 0],  # sedan: chip 2 taken for bus
                           [0, 5, 0], [3, 0, 0], [0, 0, 1],    # bus: chips 4 (sedan) and 5 (trailer) wrong
                           [0, 0, 5], [0, 0, 6]])              # trailer: all right
    g = G.gallery_from_outputs(logits, (0, 1, 2), chips, "bus")
    assert {e.position for e in g.errors} == {4, 5} and g.n_errors == 2 and g.n_chips == 3
    assert [e.position for e in g.errors] == [4, 5]  # the more confident mistake first
    assert all(not e.correct for e in g.errors)
    assert [p.position for p in g.examples[1]] == [3]
    assert {p.position for p in g.examples[0]} == {0, 1} and {p.position for p in g.examples[2]} == {6, 7}
    assert all(p.correct for ps in g.examples.values() for p in ps)
    assert g.confused_with == {0: 1, 2: 1}
    # no class given: the class with the fewest training chips that has a mistake
    tail = G.gallery_from_outputs(logits, (0, 1, 2), chips, None, train_counts=[100, 30, 5])
    assert tail.cls == 1  # the trailer class (5 chips) has no mistake, bus (30) has
    assert G.gallery_from_outputs(logits, (0, 1, 2), chips, 0).cls == 0
    with pytest.raises(ValueError, match="not in the model's head"):
        G.gallery_from_outputs(logits[:, 1:], (1, 2), chips, "sedan")


# ------------------------------------------------------------------------------ figures
def _views() -> F.FeatureViews:
    x, y = _clusters(separation=6.0, n=15)
    feats = {"rough": x, "residual": x * 2 + torch.randn_like(x) * 0.1}
    return F.compare_stages(feats, y, ["sedan", "bus", LONG], train_counts=[500, 50, 5], methods=("pca", "tsne"),
                            synthetic=True, perplexity=10)


def test_feature_figure_axes_limits_labels():
    views = _views()
    fig = I.feature_figure(views)
    panels = [ax for ax in fig.axes if ax.collections]
    assert len(panels) == 4  # 2 methods x 2 stages
    top = panels[:2]
    assert [ax.get_title() for ax in top] == ["rough", "residual"]
    assert top[0].get_ylabel() == "PCA" and panels[2].get_ylabel() == "t-SNE"
    assert top[0].get_xlim() == top[1].get_xlim() and panels[2].get_ylim() == panels[3].get_ylim()
    texts = [t.get_text() for leg in fig.legends + [sf.legends[0] for sf in fig.subfigs if sf.legends] for t in leg.texts]
    assert any(t.replace("\n", " ") == f"{LONG} (few)" for t in texts)  # wrapped, not cut; its shot group
    assert not any("…" in t for t in texts)
    bars = [ax for ax in fig.axes if ax.patches]
    assert len(bars) == 2
    knn_heights = [p.get_height() for p in bars[0].patches]
    assert knn_heights[0] == pytest.approx(views.scores["rough"].knn)
    assert is_marked_synthetic(fig)
    d = views.to_dict(layouts=True)
    assert d["shot_groups"] == ["many", "medium", "few"] and len(d["layouts"]["tsne"]["rough"]) == 45
    assert views.rows()[0]["stage"] == "rough"


def test_saliency_clutter_and_gallery_figures(corner_model):
    chips = _blob_chips(4, seed=8)
    atts = {"stage": {m: S.attribute(corner_model, chips, m) for m in S.METHODS}}
    fig = I.saliency_figure(chips, atts)
    grid = [ax for ax in fig.axes if ax.images]
    assert len(grid) == 4 * 4  # chips x (chip, segmentation, 2 maps)
    assert grid[2].get_title() == "stage\nGrad-CAM" and grid[3].get_title() == "stage\nocclusion"
    check = S.clutter_check(corner_model, chips, methods=("gradcam",))
    cf = I.clutter_figure({"stage": check})
    assert len([ax for ax in cf.axes if ax.patches]) == 1
    assert [t.get_text() for t in cf.axes[0].get_xticklabels()][-1] == "all"
    g = G.gallery_from_outputs(torch.tensor([[0.0, 3], [0, 2], [1, 0], [0, 5]]), (0, 1), chips, 0)
    gf = I.gallery_figure(g)
    assert "1 of 2 chips of clutter only misclassified" in gf._suptitle.get_text()
    assert sum(1 for ax in gf.axes if ax.images) == 1 + 1 + 2  # the error, class 0's one right chip, two of class 1


# ------------------------------------------------------------------------------ the one-line views on a run
@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    from tiny_runs import TINY

    from sartail import Run, load_config

    run = Run.create(load_config("crt", TINY), tmp_path_factory.mktemp("insight") / "run", progress=False)
    run.fit()
    return run


def test_views_of_a_run(tiny_run):
    from sartail.errors import RunError

    v = I.feature_views(tiny_run, max_chips=40, methods=("pca",))
    assert v.data.stages == ("rough", "classifier")
    # cRT re-trains the head on a frozen body: the features, so the picture and the numbers, do not move
    np.testing.assert_allclose(v.data.layouts["pca"]["rough"], v.data.layouts["pca"]["classifier"], atol=1e-6)
    assert v.data.scores["rough"].knn == v.data.scores["classifier"].knn
    assert v._repr_png_()[:4] == b"\x89PNG"
    s = I.saliency_report(tiny_run, "classifier", n=2, methods=("gradcam",))
    assert s.data["classifier"]["gradcam"].maps.shape[0] == 2
    c = I.clutter_report(tiny_run, "classifier", max_chips=20, methods=("gradcam",))
    assert sum(c.data["classifier"].chips.values()) == 20
    gal = I.error_gallery(tiny_run)
    assert gal.data.stage == "classifier" and gal.data.n_errors == len(
        [1 for lab, p in zip(tiny_run.data.test.labels.tolist(), F.model_outputs(
            I.stage_model(tiny_run, "classifier"), tiny_run.data.test).predictions().tolist())
         if lab == gal.data.cls and p != lab])
    with pytest.raises(ConfigError):
        I.feature_views(tiny_run, ["no_such_stage"])
    tiny_run.state.reset_to("rough")
    with pytest.raises(RunError, match="has not finished"):
        I.error_gallery(tiny_run, "classifier")
