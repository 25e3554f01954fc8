"""Runs: reproducibility, resume, reuse of identical stages, refusals that lose nothing."""
import json

import pytest
import torch
from tiny_runs import TINY, Recorder

from sartail import Run, prepare_data
from sartail.config import load_config
from sartail.errors import ConfigError, DataError, RunError, StopRequested

CFG = {**TINY, "stages.rough.epochs": 2}


def finished(tmp_path, name, recipe="three_stage", overrides=CFG, **kw):
    run = Run.create(load_config(recipe, overrides), tmp_path / name, progress=False, **kw)
    return run, run.fit_and_test()


def metrics_text(run):
    return (run.dir.path / "metrics.jsonl").read_text()


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """One uninterrupted tiny three-stage run that the other runs are compared with."""
    return finished(tmp_path_factory.mktemp("ref"), "ref")


def test_same_seed_twice_gives_identical_metrics(tmp_path, reference):
    a, ra = reference
    b, rb = finished(tmp_path, "b")
    assert metrics_text(a) == metrics_text(b)
    assert ra.final == rb.final
    assert (a.dir.path / "predictions.csv").read_text() == (b.dir.path / "predictions.csv").read_text()


def test_different_seeds_give_different_subsets_and_numbers(tmp_path):
    cfg0 = load_config("ce", {**TINY, "data.train": "synthetic", "seed": 0})
    cfg1 = load_config("ce", {**TINY, "seed": 1})
    d0, d1 = prepare_data(cfg0, progress=False), prepare_data(cfg1, progress=False)
    assert not torch.equal(d0.train.pixels(), d1.train.pixels()) if len(d0.train) == len(d1.train) else True
    assert d0.test.ids == d1.test.ids and torch.equal(d0.test.pixels(), d1.test.pixels())  # one test set
    a, _ = finished(tmp_path, "s0", "ce", {**TINY, "seed": 0})
    b, _ = finished(tmp_path, "s1", "ce", {**TINY, "seed": 1})
    assert metrics_text(a) != metrics_text(b)


@pytest.mark.parametrize("stop_at", [("rough", 1, 2), ("rough", 2, 1), ("residual", 1, 1), ("classifier", 1, 2)])
def test_resume_after_a_stop_gives_the_same_final_metrics(tmp_path, stop_at, reference):
    ref, ref_res = reference
    run = Run.create(load_config("three_stage", CFG), tmp_path / "cut", progress=False, callbacks=[Recorder(stop_at)])
    with pytest.raises(StopRequested):
        run.fit()
    resumed = Run.resume(tmp_path / "cut", progress=False)
    res = resumed.fit_and_test()
    assert metrics_text(resumed) == metrics_text(ref)
    assert res.final == ref_res.final


def test_resume_with_periodic_checkpoints_and_torn_metrics_line(tmp_path):
    cfg = {**CFG, "checkpoint_every": 3}
    ref, ref_res = finished(tmp_path, "ref", overrides=cfg)
    run = Run.create(load_config("three_stage", cfg), tmp_path / "cut", progress=False,
                     callbacks=[Recorder(("rough", 2, 5))])
    with pytest.raises(StopRequested):
        run.fit()
    with open(run.dir.path / "metrics.jsonl", "a") as fh:  # as if killed while writing a line
        fh.write('{"stage": "rough", "epo')
    res = Run.resume(tmp_path / "cut", progress=False).fit_and_test()
    assert metrics_text(run) == metrics_text(ref)
    assert res.final == ref_res.final


def test_identical_stages_are_reused_not_retrained(tmp_path, reference):
    three, _ = reference
    rec = Recorder()
    crt, crt_res = finished(tmp_path, "crt", "crt", CFG, reuse=[three.dir.path], callbacks=[rec])
    assert {s for s, *_ in rec.steps} == {"classifier"}  # rough was copied from the three-stage run
    fresh, fresh_res = finished(tmp_path, "crt_fresh", "crt", CFG)
    assert metrics_text(crt) == metrics_text(fresh)
    assert crt_res.final == fresh_res.final


def test_existing_run_directory_is_refused_and_left_intact(tmp_path):
    run, _ = finished(tmp_path, "done", "ce", TINY)
    before = {p.name: p.read_bytes() for p in run.dir.path.iterdir() if p.is_file()}
    with pytest.raises(RunError, match="already exists.*--resume"):
        Run.create(load_config("ce", TINY), tmp_path / "done", progress=False)
    after = {p.name: p.read_bytes() for p in run.dir.path.iterdir() if p.is_file()}
    assert before == after


def test_overwrite_replaces_a_run(tmp_path):
    finished(tmp_path, "x", "ce", TINY)
    run = Run.create(load_config("ce", {**TINY, "seed": 5}), tmp_path / "x", overwrite=True, progress=False)
    assert run.dir.config().seed == 5 and not (run.dir.path / "results.json").exists()


def test_checkpoint_from_another_model_is_refused(tmp_path):
    run, _ = finished(tmp_path, "w4", "ce", TINY)
    other = Run.create(load_config("ce", {**TINY, "model.width": 6}), tmp_path / "w6", progress=False)
    with pytest.raises(RunError, match=r"another model or data \(width: checkpoint 4, run 6\)"):
        other.load_model(run.dir.stage_checkpoint(0, "rough"))


def test_checkpoint_from_another_class_count_is_refused(tmp_path):
    run, _ = finished(tmp_path, "ten", "ce", TINY)
    cfg = load_config("ce", {**TINY, "data.train": "folder:/nonexistent"})
    with pytest.raises(DataError, match="not found"):
        prepare_data(cfg)
    other = Run.create(load_config("ce", TINY), tmp_path / "nine", progress=False)
    ckpt = run.dir.load(run.dir.stage_checkpoint(0, "rough"))
    ckpt["meta"]["classes"] = ckpt["meta"]["classes"][:9]
    run.dir.save(tmp_path / "bad.pt", ckpt)
    with pytest.raises(RunError, match="classes"):
        other.load_model(tmp_path / "bad.pt")


@pytest.mark.parametrize("overrides,match", [
    ({"stages.residual.remove": list(range(10))}, "at least two"),
    ({"stages.residual.remove": [0, 1, 2, 3, 4, 5, 6, 7, 8]}, "at least two"),
    ({"stages.residual.remove": [12]}, "class 12 is not in"),
    ({"stages.residual.remove": ["sedna"]}, "Did you mean 'sedan'"),
])
def test_bad_class_removal_is_refused_before_training(tmp_path, overrides, match):
    with pytest.raises(DataError, match=match):
        Run.create(load_config("three_stage", {**TINY, **overrides}), tmp_path / "r", progress=False)


def test_last_stage_may_not_remove_another_class_than_the_first():
    # as many classes removed as in the first stage, but other ones: compared as sets, not counts
    with pytest.raises(ConfigError, match=r"removes classes \['2'\].*final model must cover"):
        load_config("three_stage", {"stages.rough.remove": [1], "stages.classifier.remove": [2]})
    load_config("three_stage", {"stages.rough.remove": [1], "stages.classifier.remove": [1]})  # the same class: fine


def test_last_stage_must_cover_the_classes_of_the_first():
    with pytest.raises(ConfigError, match="final model must cover"):
        load_config("three_stage", {"stages.classifier.remove": [0]})


def test_update_stage_before_it_starts_and_reset(tmp_path):
    run = Run.create(load_config("three_stage", TINY), tmp_path / "u", progress=False)
    run.fit(until="rough")
    run.update_stage("residual", remove=[0, 1])
    assert run.cfg.stage("residual").remove == (0, 1)
    assert "- 1" in (run.dir.path / "config.yaml").read_text()
    run.fit(until="residual")
    with pytest.raises(RunError, match="already started"):
        run.update_stage("residual", remove=[0])
    run.state.reset_to("rough")
    assert run.completed() == 1 and all(r["stage"] == "rough" for r in run.dir.metrics())
    run.update_stage("residual", remove=[0])
    run.fit()
    assert run.completed() == 4


def test_results_score_every_stage_once_on_the_test_set(reference):
    run, res = reference
    assert list(res.stages) == ["rough", "residual", "balanced", "classifier"]
    assert res.stages["residual"].removed == ["sedan"]
    assert res.stages["residual"].per_class.get("sedan") is None
    assert res.final == res.stages["classifier"]
    assert res.final.n == 100
    saved = json.loads((run.dir.path / "results.json").read_text())
    assert saved["final"]["balanced"] == pytest.approx(res.final.balanced)
    lines = (run.dir.path / "predictions.csv").read_text().splitlines()
    assert lines[0] == "id,label,prediction,confidence" and len(lines) == 101
    prov = json.loads((run.dir.path / "provenance.json").read_text())
    assert prov["seed"] == 0 and prov["torch"] == torch.__version__ and prov["device"] == "cpu"
    assert prov["cpu_capability"] == torch.backends.cpu.get_cpu_capability() and prov["cpu_capability"]


def test_model_selection_uses_validation_not_test(tmp_path):
    cfg = load_config("ce", {**TINY, "stages.rough.epochs": 3, "stages.rough.select": "best"})
    run = Run.create(cfg, tmp_path / "sel", progress=False)
    run.fit()
    recs = run.dir.metrics()
    ckpt = run.dir.load(run.dir.stage_checkpoint(0, "rough"))
    best = max(reversed(recs), key=lambda r: r["val_balanced"])  # ties: the later epoch
    assert ckpt["best_epoch"] == best["epoch"]
    assert ckpt["val"]["balanced"] == pytest.approx(best["val_balanced"])


def test_tau_norm_picks_tau_on_validation(tmp_path):
    run, res = finished(tmp_path, "tau", "tau_norm", TINY)
    tau_rec = [r for r in run.dir.metrics() if "tau" in r]
    assert len(tau_rec) == 1 and tau_rec[0]["tau"] in load_config("tau_norm").stage("tau_norm").tau_grid
    ckpt = run.dir.load(run.dir.stage_checkpoint(1, "tau_norm"))
    assert float(ckpt["model"]["head.tau"]) == tau_rec[0]["tau"]
