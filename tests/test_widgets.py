"""Widgets driven headlessly: set values, click buttons, wait for the background run, check state.

No kernel and no browser: setting ``.value`` fires the observers and ``Button.click()`` runs
the handlers, as in a notebook. Training uses tiny settings (a few seconds per stage).
"""
from __future__ import annotations

import threading
import time

import pytest
import yaml

from sartail import Run, prepare_data
from sartail.data import make_synthetic
from sartail.data.longtail import profile_counts
from sartail.errors import DataError, StopRequested
from sartail.run.rundir import LAST
from sartail.train.callbacks import Callback
from sartail.ui import notebook as nb
from sartail.ui import widgets

TINY = {"DATA": "synthetic", "SCALE": 0.002, "TEST_PER_CLASS": 5, "WIDTH": 4, "ROUGH_EPOCHS": 1,
        "RESIDUAL_EPOCHS": 1, "BALANCED_EPOCHS": 1, "CLASSIFIER_EPOCHS": 1, "REMOVE": [0], "BATCH_SIZE": 64}


@pytest.fixture(scope="module")
def splits():
    return prepare_data(nb.make_config("three_stage", TINY), progress=False)


@pytest.fixture
def run(tmp_path, splits):
    return Run.create(nb.make_config("three_stage", TINY), tmp_path / "run", data=splits, progress=False)


@pytest.fixture(scope="module")
def chips():
    return make_synthetic(scale=0.002, test_per_class=5, seed=0, progress=False)[0]


class StopAt(Callback):
    """Asks the panel to stop at a given step (deterministic, unlike a timed click)."""

    def __init__(self, panel_ref, step: int = 2) -> None:
        self.panel_ref, self.step, self.seen = panel_ref, step, 0

    def on_step(self, info) -> None:
        self.seen += 1
        if self.seen == self.step:
            self.panel_ref[0].stop_button.click()


class Boom(Callback):
    def on_step(self, info) -> None:
        raise RuntimeError("boom at a step")


# ------------------------------------------------------------------------------ class-removal picker
def test_picker_lists_classes_with_counts_and_presets_class_0(chips):
    picker = widgets.ClassRemovalPicker(chips)
    counts = chips.class_counts().tolist()
    assert [cb.description for cb in picker.checkboxes.values()][:2] == [f"0 · sedan ({counts[0]:,} chips)",
                                                                         f"1 · SUV ({counts[1]:,} chips)"]
    assert picker.removed == (0,)
    assert [cb.value for cb in picker.checkboxes.values()] == [True] + [False] * 9
    assert picker.summary_text().startswith(f"Residual set: 9 classes, {sum(counts[1:]):,} chips (removed: sedan")
    assert bytes(picker.histogram.value).startswith(b"\x89PNG")
    assert picker.residual.class_ids == tuple(range(1, 10))
    assert picker.stage_changes() == {"remove": [0]}


def test_picker_tick_changes_the_residual_set(chips):
    picker = widgets.ClassRemovalPicker(chips)
    seen = []
    picker.observe_removed(seen.append)
    before = picker.summary.value
    picker.checkboxes[1].value = True
    assert picker.removed == (0, 1) and seen == [(0, 1)]
    assert "Residual set: 8 classes" in picker.summary.value and picker.summary.value != before
    assert len(picker.residual) == sum(chips.class_counts().tolist()[2:])
    picker.checkboxes[0].value = False
    assert picker.removed == (1,)
    picker.set_removed([])
    assert picker.removed == () and "nothing removed" in picker.summary_text()
    assert len(picker.residual) == len(chips)


def test_picker_refuses_leaving_fewer_than_two_classes(chips):
    picker = widgets.ClassRemovalPicker(chips, removed=range(8))  # classes 8 and 9 remain
    assert picker.removed == tuple(range(8))
    picker.checkboxes[8].value = True  # would leave one class
    assert picker.checkboxes[8].value is False  # the tick was undone
    assert picker.removed == tuple(range(8)) and picker.refusals == 1 and picker.refused
    assert "would leave only class 9 (flatbed truck w/ trailer)" in picker.message.value
    assert "at least two classes must remain" in picker.message.value
    assert "Residual set: 2 classes" in picker.summary.value  # the summary is unchanged
    with pytest.raises(DataError, match="would leave no class"):
        picker.set_removed(range(10))  # the empty class set
    assert picker.removed == tuple(range(8)) and picker.refusals == 2
    picker.checkboxes[7].value = False  # an accepted change clears the message
    assert picker.message.value == "" and not picker.refused
    with pytest.raises(DataError, match="no class 42"):
        picker.set_removed([42])


# ------------------------------------------------------------------------------ recipe chooser
def test_recipe_chooser_single_gives_the_stage_of_the_choice():
    chooser = widgets.RecipeChooser(["crt", "lws", "tau_norm"], "crt", labels=nb.METHOD_LABELS)
    assert chooser.value == "crt" and "cRT" in chooser.info.value
    assert chooser.stage()["head"] == "reinit" and chooser.stage()["train"] == "head"
    seen = []
    chooser.observe_value(seen.append)
    chooser.toggle.value = "lws"
    assert chooser.value == "lws" and seen == ["lws"]
    assert chooser.stage()["train"] == "scales" and chooser.stage()["optimizer"]["lr"] == 0.1
    chooser.value = "tau_norm"
    assert chooser.stage()["epochs"] == 0 and chooser.stage()["tau_grid"]
    with pytest.raises(DataError):
        chooser.value = "nope"


def test_recipe_chooser_multiple_refuses_an_empty_choice():
    chooser = widgets.RecipeChooser(nb.COMPARE_RECIPES, ["three_stage", "ce"], multiple=True)
    assert chooser.value == ("three_stage", "ce")
    chooser.checkboxes["lws"].value = True
    assert chooser.value == ("three_stage", "ce", "lws")
    chooser.set_value(["ce"])
    chooser.checkboxes["ce"].value = False  # the last one: refused and undone
    assert chooser.checkboxes["ce"].value is True and chooser.value == ("ce",) and chooser.refusals == 1
    assert "at least one recipe" in chooser.message.value
    with pytest.raises(DataError):
        chooser.set_value([])


# ------------------------------------------------------------------------------ long-tail builder
def test_long_tail_builder_redraws_for_profile_ratio_and_seed():
    pool = make_synthetic(counts=[30] * 10, test_per_class=1, progress=False)[0]
    b = widgets.LongTailBuilder(pool, profile="exp", ratio=10, seed=0)
    assert b.counts == profile_counts([30] * 10, "exp", 10.0)
    assert b.actual_ratio == pytest.approx(30 / 3) and b.redraws == 1
    assert bytes(b.histogram.value).startswith(b"\x89PNG")
    b.ratio.value = 30
    assert b.counts == profile_counts([30] * 10, "exp", 30.0) and b.redraws == 2
    b.profile.value = "step"
    assert b.counts == [30] * 5 + [1] * 5
    ids = b.subset.chip_ids
    b.seed.value = 7  # the same counts, other chips
    assert b.counts == [30] * 5 + [1] * 5 and b.subset.chip_ids != ids and b.redraws == 4
    assert "seed 7" in b.summary.value


# ------------------------------------------------------------------------------ stage panel
def test_panel_run_trains_in_the_background_and_reports(run):
    panel = widgets.StagePanel(run, "rough", epochs=2)
    assert panel.state == "idle" and "Run</b> trains stage rough" in panel.status.value
    t0 = time.perf_counter()
    panel.run_button.click()
    assert time.perf_counter() - t0 < 5  # Run does not block
    assert panel.state in ("running", "done")
    assert panel.run_button.disabled or panel.state == "done"  # no second Run while the first trains
    assert panel.wait(120) == "done", panel.status.value
    assert panel.progress.value == panel.progress.max > 1
    assert [r["epoch"] for r in panel.records] == [1, 2] and panel.steps
    assert bytes(panel.plot.value).startswith(b"\x89PNG")
    assert "Stage rough done" in panel.status.value and panel.outcome == "trained"
    assert not panel.run_button.disabled and panel.stop_button.disabled
    assert run.completed() == 1 and run.cfg.stage("rough").epochs == 2
    # the same settings again: nothing to train
    panel.run_button.click()
    assert panel.state == "done" and panel.outcome == "found" and "already trained" in panel.status.value
    # a new panel on the trained stage shows its curves and state at once
    again = widgets.StagePanel(run, "rough", epochs=2)
    assert again.state == "done" and bytes(again.plot.value).startswith(b"\x89PNG") and len(again.records) == 2


def test_panel_settings_change_retrains_and_drops_later_stages(run):
    nb.ensure_stage(run, "residual", quiet=True)
    panel = widgets.StagePanel(run, "rough", epochs=1)
    assert panel.is_trained()
    panel.lr.value = 0.02
    assert not panel.is_trained() and "Settings changed" in panel.status.value
    assert "discards the later stages" in panel.status.value
    panel.sampler.value = "class_balanced"
    panel.run_button.click()
    assert panel.wait(120) == "done"
    st = run.cfg.stage("rough")
    assert st.optimizer.lr == 0.02 and st.sampler.name == "class_balanced"
    assert run.completed() == 1  # stage 2 must be trained again on the new features


def test_panel_stop_keeps_a_checkpoint_and_run_goes_on(run):
    ref = []
    panel = widgets.StagePanel(run, "rough", epochs=3, callbacks=[StopAt(ref, step=2)])
    ref.append(panel)
    panel.run_button.click()
    assert panel.wait(120) == "stopped", panel.status.value
    assert (run.dir.checkpoints / LAST).exists() and run.completed() == 0
    assert "checkpoint was kept" in panel.status.value and not panel.run_button.disabled
    assert panel.progress.value < panel.progress.max
    panel.callbacks[:] = [StopAt(ref, step=1)]
    with pytest.raises(StopRequested):
        panel.train()  # resumes, is stopped again, and says so (later cells must not run)
    assert panel.state == "stopped"
    panel.callbacks.clear()
    panel.run_button.click()  # same settings: goes on from the checkpoint
    assert panel.wait(120) == "done"
    assert panel.outcome == "resumed" and run.completed() == 1
    assert [r["epoch"] for r in run.dir.metrics() if r.get("stage") == "rough"] == [1, 2, 3]


def test_panel_with_picker_trains_the_residual_stage_and_refuses_empty_sets(run):
    picker = widgets.ClassRemovalPicker(run.data.train)
    panel = widgets.StagePanel(run, "residual", picker=picker, epochs=1, controls=("epochs", "lr"))
    assert "after rough, not trained yet" in panel.status.value
    picker.checkboxes[1].value = True
    assert panel.changes()["remove"] == [0, 1]
    # the notebooks' YAML shows the stage as Run will train it, before Run changes the run's config
    shown = yaml.safe_load(nb.stage_yaml(run, "residual", panel.changes()))["stages"][0]
    assert (shown["epochs"], shown["remove"]) == (1, [0, 1]) and run.cfg.stage("residual").remove != (0, 1)
    with pytest.raises(DataError):
        picker.set_removed(range(10))  # the empty class set is refused ...
    assert panel.changes()["remove"] == [0, 1]  # ... and the panel keeps the last good choice
    panel.run_button.click()  # trains stage 1 first, then stage 2
    assert panel.wait(180) == "done", panel.status.value
    assert run.completed() == 2 and list(run.cfg.stage("residual").remove) == [0, 1]
    assert [r["stage"] for r in panel.records] == ["rough", "residual"]
    picker.checkboxes[2].value = True
    assert "Settings changed" in panel.status.value
    panel.train()
    assert list(run.cfg.stage("residual").remove) == [0, 1, 2] and run.completed() == 2


def test_panel_with_method_chooser_tau_norm_has_no_epochs(run):
    chooser = widgets.RecipeChooser(["crt", "lws", "tau_norm"], "crt")
    panel = widgets.StagePanel(run, "classifier", method=chooser, epochs=1, controls=("epochs", "lr"))
    assert panel.changes()["head"] == "reinit" and panel.changes()["epochs"] == 1
    chooser.value = "lws"
    assert panel.lr.value == 0.1 and panel.changes()["train"] == "scales"
    chooser.value = "tau_norm"
    assert panel.epochs.disabled and panel.changes()["epochs"] == 0
    panel.train()
    assert panel.state == "done" and run.completed() == 4
    assert run.cfg.stage("classifier").tau_grid and run.results["classifier"].tau is not None
    res = nb.stage_results(run)
    assert set(res.stages) == {"rough", "residual", "balanced", "classifier"}


def test_panel_follows_the_chosen_method_and_has_css_hooks(run):
    """03's bugs: the disabled epochs box kept the old value, the title the first method, the plot old curves."""
    chooser = widgets.RecipeChooser(["crt", "lws", "tau_norm"], "crt", labels={"crt": "cRT"}, multiple=True)
    single = widgets.RecipeChooser(["crt", "tau_norm"], "crt", labels={"crt": "cRT", "tau_norm": "tau-norm"})
    assert "sartail-recipe-lws" in chooser.checkboxes["lws"]._dom_classes
    panel = widgets.StagePanel(run, "classifier", method=single, epochs=3)
    assert "cRT: " in panel.title_html.value
    for w, hook in ((panel.epochs, "sartail-stage-epochs"), (panel.run_button, "sartail-run"),
                    (panel.stop_button, "sartail-stop"), (panel.progress, "sartail-stage-progress"),
                    (panel.plot, "sartail-stage-plot")):
        assert hook in w._dom_classes
    panel.plot.value = b"old curves"
    single.value = "tau_norm"
    assert panel.epochs.disabled and panel.epochs.value == 0
    assert "tau-norm: " in panel.title_html.value and "cRT" not in panel.title_html.value
    panel.train()
    assert panel.plot.value != b"old curves"  # a post-hoc stage draws no curves: the old ones are gone
    single.value = "crt"
    assert not panel.epochs.disabled and panel.epochs.value == 3  # the value before tau-norm comes back


def test_panel_failure_is_shown_and_raised(run):
    panel = widgets.StagePanel(run, "rough", epochs=1, callbacks=[Boom()], live=False)
    panel.run_button.click()
    assert panel.wait(120) == "failed"
    assert isinstance(panel.error, RuntimeError) and "boom at a step" in panel.status.value
    with pytest.raises(RuntimeError, match="boom"):
        panel.train()


def test_two_panels_cannot_train_one_run_at_once(run):
    release = threading.Event()

    class Hold(Callback):
        def on_step(self, info):
            release.wait(30)

    first = widgets.StagePanel(run, "rough", epochs=1, callbacks=[Hold()], live=False)
    second = widgets.StagePanel(run, "rough", epochs=1, live=False)
    assert first.start()
    assert not second.start() and "Another panel is training this run" in second.status.value
    release.set()
    assert first.wait(120) == "done"


def test_invalid_settings_are_shown_not_run(run):
    panel = widgets.StagePanel(run, "rough", epochs=1)
    panel.epochs.value = 0
    assert "Invalid settings" in panel.status.value
    assert panel.start() is False and panel.state == "failed"
