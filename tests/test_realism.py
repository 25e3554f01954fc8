"""Realism statistics against hand-computed cases; discriminators on alike and unlike sets; the report."""
import json
import math

import numpy as np
import pytest
import torch

from sartail.data import ChipSet
from sartail.data.realism import (
    STATISTICS,
    chip_statistics,
    cnn_discriminator,
    compare_chipsets,
    format_report,
    grey_histogram,
    grey_level_distances,
    per_statistic_ks,
    statistics_discriminator,
    statistics_matrix,
)
from sartail.errors import DataError


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def chipset(px, synthetic=False):
    px = np.asarray(px, dtype=np.uint8)
    return ChipSet.from_tensors(torch.from_numpy(px[:, None].copy()), [-1] * len(px), ["a"],
                                source="test", synthetic=synthetic)


# ------------------------------------------------------------------ statistics, by hand
def test_constant_chip():
    s = chip_statistics(np.full((1, 10, 10), 80, np.uint8))
    assert s["mean"][0] == 80 and s["std"][0] == 0 and s["median"][0] == 80 and s["p01"][0] == 80
    for k in ("skewness", "local_cv", "acf1_x", "acf1_y", "acf_length", "roughness", "peaks", "peak_contrast",
              "dark_share", "zero_share", "zero_border_lines"):
        assert s[k][0] == 0, k
    assert set(s) == set(STATISTICS)


def test_two_level_chip_mean_std_skewness_and_zero_share():
    px = np.zeros((1, 4, 4), np.uint8)
    px[0, :, :2] = 100  # half 0, half 100: mean 50, std 50, no skew
    s = chip_statistics(px, window=4)
    assert s["mean"][0] == 50 and s["std"][0] == 50 and s["skewness"][0] == 0
    assert s["zero_share"][0] == 0.5
    # the two right-hand columns are zero: 2 border lines (rows are not all zero)
    assert s["zero_border_lines"][0] == 2


def test_zero_border_lines_count_padding_from_each_edge():
    px = np.full((2, 10, 10), 90, np.uint8)
    px[0, :2] = 0  # two top rows
    px[0, :, -1] = 0  # one right column
    px[1, 4] = 0  # an inner zero row is no border
    s = chip_statistics(px)
    assert s["zero_border_lines"].tolist() == [3, 0]
    assert s["zero_border_lines"][0] == 3
    assert chip_statistics(np.zeros((1, 6, 6), np.uint8))["zero_border_lines"][0] == 12


def test_checkerboard_autocorrelation_and_roughness():
    board = ((np.indices((8, 8)).sum(0) % 2) * 100 + 50).astype(np.uint8)[None]  # 50 / 150
    s = chip_statistics(board)
    assert s["acf1_x"][0] == pytest.approx(-1) and s["acf1_y"][0] == pytest.approx(-1)
    # the autocorrelation falls from 1 (lag 0) to -1 (lag 1): it crosses 1/e at (1 - 1/e) / 2
    assert s["acf_length"][0] == pytest.approx((1 - math.exp(-1)) / 2)
    # neighbours differ by 100 = 2 std
    assert s["roughness"][0] == pytest.approx(2.0)


def test_stripes_autocorrelation_along_and_across():
    px = np.zeros((1, 12, 12), np.uint8)
    px[0, :, ::2] = 200  # columns alternate: constant along y, alternating along x
    s = chip_statistics(px)
    assert s["acf1_x"][0] == pytest.approx(-1) and s["acf1_y"][0] == pytest.approx(1)


def test_local_cv_of_a_known_pattern():
    # 5 x 5 windows of a chip whose rows alternate 100 / 200 (or 200 / 100): three rows of
    # one value and two of the other in every window
    px = np.where(np.arange(9)[:, None] % 2 == 0, 100, 200) * np.ones((1, 9, 9))
    s = chip_statistics(px.astype(np.uint8))
    cv_a = math.sqrt(6 / 25 * 100**2) / 140  # 3 x 100, 2 x 200: mean 140, var 2400
    cv_b = math.sqrt(6 / 25 * 100**2) / 160  # 2 x 100, 3 x 200: mean 160
    assert s["local_cv"][0] == pytest.approx((3 * cv_a + 2 * cv_b) / 5)


def test_bright_peaks_and_dark_share():
    px = np.full((1, 20, 20), 100, np.uint8)
    px[0, 5, 5] = px[0, 14, 12] = 250  # two isolated bright points
    px[0, 0:2, 10:20] = 10  # 20 dark pixels
    s = chip_statistics(px)
    assert s["peaks"][0] == 2
    med = 100
    assert s["peak_contrast"][0] == pytest.approx((250 - med) / s["std"][0])
    assert s["dark_share"][0] == pytest.approx(20 / 400)


def test_statistics_accept_chipsets_tensors_and_reject_bad_shapes():
    px = np.random.default_rng(0).integers(0, 255, (3, 8, 8), dtype=np.uint8)
    a = chip_statistics(chipset(px))
    b = chip_statistics(torch.from_numpy(px))
    assert all(np.array_equal(a[k], b[k]) for k in STATISTICS)
    assert statistics_matrix(a).shape == (3, len(STATISTICS))
    with pytest.raises(DataError, match="at least 4 x 4"):
        chip_statistics(np.zeros((2, 3, 3)))
    with pytest.raises(DataError, match="one channel"):
        chip_statistics(np.zeros((2, 3, 8, 8)))


# ------------------------------------------------------------------ distances
def test_grey_level_distances_by_hand():
    a = np.zeros(256, np.int64)
    b = np.zeros(256, np.int64)
    a[100], b[110] = 5, 5  # all mass moved 10 levels
    d = grey_level_distances(a, b)
    assert d["wasserstein1"] == pytest.approx(10) and d["ks"] == pytest.approx(1.0)
    b[110], b[100] = 0, 5
    assert grey_level_distances(a, b) == {"wasserstein1": 0.0, "ks": 0.0}
    c = a.copy()
    c[100], c[102] = 4, 1  # a fifth moved by 2
    d = grey_level_distances(a, c)
    assert d["wasserstein1"] == pytest.approx(0.4) and d["ks"] == pytest.approx(0.2)
    with pytest.raises(DataError, match="256"):
        grey_level_distances(np.ones(10), np.ones(10))


def test_grey_histogram_counts_every_pixel():
    px = np.full((1, 4, 4), 7, np.uint8)
    px[0, 0, :2], px[0, 1, 0], px[0, 2, 0] = 0, 3, 255
    h = grey_histogram(px)
    assert h.sum() == 16 and h[0] == 2 and h[3] == 1 and h[255] == 1 and h[7] == 12
    with pytest.raises(DataError, match="uint8"):
        grey_histogram(px.astype(np.float32))


def test_per_statistic_ks():
    a = chip_statistics(np.full((5, 8, 8), 50, np.uint8))
    b = chip_statistics(np.full((5, 8, 8), 150, np.uint8))
    ks = per_statistic_ks(a, b)
    assert ks["mean"] == 1.0 and ks["std"] == 0.0


# ------------------------------------------------------------------ discriminators
def speckle(n, seed, scale=1.0):
    g = np.random.default_rng(seed)
    return np.clip(100 * scale * g.exponential(1.0, (n, 16, 16)) ** 0.3, 0, 255).astype(np.uint8)


@pytest.mark.parametrize("model", ["logistic", "boosting"])
def test_statistics_discriminator_is_chance_on_one_set_and_sure_on_different_sets(model):
    same = chip_statistics(speckle(400, 0))
    fa, fb = statistics_matrix(same)[:200], statistics_matrix(same)[200:]
    alike = statistics_discriminator(fa, fb, model=model, repeats=2)
    assert abs(alike["auc"] - 0.5) < 0.1 and len(alike["folds"]) == 4
    bright = statistics_matrix(chip_statistics(speckle(200, 1, scale=1.6)))
    apart = statistics_discriminator(fa, bright, model=model)
    assert apart["auc"] > 0.98


def test_statistics_discriminator_rejects_bad_input():
    with pytest.raises(DataError, match="one shape"):
        statistics_discriminator(np.zeros((5, 3)), np.zeros((6, 3)))
    with pytest.raises(DataError, match="logistic"):
        statistics_discriminator(np.zeros((6, 3)), np.zeros((6, 3)), model="svm")


def test_cnn_discriminator_tells_textures_apart():
    g = np.random.default_rng(0)
    white = speckle(64, 2)
    stripes = white.copy()
    stripes[:, :, ::4] = 255  # bright stripes every fourth column
    res = cnn_discriminator(white, stripes, epochs=4)
    assert res["auc"] > 0.95 and res["n_per_set"] == 64
    with pytest.raises(DataError, match="equally many"):
        cnn_discriminator(white, stripes[:10], epochs=1)
    assert g is not None


# ------------------------------------------------------------------ the report
def test_compare_chipsets_report_and_json():
    a, b = chipset(speckle(60, 3)), chipset(speckle(70, 4, scale=1.5), synthetic=True)
    rep = compare_chipsets(a, b, name_a="A", name_b="B", cnn=False, repeats=1)
    assert rep.n_a == 60 and rep.n_b == 70 and rep.synthetic_b and not rep.synthetic_a
    assert set(rep.discriminators) == {"logistic", "boosting"}
    assert rep.discriminators["logistic"]["n_per_set"] == 60
    assert rep.grey_wasserstein1 > 10
    data = json.loads(rep.to_json())
    assert "stats_a" not in data and data["chip_size_a"] == [16, 16]
    assert data["summary_b"]["mean"]["mean"] > data["summary_a"]["mean"]["mean"]
    text = format_report(rep)
    assert "Wasserstein-1" in text and "logistic" in text and "local_cv" in text
    with pytest.raises(DataError, match="need chips"):
        compare_chipsets(a, a.take([]), cnn=False)


def test_report_figures_are_written_and_marked_synthetic(tmp_path):
    from sartail.report.figures.style import is_marked_synthetic
    from sartail.report.realism_report import gallery_figure, statistics_figure, write_realism_report

    a, b = chipset(speckle(30, 5)), chipset(speckle(30, 6, scale=1.3), synthetic=True)
    rep = compare_chipsets(a, b, cnn=False, repeats=1)
    assert is_marked_synthetic(statistics_figure(rep))
    assert is_marked_synthetic(gallery_figure(a, b, per_set=8))
    paths = write_realism_report(rep, a, b, tmp_path)
    names = {p.name for p in paths}
    assert {"realism.json", "realism.txt", "realism_statistics.png", "realism_gallery.pdf"} <= names
    assert json.loads((tmp_path / "realism.json").read_text())["n_a"] == 30


def test_cli_data_compare(tmp_path, capsys):
    from sartail.cli import main

    spec = "synthetic:test_per_class=3,scale=0.0002"
    rc = main(["data", "compare", spec, "synthetic:test_per_class=3,scale=0.0002,seed=5", "--out",
               str(tmp_path), "--no-cnn", "--quiet"])
    assert rc == 0
    out = capsys.readouterr().out
    assert "discriminator logistic" in out and "30 chips" in out
    assert (tmp_path / "realism_gallery.png").is_file()
    assert main(["data", "compare", spec]) == 2  # one spec is not enough
