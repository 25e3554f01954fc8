"""The command line, in process and as a real subprocess."""
import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from tiny_runs import NO_FLOOR_CLI

from sartail.cli import main

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
MSTAR = Path(os.environ.get("SARTAIL_MSTAR_ROOT", SHARED / "mstar_soc10"))
MAVOC_TEST = Path(os.environ.get("SARTAIL_MAVOC_TEST_ROOT", SHARED / "mavoc2022_test_sar"))
TINY = ["--set", "data.scale=0.004", "--set", "data.test_per_class=10", "--set", "model.width=4",
        "--set", "stages.*.epochs=1", "--set", "batch_size=64", "--device", "cpu", "--quiet",
        *NO_FLOOR_CLI]


@pytest.fixture(scope="module")
def ce_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "ce"
    assert main(["run", "ce", "--out", str(out), *TINY]) == 0
    return out


def test_run_writes_a_complete_run_directory(ce_run, capsys):
    for name in ("config.yaml", "provenance.json", "metrics.jsonl", "results.json", "predictions.csv",
                 "checkpoints/stage-1-rough.pt", "figures/per_class_accuracy.png", "figures/confusion_matrices.pdf",
                 "figures/training_curves.svg"):
        assert (ce_run / name).exists(), name
    assert not (ce_run / "checkpoints" / "last.pt").exists()
    assert not list(ce_run.rglob("*.tmp"))


def test_existing_run_dir_is_refused_with_exit_2(ce_run, capsys):
    assert main(["run", "ce", "--out", str(ce_run), *TINY]) == 2
    assert "already exists" in capsys.readouterr().err


def test_unknown_recipe_and_key_exit_2_with_a_suggestion(tmp_path, capsys):
    assert main(["run", "ldam", "--out", str(tmp_path / "x"), *TINY]) == 2
    assert "Did you mean 'ldam_drw'" in capsys.readouterr().err
    assert main(["run", "ce", "--out", str(tmp_path / "y"), "--set", "stages.rough.epohcs=1"]) == 2
    assert "Did you mean 'epochs'" in capsys.readouterr().err
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()


def test_eval_on_labelled_chips(ce_run, tmp_path, capsys):
    out = tmp_path / "eval.json"
    assert main(["eval", str(ce_run), "--data", "synthetic:test_per_class=5,seed=3", "--out", str(out), "--quiet"]) == 0
    res = json.loads(out.read_text())
    assert res["n"] == 50 and 0 <= res["balanced"] <= 1 and len(res["per_class"]) == 10
    assert "balanced" in capsys.readouterr().out


@pytest.mark.skipif(not MAVOC_TEST.exists(), reason=f"MAVOC test chips not found at {MAVOC_TEST}")
def test_predict_real_mavoc_test_chips_in_the_challenge_format(ce_run, tmp_path):
    out = tmp_path / "preds.csv"
    assert main(["predict", str(ce_run), "--data", f"mavoc_test:{MAVOC_TEST}", "--out", str(out), "--quiet"]) == 0
    rows = list(csv.reader(out.open()))
    assert rows[0] == ["image_id", "class_id"]
    assert len(rows) == 827
    ids = [r[0] for r in rows[1:]]
    assert all(i.isdigit() for i in ids) and len(set(ids)) == 826
    assert {p.name[4:-4] for p in (MAVOC_TEST / "SAR").glob("SAR_*.png")} == set(ids)
    assert all(0 <= int(r[1]) <= 9 for r in rows[1:])


def test_compare_and_from(ce_run, tmp_path, capsys):
    again = tmp_path / "again"
    assert main(["run", "--from", str(ce_run), "--out", str(again), "--quiet", "--no-figures"]) == 0
    assert (again / "metrics.jsonl").read_text() == (ce_run / "metrics.jsonl").read_text()
    capsys.readouterr()
    assert main(["compare", str(ce_run), str(again), "--csv", str(tmp_path / "cmp.csv")]) == 0
    text = capsys.readouterr().out
    assert "balanced" in text and str(again) in text
    assert len((tmp_path / "cmp.csv").read_text().splitlines()) == 3


def test_several_recipes_and_seeds_report_mean_and_std(tmp_path, capsys):
    out = tmp_path / "multi"
    assert main(["run", "ce,crt", "--seeds", "0,1", "--out", str(out), "--no-figures", *TINY]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert [r["recipe"] for r in summary] == ["ce", "crt", "ce@equal"]  # the equal-budget control is added
    assert all(r["n"] == 2 and r["balanced"]["std"] is not None for r in summary)
    crt = summary[1]["vs"]["ce"]  # paired by seed with ce: mean difference and its 95 % interval
    assert crt["n"] == 2 and crt["ci_low"] <= crt["mean"] <= crt["ci_high"]
    for recipe in ("ce", "crt"):
        for seed in (0, 1):
            assert (out / recipe / f"seed-{seed}" / "results.json").exists()
    # crt's rough stage was copied from ce's run of the same seed, not trained again
    ckpt = __import__("torch").load(out / "crt" / "seed-0" / "checkpoints" / "stage-1-rough.pt", weights_only=True)
    assert ckpt["reused_from"].endswith(os.path.join("ce", "seed-0"))
    assert "±" in capsys.readouterr().out


@pytest.mark.skipif(not MSTAR.exists(), reason=f"MSTAR chips not found at {MSTAR}")
def test_run_on_a_long_tailed_mstar_subset(tmp_path, monkeypatch):
    monkeypatch.setenv("SARTAIL_CACHE_DIR", str(tmp_path / "cache"))
    out = tmp_path / "mstar"
    args = ["run", "crt", "--data", f"mstar:{MSTAR}", "--profile", "exp", "--ratio", "10", "--out", str(out),
            "--set", "model.width=4", "--set", "stages.*.epochs=1", "--device", "cpu",
            "--quiet", "--no-figures", *NO_FLOOR_CLI]
    assert main(args) == 0
    res = json.loads((out / "results.json").read_text())
    counts = res["data"]["train_counts"]
    assert res["data"]["classes"][0] == "2S1" and counts[0] / counts[-1] == pytest.approx(10, rel=0.35)
    assert sum(res["data"]["test_counts"]) == pytest.approx(0.25 * 2746, rel=0.02)  # a held-out fold
    # cut by aspect sector (MSTAR's default), its leakage measured
    assert res["data"]["split"] == "aspect" and 0 <= res["data"]["test_leakage"]["near_duplicate_share"] < 0.2
    # the MSTAR kind's input defaults, with nothing set: 64 px chips, batch 64 (sartail/config/inputs.py)
    assert res["data"]["chip_size"] == [64, 64]
    saved = yaml.safe_load((out / "config.yaml").read_text())
    assert saved["data"]["size"] == 64 and saved["batch_size"] == 64


def test_data_tour_prints_the_class_table_and_writes_a_figure(tmp_path, capsys):
    fig = tmp_path / "hist"
    assert main(["data", "synthetic:scale=0.004", "--figure", str(fig), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "SYNTHETIC" in out and "sedan" in out and "imbalance ratio" in out
    assert all((tmp_path / f"hist.{ext}").stat().st_size > 0 for ext in ("png", "svg", "pdf"))


def test_recipes_and_show(capsys):
    assert main(["recipes"]) == 0
    assert "three_stage" in capsys.readouterr().out
    assert main(["show", "three_stage", "--set", "stages.residual.remove=[0,1]"]) == 0
    assert "- 1" in capsys.readouterr().out


def test_real_subprocess_and_python_dash_m(tmp_path):
    out = tmp_path / "sub"
    proc = subprocess.run([sys.executable, "-m", "sartail", "run", "ce", "--out", str(out), *TINY, "--no-figures"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "balanced" in proc.stdout and (out / "results.json").exists()
    bad = subprocess.run([sys.executable, "-m", "sartail", "run", "ce", "--data", "mavoc:/no/such/folder",
                          "--out", str(tmp_path / "bad")], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "/no/such/folder" in bad.stderr and "Traceback" not in bad.stderr


def test_threads_option_sets_torch_threads_and_provenance_records_them(tmp_path, capsys):
    """--threads N (else $SARTAIL_THREADS) is what the run trains with; a bad value is refused before anything is written."""
    env = {**os.environ, "SARTAIL_THREADS": "2"}
    for flag, want in ((["--threads", "1"], 1), ([], 2)):
        out = tmp_path / f"t{want}"
        proc = subprocess.run([sys.executable, "-m", "sartail", "run", "ce", "--out", str(out), *TINY, "--no-figures",
                               *flag], capture_output=True, text=True, timeout=300, env=env)
        assert proc.returncode == 0, proc.stderr
        assert json.loads((out / "provenance.json").read_text())["threads"] == want
    assert main(["run", "ce", "--out", str(tmp_path / "bad"), *TINY, "--threads", "0"]) == 2
    assert "argument --threads: '0' is not a whole number >= 1" in capsys.readouterr().err
    assert not (tmp_path / "bad").exists()


@pytest.mark.skipif(not MAVOC_TEST.exists(), reason=f"MAVOC test chips not found at {MAVOC_TEST}")
def test_unlabelled_chips_cannot_train_or_score(tmp_path, capsys):
    assert main(["run", "ce", "--data", f"mavoc_test:{MAVOC_TEST}", "--out", str(tmp_path / "u"), "--quiet"]) == 2
    assert "no labels" in capsys.readouterr().err
    assert main(["run", "ce", "--test", f"mavoc_test:{MAVOC_TEST}", "--data", "synthetic", "--out",
                 str(tmp_path / "v"), "--quiet"]) == 2
    assert "no labels" in capsys.readouterr().err
    assert not (tmp_path / "u").exists() and not (tmp_path / "v").exists()


def test_epoch_scale_from_the_command_line(tmp_path, capsys):
    assert main(["show", "crt", "--epoch-scale", "4"]) == 0
    shown = capsys.readouterr().out
    assert "epochs: 120" in shown and "epochs: 40" in shown
    assert main(["run", "ce", "--out", str(tmp_path / "x"), "--epoch-scale", "0", *TINY]) == 2
    assert "argument --epoch-scale: '0' is not a number > 0" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
    assert main(["run", "--resume", str(tmp_path / "x"), "--epoch-scale", "2"]) == 2
    assert "--epoch-scale cannot change it" in capsys.readouterr().err


def test_sweep_removal_is_a_command():
    from sartail.cli import build_parser
    from sartail.cli.commands import cmd_sweep_removal

    args = build_parser().parse_args(["sweep-removal", "--seeds", "0,1", "--top", "2,3", "--remove", "0,3"])
    assert args.func is cmd_sweep_removal and args.recipe == "three_stage" and args.remove == [[0, 3]]
    assert (args.seeds, args.top, args.shares) == ([0, 1], [2, 3], [0.2])


def _numeric_options():
    """(command, option, bad values) for every option of every command whose value is a number or a list of them."""
    import argparse

    from sartail.cli import build_parser
    from sartail.cli import options as O

    numeric = {O.positive_int, O.seed, O.positive_float, O.share, O.seeds, O.shares, O.counts, O.class_ids}
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    for name, parser in sub.choices.items():
        for action in parser._actions:
            if action.type in numeric:
                yield name, action.option_strings[-1]


NUMERIC_OPTIONS = list(_numeric_options())


def test_every_numeric_option_is_checked():
    found = set(NUMERIC_OPTIONS)
    for expected in [("run", "--ratio"), ("run", "--epoch-scale"), ("run", "--seeds"), ("run", "--subset-seed"),
                     ("run", "--threads"), ("demo", "--seed"), ("demo", "--scale"), ("sweep-removal", "--shares"),
                     ("sweep-removal", "--top"), ("sweep-removal", "--remove"), ("sweep-removal", "--seeds"),
                     ("show", "--epoch-scale"), ("eval", "--threads"), ("data", "--threads")]:
        assert expected in found


@pytest.mark.parametrize(("command", "option"), NUMERIC_OPTIONS)
@pytest.mark.parametrize("bad", ["x", "-1", "nan"])
def test_a_bad_numeric_value_answers_in_one_line_with_exit_2(command, option, bad, tmp_path, capsys):
    positional = {"eval": [str(tmp_path)], "predict": [str(tmp_path)], "compare": [str(tmp_path)], "show": ["ce"]}
    assert main([command, *positional.get(command, []), f"{option}={bad}", "--help"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"argument {option}" in err and repr(bad) in err and f"sartail {command}" in err


def test_demo_trains_three_stage_ce_and_the_control_and_draws_only_what_it_shows(tmp_path, capsys):
    """`sartail demo` at a tiny --scale: three runs, one stage table, the figures of three_stage and the comparison."""
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--scale", "0.002", "--device", "cpu", "--quiet"]) == 0
    printed = capsys.readouterr().out
    for row in ("three_stage/rough", "three_stage/classifier", "ce (baseline)", "ce@equal (control)"):
        assert row in printed
    assert "SYNTHETIC" in printed and "equal-budget control" in printed
    saved = yaml.safe_load((out / "three_stage" / "config.yaml").read_text())
    assert saved["data"]["scale"] == 0.002
    assert {p.name for p in (out / "three_stage" / "figures").glob("*.png")} == {
        "per_class_accuracy.png", "confusion_matrices.png", "training_curves.png"}
    assert (out / "figures" / "ce_vs_three_stage.png").stat().st_size > 0
    assert not list(out.rglob("*.svg")) and not list(out.rglob("*.pdf"))  # --formats png is the default
    for baseline in ("ce", "ce@equal"):  # trained and scored, but drawn only in the comparison
        assert (out / baseline / "results.json").exists() and not list((out / baseline / "figures").glob("*.png"))
    assert "three_stage" in json.loads((out / "three_stage" / "results.json").read_text())["recipe"]
    # a bad figure format is refused before anything trains, naming the value
    assert main(["demo", "--out", str(tmp_path / "bad"), "--formats", "png,gif", "--quiet"]) == 2
    assert "png,gif" in capsys.readouterr().err and not (tmp_path / "bad").exists()
