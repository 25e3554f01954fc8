"""``sartail figures``: paper figures from finished runs, one file per kind and format, and one-line errors."""
from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image
from tiny_runs import NO_FLOOR_CLI

from sartail.cli import main
from sartail.report.paper import FORMATS, KINDS, WIDTHS, PaperRuns

TINY = ["--set", "data.scale=0.004", "--set", "data.test_per_class=10", "--set", "model.width=4",
        "--set", "stages.*.epochs=1", "--set", "batch_size=64", "--device", "cpu", "--quiet", *NO_FLOOR_CLI]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two seeds of ``ce``, ``crt`` and the equal-budget control ``ce@equal`` (six tiny finished runs)."""
    out = tmp_path_factory.mktemp("paper") / "runs"
    assert main(["run", "ce,crt", "--seeds", "0,1", "--out", str(out), "--no-figures", *TINY]) == 0
    return out


def test_one_file_per_kind_and_format_at_the_column_width(runs, tmp_path, capsys):
    out = tmp_path / "figs"
    assert main(["figures", str(runs), "--out", str(out)]) == 0
    expected = {f"{k}.{f}" for k in KINDS for f in FORMATS}
    assert {p.name for p in out.iterdir()} == expected
    printed = capsys.readouterr().out.split()
    assert sorted(printed) == sorted(str(out / n) for n in expected)
    assert all((out / n).stat().st_size > 1000 for n in expected)
    for width in ("single", "double"):
        d = tmp_path / width
        assert main(["figures", str(runs / "ce" / "seed-0"), str(runs / "ce" / "seed-1"), "--kind", "per-class,curves",
                     "--formats", "png", "--width", width, "--out", str(d)]) == 0
        assert sorted(p.name for p in d.iterdir()) == ["curves.png", "per-class.png"]
        px = Image.open(d / "per-class.png").size[0]  # 300 dpi, cropped to the drawing
        assert 0.8 * WIDTHS[width] * 300 < px <= (WIDTHS[width] + 0.1) * 300


def test_seeds_are_averaged_per_recipe(runs):
    paper = PaperRuns([runs])
    assert list(paper.folders) == ["ce", "ce@equal", "crt"]  # labelled by the folder above seed-N
    assert [len(v) for v in paper.results.values()] == [2, 2, 2]
    fig = paper.figure("per-class", WIDTHS["single"])
    ax = fig.axes[0]
    bars = [p for p in ax.patches if p.get_width() > 0][: len(paper.class_names)]  # the first series: ce
    results = [json.loads((runs / "ce" / f"seed-{s}" / "results.json").read_text()) for s in (0, 1)]
    final = [r["stages"][r["final_stage"]]["per_class"] for r in results]
    want = [np.mean([f[c] for f in final]) for c in paper.class_names]
    assert [b.get_height() for b in bars] == pytest.approx(want)
    assert "mean ± std over seeds" in ax.get_title(loc="left").replace("\n", " ")  # wrapped to the column
    assert [t.get_text().split(" (")[0] for t in fig.legends[0].get_texts()] == ["ce", "ce@equal", "crt"]
    curves = paper.figure("curves", WIDTHS["double"])
    line = curves.axes[0].get_lines()[0]
    losses = [[json.loads(x)["train_loss"] for x in (runs / "ce" / f"seed-{s}" / "metrics.jsonl").read_text().splitlines()
               if "train_loss" in x] for s in (0, 1)]
    assert list(line.get_ydata()) == pytest.approx(np.mean(losses, axis=0))


@pytest.mark.parametrize("bad, message", [
    (["--kind", "violin"], "unknown figure kind violin: choose from per-class"),
    (["--formats", "png,jpg"], "unknown format jpg: choose from pdf, svg, png"),
    (["--width", "triple"], "unknown width 'triple': choose single"),
])
def test_bad_options_answer_in_one_line(runs, tmp_path, capsys, bad, message):
    assert main(["figures", str(runs), "--out", str(tmp_path / "x"), *bad]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("sartail: error: ") and message in err
    assert not (tmp_path / "x").exists()


def test_a_folder_that_is_not_a_finished_run_is_named(runs, tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    unfinished = tmp_path / "unfinished"
    unfinished.mkdir()
    (unfinished / "config.yaml").write_text((runs / "ce" / "seed-0" / "config.yaml").read_text())
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.yaml").write_text("recipe: ce\n")
    (broken / "results.json").write_text("{not json")
    for folder, message in ((empty, "not a sartail run"), (unfinished, "has not finished: resume it"),
                            (tmp_path / "missing", "no such folder"), (broken, "cannot be read")):
        assert main(["figures", str(runs), str(folder), "--out", str(tmp_path / "x")]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and str(folder) in err and message in err, err


def test_the_help_names_every_kind_and_format(capsys):
    assert main(["figures", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert all(k in text for k in KINDS) and all(f in text for f in FORMATS)
    assert all(w in text for w in WIDTHS)
