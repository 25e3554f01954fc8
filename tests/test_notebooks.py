"""The notebooks: healthy files, helpers that work, and every notebook run top to bottom.

- Files: every ``.ipynb`` is paired with its percent script and in sync with it, has no
  outputs, names the ``python3`` kernel, has one ``parameters`` cell of plain assignments,
  opens with an explanation and keeps its code cells short.
- Helpers (:mod:`sartail.ui.notebook`): parameters from the environment, configs, finding or
  making the shared run, training missing stages, scoring one stage, comparing recipes.
- Execution: nbclient runs each notebook in a fresh kernel with tiny settings from
  ``SARTAIL_NB_*`` variables and fails on any cell error. Notebooks 01, 02 and 03 share one
  run folder, in order (02 must find stage 1, 03 stage 2); the browser test opens each alone.
  Executed copies are kept in ``test-artifacts/notebooks/``.
"""
from __future__ import annotations

import ast
import json
import os
import sys
import time
from pathlib import Path

import pytest

from sartail.errors import ConfigError
from sartail.ui import notebook as nb

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
NAMES = ["00_data_tour", "01_stage1_rough", "02_stage2_residual", "03_stage3_balanced", "04_compare_recipes",
         "05_what_the_model_sees", "06_removal_sweep"]
ARTIFACTS = REPO / "test-artifacts" / "notebooks"
TINY = {"SCALE": "0.002", "TEST_PER_CLASS": "5", "WIDTH": "4", "ROUGH_EPOCHS": "1", "RESIDUAL_EPOCHS": "1",
        "BALANCED_EPOCHS": "1", "CLASSIFIER_EPOCHS": "1", "POOL_PER_CLASS": "20", "GALLERY_PER_CLASS": "3",
        "FEATURE_CHIPS": "40", "SALIENCY_CHIPS": "2", "CLUTTER_CHIPS": "10"}
MAX_CODE_LINES = 4


def _read(name: str):
    import nbformat

    return nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)


# ------------------------------------------------------------------------------ the files
def test_every_notebook_is_there_and_paired():
    assert sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb")) == NAMES
    assert sorted(p.stem for p in NOTEBOOKS.glob("*.py")) == NAMES
    assert 'formats = "ipynb,py:percent"' in (NOTEBOOKS / "jupytext.toml").read_text()


@pytest.mark.parametrize("name", NAMES)
def test_notebook_file_is_healthy(name):
    import jupytext

    book = _read(name)
    assert book.metadata["kernelspec"]["name"] == "python3"  # JupyterLab opens it without asking for a kernel
    code = [c for c in book.cells if c.cell_type == "code"]
    for c in code:
        assert not c.get("outputs") and c.get("execution_count") is None, f"{name}: outputs are committed"
    # paired: the percent script holds the same cells
    script = jupytext.read(NOTEBOOKS / f"{name}.py")
    assert [(c.cell_type, c.source) for c in script.cells] == [(c.cell_type, c.source) for c in book.cells]
    # one tagged parameters cell of plain UPPERCASE assignments
    tagged = [c for c in book.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1 and tagged[0].cell_type == "code"
    tree = ast.parse(tagged[0].source)
    assert all(isinstance(s, ast.Assign) for s in tree.body)
    names = [t.id for s in tree.body for t in s.targets]
    assert names and all(n.isupper() for n in names)
    assert "DATA" in names  # real data is one parameter away
    # an explanation first; short code cells (the logic lives in sartail)
    assert book.cells[0].cell_type == "markdown" and book.cells[0].source.startswith(f"# {name[:2]} · ")
    assert len(book.cells[0].source) > 400
    for c in code:
        if c is tagged[0]:
            continue
        lines = [ln for ln in c.source.splitlines() if ln.strip() and not ln.strip().startswith("#")]
        assert len(lines) <= MAX_CODE_LINES, f"{name}: a long code cell:\n{c.source}"
    # every parameter is used
    rest = "\n".join(c.source for c in code if c is not tagged[0])
    for n in names:
        assert n in rest or n in ("DATA", "TEST", "SCALE", "TEST_PER_CLASS", "PROFILE", "RATIO", "SEED", "WIDTH",
                                  "ROUGH_EPOCHS", "RESIDUAL_EPOCHS", "BALANCED_EPOCHS", "CLASSIFIER_EPOCHS", "REMOVE",
                                  "FIGURES", "POOL_PER_CLASS"), f"{name}: parameter {n} is never used"


# ------------------------------------------------------------------------------ parameters
def test_params_from_the_environment_follow_the_defaults_types():
    ns = {"DATA": "synthetic", "EPOCHS": 12, "LR": 0.05, "FLAG": False, "REMOVE": [0], "TEST": None,
          "D": {"a": 1}, "lower": 1, "_HIDDEN": 2}
    env = {"SARTAIL_NB_DATA": "mstar:/x", "SARTAIL_NB_EPOCHS": "3", "SARTAIL_NB_LR": "1e-3", "SARTAIL_NB_FLAG": "true",
           "SARTAIL_NB_REMOVE": "[0, 3]", "SARTAIL_NB_TEST": "mstar:/t", "SARTAIL_NB_D": "{b: 2}",
           "SARTAIL_NB_OTHER": "1"}
    P = nb.params(ns, environ=env, quiet=True)
    assert (ns["DATA"], ns["EPOCHS"], ns["LR"], ns["FLAG"], ns["REMOVE"], ns["TEST"], ns["D"]) == \
        ("mstar:/x", 3, 0.001, True, [0, 3], "mstar:/t", {"b": 2})
    assert P.EPOCHS == 3 and P["REMOVE"] == [0, 3] and "lower" not in P and "_HIDDEN" not in P
    assert P.ignored == ("OTHER",) and P.overridden == ("D", "DATA", "EPOCHS", "FLAG", "LR", "REMOVE", "TEST")
    assert "from $SARTAIL_NB_EPOCHS" in P._repr_html_() and "SARTAIL_NB_OTHER" in P._repr_html_()
    assert nb.parse_value("0,3", [0], "R") == [0, 3] and nb.parse_value("5", [0], "R") == [5]
    with pytest.raises(ConfigError, match=r"\$SARTAIL_NB_EPOCHS='x': expected an integer"):
        nb.params({"EPOCHS": 1}, environ={"SARTAIL_NB_EPOCHS": "x"})
    with pytest.raises(ConfigError, match="expected true or false"):
        nb.parse_value("maybe", True, "F")
    with pytest.raises(AttributeError, match="no parameter 'NOPE'"):
        P.NOPE


def test_configs_from_parameters():
    P = {"DATA": "synthetic", "SCALE": 0.01, "TEST_PER_CLASS": 7, "SEED": 3, "WIDTH": 4, "ROUGH_EPOCHS": 2,
         "RESIDUAL_EPOCHS": 5, "REMOVE": [0, 2], "ROUGH_LR": 0.1, "ROUGH_SAMPLER": "sqrt", "PROFILE": "auto"}
    cfg = nb.make_config("three_stage", P)
    assert (cfg.seed, cfg.model.width, cfg.data.scale, cfg.data.test_per_class, cfg.data.profile) == \
        (3, 4, 0.01, 7, None)
    assert [s.epochs for s in cfg.stages] == [2, 5, nb.QUICK_EPOCHS["balanced"], nb.QUICK_EPOCHS["classifier"]]
    # the one epoch rule: the warm-up keeps its fraction of the stage (1 of 30 epochs -> 2/30 of 2)
    assert cfg.stage("rough").schedule.warmup_epochs == pytest.approx(2 / 30, abs=1e-6)
    assert list(cfg.stage("residual").remove) == [0, 2]
    assert cfg.stage("rough").optimizer.lr == 0.1 and cfg.stage("rough").sampler.name == "sqrt"
    # other recipes: stages take the epochs of their role; LDAM's re-weighting keeps its place
    ldam = nb.make_config("ldam_drw", P)
    assert ldam.stages[0].epochs == 2 and ldam.stages[0].loss.drw_epoch == 1  # 20 of 30 -> 1 of 2
    assert [s.epochs for s in nb.make_config("lws", P).stages] == [2, nb.QUICK_EPOCHS["classifier"]]
    assert [s.epochs for s in nb.make_config("tau_norm", P).stages] == [2, 0]
    # real data: SCALE does not apply; PROFILE auto makes a balanced set (MSTAR) long-tailed
    real = nb.make_config("three_stage", {**P, "DATA": "mstar:/data/MSTAR", "RATIO": 50.0})
    assert real.data.train == "mstar:/data/MSTAR" and real.data.profile == "exp" and real.data.ratio == 50.0
    assert real.data.scale == 0.015  # the default, unused
    assert nb.make_config("ce", {**P, "DATA": "mavoc:/m"}).data.profile is None  # MAVOC is long-tailed already


def test_notebooks_use_one_thread_unless_told(monkeypatch):
    import torch

    before = torch.get_num_threads()
    try:
        monkeypatch.delenv(nb.THREADS_ENV, raising=False)
        assert nb.use_threads() == 1 and torch.get_num_threads() == 1
        monkeypatch.setenv(nb.THREADS_ENV, "2")
        nb.params({"DATA": "synthetic"}, quiet=True)
        assert torch.get_num_threads() == 2  # a notebook's params cell applies $SARTAIL_THREADS
        monkeypatch.setenv(nb.THREADS_ENV, "many")
        with pytest.raises(ConfigError, match=r"\$SARTAIL_THREADS='many': expected a number"):
            nb.use_threads()
        with pytest.raises(ConfigError, match="at least 1"):
            nb.use_threads(0)
    finally:
        torch.set_num_threads(before)


@pytest.fixture
def tiny():
    return {"DATA": "synthetic", **{k: json.loads(v) for k, v in TINY.items()}, "REMOVE": [0]}


def test_open_run_finds_a_compatible_run_or_starts_anew(tmp_path, tiny, capsys):
    cfg = nb.make_config("three_stage", tiny)
    run = nb.open_run(cfg, tmp_path / "r")
    assert "New run in" in capsys.readouterr().out
    nb.ensure_stage(run, "rough", quiet=True)
    # other stage settings: the same run, its checkpoints kept
    again = nb.open_run(nb.make_config("three_stage", {**tiny, "RESIDUAL_EPOCHS": 3}), tmp_path / "r")
    assert "Found the run" in capsys.readouterr().out and again.completed() == 1
    # other data: a new run
    other = nb.open_run(nb.make_config("three_stage", {**tiny, "SEED": 1}), tmp_path / "r")
    out = capsys.readouterr().out
    assert "was made with other settings (seed)" in out and other.completed() == 0


def test_stage_helpers_train_score_and_restart(tmp_path, tiny, capsys):
    run = nb.open_run(nb.make_config("three_stage", tiny), tmp_path / "r", quiet=True)
    nb.ensure_stage(run, "residual")
    out = capsys.readouterr().out
    assert "not found in" in out and "rough, residual; training them now" in out and "epoch 1: loss" in out
    assert run.completed() == 2
    nb.ensure_stage(run, "rough")
    assert "stage rough is done" in capsys.readouterr().out
    res = nb.stage_results(run)
    assert list(res.stages) == ["rough", "residual"]
    assert res.stages["residual"].removed == ["sedan"] and not (run.dir.path / "results.json").exists()
    assert nb.accuracy_table(res).loc["2 residual", "classes"] == 9
    assert "predicts class 0 (*sedan*)" in nb.tail_report(res, "rough").data
    # the same stage again: nothing to do; other settings: the stage and the later ones go
    assert nb.apply_stage_changes(run, "residual", {"remove": [0]}) == "trained"
    assert nb.apply_stage_changes(run, "residual", {"remove": [0, 1]}) == "changed"
    assert run.completed() == 1 and list(run.cfg.stage("residual").remove) == [0, 1]
    assert nb.restart_stage(run, "rough") == ["rough"] and run.completed() == 0 and run.dir.metrics() == []
    # a finished run: stage_results is run.test()
    nb.ensure_stage(run, "classifier", quiet=True)
    full = nb.stage_results(run)
    assert (run.dir.path / "results.json").exists()
    assert full.stages["rough"].per_class == nb.evaluate_stage(run, "rough").per_class
    assert nb.stage_labels(full) == {"rough": "1 rough", "residual": "2 residual", "balanced": "3a balanced",
                                     "classifier": "3b classifier"}


@pytest.mark.slow
def test_compare_recipes_reuses_and_reads_back(tmp_path, tiny, capsys):
    P = {**tiny, "RUN_DIR": str(tmp_path)}
    cmp = nb.compare_recipes(["ce", "crt"], P, seeds=[0, 1])
    out = capsys.readouterr().out
    assert out.count("balanced accuracy") == 6  # ce, crt and the equal-budget control ce@equal, 2 seeds each
    assert list(cmp.results) == ["ce", "crt", "ce@equal"] and all(len(v) == 2 for v in cmp.results.values())
    # crt copied its first stage from ce's run of the same seed instead of training it
    from sartail.run.rundir import RunDir

    crt = RunDir(tmp_path / "compare" / "crt" / "seed-0")
    assert crt.load(crt.stage_checkpoint(0, "rough"))["reused_from"] == str(tmp_path / "compare" / "ce" / "seed-0")
    table = cmp.table()
    assert list(table.index) == ["ce", "crt", "ce@equal"] and "±" in table.loc["ce", "balanced"]
    assert table.loc["ce", "seeds"] == 2
    assert len(cmp.per_class()["ce"]["sedan"]) == 2  # one accuracy per seed
    for fig in (cmp.plot_per_class(), cmp.plot_shots(), cmp.plot_reliability(), cmp.plot_per_class_bars()):
        assert fig.axes
    again = nb.compare_recipes(["ce", "crt"], P, seeds=[0, 1])
    assert capsys.readouterr().out.count("found in") == 6  # finished runs are read back
    assert again.table().equals(table)
    with pytest.raises(ConfigError):
        nb.compare_recipes([], P)


def test_publish_saves_when_asked(tmp_path):
    from sartail.report import figures as plots

    fig = plots.class_histogram([3, 1], ["a", "b"])
    assert nb.publish(fig, "h", {"FIGURES": ""}) is fig and not list(tmp_path.iterdir())
    nb.publish(fig, "h", {"FIGURES": str(tmp_path / "figs")})
    assert sorted(p.name for p in (tmp_path / "figs").iterdir()) == ["h.pdf", "h.png", "h.svg"]


# ------------------------------------------------------------------------------ running the notebooks
def _execute(name: str, workdir: Path, env: dict[str, str], monkeypatch) -> tuple[object, float]:
    """Run one notebook top to bottom in a fresh kernel; fail on any cell error."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    for k, v in env.items():
        monkeypatch.setenv(f"SARTAIL_NB_{k}", v)
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.setenv("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    book = _read(name)
    client = NotebookClient(book, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(workdir)}})
    t0 = time.perf_counter()
    try:
        client.execute()
    except CellExecutionError as exc:
        pytest.fail(f"{name}: a cell failed:\n{exc}", pytrace=False)
    finally:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        nbformat.write(book, ARTIFACTS / f"{name}.ipynb")
    return book, time.perf_counter() - t0


def _outputs(book, cell_index: int | None = None) -> list[dict]:
    cells = [c for c in book.cells if c.cell_type == "code"]
    if cell_index is not None:
        cells = [cells[cell_index]]
    return [o for c in cells for o in c.get("outputs", [])]


def _text(book) -> str:
    parts = []
    for o in _outputs(book):
        if o.get("output_type") == "stream":
            parts.append(o["text"])
        for mime in ("text/plain", "text/markdown", "text/html"):
            if mime in o.get("data", {}):
                parts.append(o["data"][mime])
    return "\n".join(parts)


def _count(book, mime: str) -> int:
    return sum(mime in o.get("data", {}) for o in _outputs(book))


WIDGET = "application/vnd.jupyter.widget-view+json"


@pytest.mark.slow
def test_00_data_tour_runs(tmp_path, monkeypatch):
    figs = tmp_path / "figs"
    book, secs = _execute("00_data_tour", tmp_path, {**TINY, "FIGURES": str(figs)}, monkeypatch)
    assert _count(book, "image/png") >= 3 and _count(book, WIDGET) >= 1  # figures and the builder
    assert "sedan" in _text(book) and "builder.counts" not in _text(book)
    expected = ["chip_gallery.png", "class_histogram.png", "pixel_statistics.png"]
    if (NOTEBOOKS / "../../shared/data/mavoc2022_test_sar").is_dir():  # the real chips of REAL's default
        expected += ["realism_gallery.png", "realism_statistics.png"]
        assert "discriminator logistic" in _text(book)
    else:
        assert "No real chips" in _text(book)
    assert sorted(p.name for p in figs.glob("*.png")) == sorted(expected)
    print(f"00_data_tour: {secs:.0f} s")


@pytest.mark.slow
def test_stage_notebooks_01_02_03_share_one_run(tmp_path, monkeypatch):
    env = {**TINY, "RUN_DIR": str(tmp_path / "runs")}
    times = {}
    b1, times["01"] = _execute("01_stage1_rough", tmp_path, env, monkeypatch)
    t1 = _text(b1)
    assert "New run in" in t1 and "predicts class 0 (*sedan*)" in t1
    assert _count(b1, WIDGET) >= 1 and _count(b1, "image/png") >= 3
    b2, times["02"] = _execute("02_stage2_residual", tmp_path, env, monkeypatch)
    t2 = _text(b2)
    assert "Found the run" in t2 and "stage rough is done" in t2  # stage 1 from notebook 01, not retrained
    assert "((0,)," in t2 and _count(b2, WIDGET) >= 2  # the picker's state; picker and panel
    b3, times["03"] = _execute("03_stage3_balanced", tmp_path, env, monkeypatch)
    t3 = _text(b3)
    assert "stage residual is done" in t3 and "3b classifier" in t3
    assert (tmp_path / "runs" / "three_stage" / "results.json").exists()
    assert _count(b3, WIDGET) >= 3 and _count(b3, "image/png") >= 4  # with the feature view of every stage
    assert "name: balanced" in t3 and "name: classifier" in t3  # the stages as YAML
    assert "name: residual" in t2 and "remove:" in t2
    b5, times["05"] = _execute("05_what_the_model_sees", tmp_path, env, monkeypatch)
    t5 = _text(b5)
    assert "stage classifier is done" in t5 and "Saliency maps: Grad-CAM and occlusion" in t5
    assert "clutter" in t5 and _count(b5, "image/png") >= 3  # saliency, clutter check, error gallery
    print("notebooks 01-05: " + ", ".join(f"{k} {v:.0f} s" for k, v in times.items()))


@pytest.mark.slow
def test_06_removal_sweep_takes_sets_from_the_picker(tmp_path, monkeypatch):
    env = {**TINY, "RUN_DIR": str(tmp_path / "runs"), "SEEDS": "[0, 1]", "TOPS": "[]", "SHARES": "[0.5]"}
    nb.add_to_sweep((0, 3), tmp_path / "runs")  # what notebook 02's "add to sweep" does
    book, secs = _execute("06_removal_sweep", tmp_path, env, monkeypatch)
    text = _text(book)
    assert "3 removed sets x 2 seed(s)" in text  # none, {0} = >50%, {0, 3}
    assert "{0} = &gt;50%" in text or "{0} = >50%" in text
    assert "{0, 3}" in text and _count(book, "image/png") >= 1
    assert sorted(p.name for p in (tmp_path / "runs" / "removal").iterdir()) == ["none", "remove-0", "remove-0-3"]
    print(f"06_removal_sweep: {secs:.0f} s")


@pytest.mark.slow
def test_04_compare_recipes_runs(tmp_path, monkeypatch):
    env = {**TINY, "RUN_DIR": str(tmp_path / "runs"), "SEEDS": "[0, 1]",
           "RECIPES": "[ce, lws, ldam_drw]"}
    book, secs = _execute("04_compare_recipes", tmp_path, env, monkeypatch)
    text = _text(book)
    assert "3 recipes x 2 seed(s)" in text and "±" in text
    assert _count(book, "image/png") >= 3 and _count(book, "text/html") >= 2
    print(f"04_compare_recipes: {secs:.0f} s")


@pytest.mark.slow
def test_real_data_is_one_parameter_away(tmp_path, monkeypatch, mstar_root):
    """Notebook 01 on real MSTAR chips (skipped where they are absent): only DATA changes."""
    env = {**TINY, "RUN_DIR": str(tmp_path / "runs"), "DATA": f"mstar:{mstar_root}"}
    book, secs = _execute("01_stage1_rough", tmp_path, env, monkeypatch)
    text = _text(book)
    assert "2S1" in text  # MSTAR's classes
    new_run = next(line for line in text.splitlines() if line.startswith("New run in"))
    assert "(synthetic)" not in new_run
    print(f"01_stage1_rough on MSTAR: {secs:.0f} s")
