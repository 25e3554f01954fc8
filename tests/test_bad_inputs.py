"""More of RELIABILITY.md's bad-input catalogue, each through the command line: a one-line
``sartail: error: ...`` naming the file or value at fault, exit status 2, no traceback, and no
run folder left behind -- or, for odd but valid chip paths, a run that works."""
from __future__ import annotations

import os
import shutil
import subprocess
import uuid

import pytest
from tiny_runs import NO_FLOOR_CLI, TINY

from sartail import Run, load_config
from sartail.cli import main

CLI = ["--set", "model.width=4", "--set", "stages.*.epochs=1", "--set", "batch_size=16", "--device", "cpu",
       "--quiet", "--no-figures", *NO_FLOOR_CLI]
SYNTHETIC = ["--set", "data.scale=0.004", "--set", "data.test_per_class=10"]


def one_line_error(capsys, *parts: str) -> str:
    err = capsys.readouterr().err
    assert err.startswith("sartail: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    for part in parts:
        assert part in err, err
    return err


def test_a_recipe_yaml_with_a_syntax_error(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("recipe: bad\nstages:\n  - name: rough\n    epochs: [1,\n")
    assert main(["run", str(bad), "--out", str(tmp_path / "r"), *CLI]) == 2
    one_line_error(capsys, f"recipe {str(bad)!r} is not valid YAML (line 5, column 1): expected the node content")
    assert not (tmp_path / "r").exists()


def test_a_recipe_with_two_stages_of_one_name(tmp_path, capsys):
    twice = tmp_path / "twice.yaml"
    twice.write_text("recipe: twice\nstages:\n  - {name: rough, epochs: 1}\n  - {name: rough, epochs: 2}\n")
    assert main(["run", str(twice), "--out", str(tmp_path / "r"), *CLI]) == 2
    one_line_error(capsys, "stage names must be unique, repeated: ['rough']")
    assert not (tmp_path / "r").exists()


def test_seeds_that_are_not_integers(tmp_path, capsys):
    assert main(["run", "ce", "--seeds", "a,b", "--out", str(tmp_path / "r"), *CLI]) == 2
    err = capsys.readouterr().err
    assert err.startswith("sartail run: error: argument --seeds: in 'a,b', 'a' is not a whole number >= 0") and err.count("\n") == 1
    assert not (tmp_path / "r").exists()


def test_bad_option_values_of_a_stage_name_the_stage_and_the_value(tmp_path, capsys):
    assert main(["run", "ce", "--set", "stages.rough.loss.gamma=-1", "--out", str(tmp_path / "r"), *CLI]) == 2
    one_line_error(capsys, "stages.rough.loss: loss.gamma must be >= 0, got -1.0")
    assert main(["run", "ce", "--set", "stages.rough.sampler.name=undersample", "--out", str(tmp_path / "r"), *CLI]) == 2
    one_line_error(capsys, "stages.rough.sampler:", "max_per_class >= 1", "got None")


def test_chips_none_of_which_can_be_read_keep_the_reasons(tmp_path):
    from sartail.data.sources.folder import load_folder
    from sartail.errors import DataError

    for name in ("jeep", "tank"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "a.png").write_text("not a png")
    with pytest.raises(DataError, match=r"none of the 2 chips could be read:\n  skipped .*jeep/a.png: not an image file"):
        load_folder(tmp_path, skip_bad=True, cache=False, progress=False)


def test_a_data_spec_of_an_unknown_kind(tmp_path, capsys):
    assert main(["run", "ce", "--data", f"mavok:{tmp_path}", "--out", str(tmp_path / "r"), *CLI]) == 2
    one_line_error(capsys, "unknown data kind 'mavok'", "Did you mean 'mavoc'?")
    assert not (tmp_path / "r").exists()


def test_a_test_set_whose_classes_differ_from_the_training_set(tmp_path, capsys, make_folder_layout):
    train = make_folder_layout(tmp_path / "train", counts={"jeep": 6, "tank": 6, "truck": 6})
    test = make_folder_layout(tmp_path / "test", counts={"jeep": 3, "bus": 3})
    assert main(["run", "ce", "--data", f"folder:{train}", "--test", f"folder:{test}", "--out", str(tmp_path / "r"),
                 *CLI]) == 2
    one_line_error(capsys, f"class(es) ['bus'] of folder:{test} are not among ['jeep', 'tank', 'truck']")
    assert not (tmp_path / "r").exists()


def test_resume_of_a_folder_that_is_not_a_run(tmp_path, capsys):
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "holiday.jpg").write_bytes(b"x")
    assert main(["run", "--resume", str(tmp_path / "photos"), "--quiet"]) == 2
    one_line_error(capsys, f"{tmp_path / 'photos'} is not a sartail run directory (no config.yaml)")
    assert sorted(p.name for p in (tmp_path / "photos").iterdir()) == ["holiday.jpg"]  # nothing added
    assert main(["run", "--resume", str(tmp_path / "missing"), "--quiet"]) == 2
    one_line_error(capsys, "is not a sartail run directory")


def test_a_run_folder_under_a_regular_file(tmp_path, capsys):
    """An unwritable place that stays unwritable for root (CI runs as root, so chmod cannot make one)."""
    (tmp_path / "notes.txt").write_text("a file, not a folder")
    assert main(["run", "ce", "--out", str(tmp_path / "notes.txt" / "run"), *SYNTHETIC, *CLI]) == 2
    one_line_error(capsys, f"cannot make run folder {tmp_path / 'notes.txt' / 'run'}: Not a directory")
    assert (tmp_path / "notes.txt").read_text() == "a file, not a folder"


@pytest.fixture
def read_only_mount(tmp_path):
    """A tmpfs mounted read-only (needs root with CAP_SYS_ADMIN; skipped, saying so, elsewhere)."""
    where = tmp_path / f"ro-{uuid.uuid4().hex[:6]}"
    where.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(where)], capture_output=True).returncode:
        pytest.skip("cannot mount a tmpfs here (needs root with CAP_SYS_ADMIN); the under-a-file case still runs")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True)


def test_a_run_folder_on_a_read_only_file_system(read_only_mount, tmp_path, capsys):
    run = read_only_mount / "ce"
    Run.create(load_config("ce", TINY), run, progress=False).fit_and_test()
    (run / "results.json").unlink()  # a run that still has to write
    assert subprocess.run(["mount", "-o", "remount,ro", str(read_only_mount)]).returncode == 0
    assert main(["run", "--resume", str(run), "--quiet", "--no-figures"]) == 2
    one_line_error(capsys, f"cannot train in {run}: cannot create its lock file {run / '.sartail.lock'} "
                           "(Read-only file system)")
    assert main(["run", "ce", "--out", str(read_only_mount / "new"), *SYNTHETIC, *CLI]) == 2
    one_line_error(capsys, f"cannot make run folder {read_only_mount / 'new'}: Read-only file system")
    # reading needs no write: eval of the trained model works from the read-only folder
    assert main(["eval", str(run), "--data", "synthetic:test_per_class=2", "--quiet"]) == 0


def test_a_data_folder_holding_symlink_loops(tmp_path, capsys, make_folder_layout):
    root = make_folder_layout(tmp_path / "data", counts={"jeep": 6, "tank": 6})
    os.symlink(root, root / "again")  # a class folder that is the data folder itself
    assert main(["run", "ce", "--data", f"folder:{root}", "--out", str(tmp_path / "r"), *CLI]) == 2
    one_line_error(capsys, f"{root / 'again'}: a symbolic link back to {root.resolve()} (a loop in the data folder)")
    (root / "again").unlink()
    os.symlink("b.png", root / "jeep" / "a.png")  # a -> b -> a
    os.symlink("a.png", root / "jeep" / "b.png")
    assert main(["run", "ce", "--data", f"folder:{root}", "--out", str(tmp_path / "r"), *CLI]) == 2
    one_line_error(capsys, f"{root / 'jeep' / 'a.png'}: a symbolic link that loops or points nowhere (-> b.png)",
                   "--set data.skip_bad=true",
                   "skip_bad")
    assert not (tmp_path / "r").exists()


def test_chip_paths_with_spaces_and_non_ascii_names_work(tmp_path, capsys, make_folder_layout):
    root = make_folder_layout(tmp_path / "données SAR", counts={"jeep": 6, "tank": 6})
    (root / "jeep").rename(root / "Jeep Grand Chérokee")
    for f in sorted((root / "tank").iterdir()):
        f.rename(f.with_name(f"chip ü 戦車 {f.name}"))
    out = tmp_path / "runs ü" / "ce"
    assert main(["run", "ce", "--data", f"folder:{root}", "--out", str(out), *CLI]) == 0
    assert "Traceback" not in capsys.readouterr().err
    results = __import__("json").loads((out / "results.json").read_text(encoding="utf-8"))
    assert results["data"]["classes"] == ["Jeep Grand Chérokee", "tank"]
    ids = (out / "predictions.csv").read_text(encoding="utf-8")
    assert "chip ü 戦車 " in ids
    shutil.rmtree(out)
