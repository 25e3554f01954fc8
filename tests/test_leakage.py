"""The leakage measure: planted near-duplicates are found, distinct chips are not, per class, the figure and the CLI."""
import numpy as np
import pytest
import torch
from chip_textures import planted, textured_chips, textures
from matplotlib.figure import Figure

from sartail.cli import main
from sartail.data.chipset import ChipSet
from sartail.data.leakage import NEAR_DUPLICATE, leakage, nearest_other, self_copy_scores, similarity
from sartail.errors import DataError
from sartail.report.figures.leakage import leakage_figure


def test_a_chip_copied_with_a_2px_shift_and_noise_is_found_and_nothing_else():
    train = textured_chips((12, 12, 12), seed=0)
    copies = planted(train, [3, 17, 30])
    fresh = ChipSet.from_tensors(textures(9, seed=5), [0, 1, 2] * 3, train.class_names)
    test = ChipSet.from_tensors(torch.cat([copies.pixels(), fresh.pixels()]),
                                torch.cat([copies.labels, fresh.labels]), train.class_names)
    r = leakage(train, test)
    assert r.near.tolist() == [True] * 3 + [False] * 9
    assert r.index[:3].tolist() == [3, 17, 30]           # the original chip is the nearest one
    assert r.score[:3].min() > 0.87 and r.score[3:].max() < 0.6
    assert r.share == pytest.approx(3 / 12)
    assert r.same_class[:3].all()


def test_the_shift_search_is_what_finds_a_moved_copy():
    train = textured_chips((8, 8), seed=2)
    test = planted(train, [0, 9], noise=0.2, shift=(-2, 3))
    moved = leakage(train, test)
    unshifted = leakage(train, test, shift=0, size=moved.size)
    assert moved.near.all() and moved.score.min() > 0.95
    assert not unshifted.near.any()                      # the same copies at no shift look unrelated


def test_distinct_chips_of_other_classes_are_not_near_duplicates():
    train = textured_chips((20, 20), seed=3)
    test = textured_chips((20, 20), seed=4)
    r = leakage(train, test)
    assert r.share == 0.0 and r.score.max() < 0.6
    assert nearest_other(train).max() < 0.6 and nearest_other(train, same_class=False).max() < 0.6


def test_per_class_shares_count_each_class_on_its_own():
    train = textured_chips((6, 6, 6), seed=6)
    copies = planted(train, [6, 7, 8, 9])                # four of class 1
    fresh = ChipSet.from_tensors(textures(6, seed=7), [0, 0, 1, 1, 1, 1], train.class_names)
    test = ChipSet.from_tensors(torch.cat([copies.pixels(), fresh.pixels()]),
                                torch.cat([copies.labels, fresh.labels]), train.class_names)
    r = leakage(train, test)
    assert r.per_class() == {"c0": 0.0, "c1": pytest.approx(0.5)}   # c2 has no test chips: absent
    s = r.summary()
    assert s["near_duplicate_share"] == pytest.approx(0.4) and s["test_chips"] == 10
    assert s["per_class"] == {"c0": 0.0, "c1": 0.5} and s["threshold"] == NEAR_DUPLICATE


def test_a_planted_copy_scores_above_the_threshold_at_half_the_chips_contrast_in_noise():
    chips = textured_chips((10,), seed=8)
    assert self_copy_scores(chips, noise=0.5).min() >= NEAR_DUPLICATE
    assert self_copy_scores(chips, noise=2.0).max() < NEAR_DUPLICATE   # drowned in noise: no longer a duplicate


def test_similarity_matrix_agrees_with_the_nearest_search_in_chunks(monkeypatch):
    train, test = textured_chips((7, 6), seed=9), textured_chips((3, 2), seed=10)
    best, index = similarity(test, train)
    monkeypatch.setattr("sartail.data.leakage._CHUNK_VALUES", 1)   # one training chip per product
    matrix = similarity(test, train, reduce=False)
    assert matrix.shape == (5, 13)
    assert torch.allclose(matrix.amax(1), best) and torch.equal(matrix.argmax(1), index)


def test_bad_inputs_are_named():
    chips = textured_chips((3,), size=12)
    with pytest.raises(DataError, match="too small"):
        leakage(chips, chips)
    with pytest.raises(DataError, match="threshold"):
        leakage(textured_chips((3,)), textured_chips((3,)), threshold=1.5)


def test_figure_is_a_figure_with_both_panels():
    train = textured_chips((6, 6), seed=11)
    r = leakage(train, planted(train, [0, 7]))
    fig = leakage_figure({"test vs training": r}, references={"own copy": self_copy_scores(train)})
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    assert "100.0 % near-duplicates" in " ".join(t.get_text() for t in fig.legends[0].get_texts())


def test_cli_compares_two_folders_and_writes_the_figure(tmp_path, write_chip, capsys):
    chips = textured_chips((5, 5), size=56, seed=12)   # the folder kind's 56 px: no padding
    for i, c in enumerate(chips.labels.tolist()):
        write_chip(tmp_path / "train" / f"c{c}" / f"{i}.png", chips.pixels(torch.tensor([i]))[0, 0].numpy())
    copy = planted(chips, [2])
    write_chip(tmp_path / "test" / "c0" / "a.png", copy.pixels()[0, 0].numpy())
    write_chip(tmp_path / "test" / "c1" / "b.png", textures(1, size=56, seed=13)[0, 0].numpy())
    rc = main(["data", "leakage", f"folder:{tmp_path / 'train'}", f"folder:{tmp_path / 'test'}", "--quiet",
               "--figure", str(tmp_path / "leak.png")])
    out = capsys.readouterr().out
    assert rc == 0 and "50.0% of 2 chips have a near-duplicate" in out
    assert (tmp_path / "leak.png").stat().st_size > 0


def test_mstar_same_class_nearest_neighbours_match_the_published_measure(mstar_chips):
    """Centre 64 px, no shift: the nearest other chip of the same class correlates 0.755 on average."""
    s = nearest_other(mstar_chips, shift=0, size=64)
    assert float(s.mean()) == pytest.approx(0.755, abs=0.01)


def test_mstar_chips_have_no_near_duplicate_in_other_classes(mstar_chips):
    first, last = mstar_chips.keep_classes(range(5)), mstar_chips.keep_classes(range(5, 10))
    g = np.random.default_rng(0)
    test = last.take(torch.as_tensor(np.sort(g.choice(len(last), 60, replace=False))))
    assert leakage(first, test).share == 0.0


def test_searching_within_the_class_finds_the_same_copies_and_skips_classes_without_training_chips():
    train = textured_chips((10, 10), seed=14)
    test = planted(train, [1, 12])
    full, within = leakage(train, test), leakage(train, test, within_class=True)
    assert torch.equal(full.index, within.index) and torch.allclose(full.score, within.score)
    assert within.summary()["searched"] == "same class"
    stranger = ChipSet.from_tensors(test.pixels(), [0, 1], ["c0", "other"])
    r = leakage(train, stranger, within_class=True)
    assert r.near.tolist() == [True, False] and torch.isnan(r.score[1])      # no training chip of class "other"


def test_the_fold_leakage_benchmark_shows_its_help():
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[1]
    proc = subprocess.run([sys.executable, str(repo / "benchmarks" / "leakage_folds.py"), "--help"], capture_output=True,
                          text=True, timeout=120, cwd=repo, env={"PYTHONPATH": str(repo), "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0 and "usage:" in proc.stdout, proc.stderr[-2000:]


def test_cli_measures_the_folds_of_one_spec_with_the_split_asked_for(tmp_path, write_chip, capsys):
    chips = textured_chips((16, 16), size=56, seed=15)
    for i, c in enumerate(chips.labels.tolist()):
        write_chip(tmp_path / f"k{c}" / f"hb{i:04d}.png", chips.pixels(torch.tensor([i]))[0, 0].numpy())
    assert main(["data", "leakage", f"folder:{tmp_path}", "--split", "sector", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "sector: 3 contiguous blocks per fold" in out
    assert "test fold vs training: 0.0% of 9 chips" in out and "validation vs training: 0.0% of 4 chips" in out  # 3 of 12 sectors
    assert main(["data", "leakage", f"folder:{tmp_path}", "--split", "aspect", "--quiet"]) == 0
    out = capsys.readouterr().out  # 16 chips a class are too few for sweeps: one sweep, the sector folds
    assert "aspect: 3 arcs of the aspect circle per fold" in out and "test fold vs training: 0.0% of 9 chips" in out
    assert main(["data", "leakage", f"folder:{tmp_path}", "--split", "sectors"]) == 2
