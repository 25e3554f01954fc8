"""A stage's panel: controls (epochs, learning rate, sampler), Run and Stop, progress and a live plot.

Training runs in a background thread, so the notebook stays responsive; Stop ends it cleanly
at the next step and keeps a checkpoint, from which Run goes on. What Run will do (train,
go on, train again, nothing) is decided by the run (:meth:`sartail.run.state.StageState.stage_status`);
the panel shows it and forwards the clicks.
"""
from __future__ import annotations

import html
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from typing import Any

import ipywidgets as W
import traitlets as T

from ...config import stage_settings
from ...errors import SartailError, StopRequested
from ...report import figures as plots
from ...train.callbacks import Callback, StopFlag
from ...train.events import EpochRecord, StageStart, StepEnd
from .chooser import RecipeChooser
from .common import _note, _run_lock, _show
from .picker import ClassRemovalPicker

SAMPLER_CHOICES = (("instance-balanced", "instance"), ("class-balanced", "class_balanced"),
                   ("square-root", "sqrt"), ("progressive", "progressive"))
class _PanelCallback(Callback):
    def __init__(self, panel: StagePanel) -> None:
        self.panel = panel

    def on_stage_start(self, start: StageStart) -> None:
        self.panel._stage_started(start)

    def on_step(self, step: StepEnd) -> None:
        self.panel._step(step)

    def on_epoch_end(self, record: EpochRecord) -> None:
        self.panel._epoch(record)


class StagePanel(W.VBox):
    """Controls, Run / Stop, progress and a live plot for one stage of a run.

    Args:
        run: a :class:`sartail.run.run.Run` (e.g. from :func:`sartail.ui.notebook.open_run`).
        stage: the stage this panel trains (earlier stages not done yet are trained first).
        epochs, lr, sampler: initial control values (default: the run's settings).
        picker: a :class:`ClassRemovalPicker` whose classes the stage removes.
        method: a :class:`RecipeChooser` whose recipe's last stage replaces this stage's
            settings (classifier re-optimisation: cRT, LWS, tau-norm).
        controls: which controls to show (``epochs``, ``lr``, ``sampler``).
        live: draw the live plot (off: progress and status only).
        callbacks: more :class:`~sartail.train.callbacks.Callback` hooks for the training loop.

    Run applies the settings: a stage already trained with them is not trained again; one
    trained with other settings is trained anew (and the later stages discarded). Training
    runs in a background thread. State (traitlets): :attr:`state` (``idle``, ``running``, ``stopping``,
    ``stopped``, ``done``, ``failed``), :attr:`records` (epoch records of this panel's
    training), :attr:`error`, :attr:`progress` (``value`` / ``max``).
    """

    state = T.Unicode("idle", help="idle, running, stopping, stopped, done or failed")
    finished = T.Int(0, help="how many trainings of this panel have ended (observe it to hear of each end)")

    def __init__(self, run: Any, stage: str, *, epochs: int | None = None, lr: float | None = None,
                 sampler: str | None = None, picker: ClassRemovalPicker | None = None,
                 method: RecipeChooser | None = None, controls: Sequence[str] = ("epochs", "lr", "sampler"),
                 live: bool = True, title: str | None = None, callbacks: Sequence[Callback] = ()) -> None:
        self.run = run
        self.callbacks = list(callbacks)
        st = run.cfg.stage(stage)
        self.stage = st.name
        self.index = run.cfg.stage_index(self.stage)
        self.picker = picker
        self.method = method
        self.live = live
        base = method.stage() if method is not None else stage_settings(run.cfg, self.stage)
        self.epochs = W.BoundedIntText(value=st.epochs if epochs is None else int(epochs), min=0, max=100_000,
                                       description="epochs", layout=W.Layout(width="170px"))
        self.lr = W.BoundedFloatText(value=float(base["optimizer"]["lr"] if lr is None else lr), min=1e-7, max=10.0,
                                     step=0.001, description="learning rate", style={"description_width": "initial"},
                                     layout=W.Layout(width="200px"))
        names = [v for _, v in SAMPLER_CHOICES]
        current = base["sampler"]["name"] if sampler is None else sampler
        options = list(SAMPLER_CHOICES) + ([] if current in names else [(current, current)])
        self.sampler = W.Dropdown(options=options, value=current, description="sampler", layout=W.Layout(width="260px"))
        self.run_button = W.Button(description="Run", button_style="primary", icon="play", tooltip="train this stage")
        self.stop_button = W.Button(description="Stop", button_style="warning", icon="stop", disabled=True,
                                    tooltip="stop at the next step; a checkpoint is kept")
        self.progress = W.IntProgress(value=0, min=0, max=1, layout=W.Layout(width="auto", flex="1 1 auto"))
        self.status = W.HTML()
        self.status.add_class("sartail-stage-status")
        for widget, hook in ((self.epochs, "sartail-stage-epochs"), (self.lr, "sartail-stage-lr"),
                             (self.sampler, "sartail-stage-sampler"), (self.run_button, "sartail-run"),
                             (self.stop_button, "sartail-stop"), (self.progress, "sartail-stage-progress")):
            widget.add_class(hook)  # CSS hooks (the browser test finds the controls by them)
        self.plot = W.Image(format="png", layout=W.Layout(max_width="100%", height="auto"))
        self.plot.add_class("sartail-stage-plot")
        self._epochs_before = int(self.epochs.value)  # shown again when a method with epochs is chosen back
        self.state = "idle"
        self.error: BaseException | None = None
        self.records: list[dict[str, Any]] = []
        self.steps: list[tuple[float, float, str]] = []
        self.outcome = ""
        self._flag = StopFlag()
        self._thread: threading.Thread | None = None
        self._done = threading.Event()
        self._done.set()
        self._planned: dict[str, int] = {}
        self._last_plot = 0.0
        self._last_status = 0.0
        self._stage_name = self.stage
        self._steps_per_epoch = 1
        self.run_button.on_click(lambda _: self.start())
        self.stop_button.on_click(lambda _: self.stop())
        for w in (self.epochs, self.lr, self.sampler):
            w.observe(lambda _: self._settings_changed(), names="value")
        if picker is not None:
            picker.observe_removed(lambda _: self._settings_changed())
        if method is not None:
            method.observe_value(lambda _: self._method_changed())
        shown = [w for key, w in (("epochs", self.epochs), ("lr", self.lr), ("sampler", self.sampler)) if key in controls]
        self._fixed_title = title
        title_html = self.title_html = W.HTML(f"<b>{html.escape(title or self._title())}</b>")
        row = W.HBox([*shown, self.run_button, self.stop_button], layout=W.Layout(flex_flow="row wrap", grid_gap="6px"))
        super().__init__([title_html, row, W.HBox([self.progress]), self.status, self.plot])
        self.add_class("sartail-stage-panel")
        if method is not None:
            self._method_changed(initial=True)
        self._show_existing()

    # ---------------------------------------------------------------- settings
    def _title(self) -> str:
        desc = self.run.cfg.stage(self.stage).description
        if self.method is not None:  # the chosen method, not the description the run's config had
            choice = self.method.value if isinstance(self.method.value, str) else self.method.value[0]
            desc = f"{self.method.labels[choice]}: {self.method.descriptions[choice]}"
        return f"Stage {self.index + 1} of {len(self.run.cfg.stages)}: {self.stage}" + (f" — {desc}" if desc else "")

    def changes(self) -> dict[str, Any]:
        """The stage settings that Run applies (dotted keys where they are single values)."""
        out: dict[str, Any] = {}
        if self.method is not None:
            out.update(self.method.stage())
        if self.picker is not None:
            out.update(self.picker.stage_changes())
        if not (self.method is not None and self.method.stage()["epochs"] == 0):
            out["epochs"] = int(self.epochs.value)
        out["optimizer.lr"] = float(self.lr.value)
        out["sampler.name"] = self.sampler.value
        if "optimizer" in out:  # merge the control values into the method's stage
            opt = dict(out.pop("optimizer"))
            opt["lr"] = out.pop("optimizer.lr")
            out["optimizer"] = opt
        if "sampler" in out:
            smp = dict(out.pop("sampler"))
            smp["name"] = out.pop("sampler.name")
            out["sampler"] = smp
        return out

    def run_status(self) -> str:
        """What Run would do with the current settings (see :meth:`~sartail.run.state.StageState.stage_status`);
        ``"invalid"`` when the settings are not a valid stage."""
        try:
            return self.run.state.stage_status(self.stage, self.changes())
        except SartailError:
            return "invalid"

    def is_trained(self) -> bool:
        """Whether the stage is done in the run with the current settings."""
        return self.run_status() == "trained"

    def _method_changed(self, initial: bool = False) -> None:
        assert self.method is not None
        st = self.method.stage()
        fixed = st["epochs"] == 0
        if fixed and not self.epochs.disabled:
            self._epochs_before = int(self.epochs.value)
        if fixed:
            self.epochs.value = 0  # a post-hoc method trains no epochs: the box says so
        elif self.epochs.disabled:
            self.epochs.value = self._epochs_before
        self.epochs.disabled = fixed
        if self._fixed_title is None:
            self.title_html.value = f"<b>{html.escape(self._title())}</b>"
        if not initial:
            self.lr.value = float(st["optimizer"]["lr"])
            if st["sampler"]["name"] in [v for _, v in self.sampler.options]:
                self.sampler.value = st["sampler"]["name"]
        self._settings_changed()

    def _settings_changed(self) -> None:
        if self.state in ("running", "stopping"):
            return
        try:
            status = self.run.state.stage_status(self.stage, self.changes())
        except SartailError as exc:
            self._set_status(_note(f"<b>Invalid settings:</b> {html.escape(str(exc))}", "error"))
            return
        later = " (and discards the later stages)" if self.index + 1 < len(self.run.cfg.stages) else ""
        notes = {
            "trained": (f"Stage {self.stage} is trained with these settings.", "ok"),
            "stopped": (f"Stage {self.stage} was stopped part way: <b>Run</b> goes on from its checkpoint.", "warn"),
            "stopped-changed": (f"Stage {self.stage} was stopped part way; the settings changed, so "
                                "<b>Run</b> starts it again.", "warn"),
            "changed": (f"Settings changed: <b>Run</b> trains stage {self.stage} again{later}.", "warn"),
            "todo": (f"<b>Run</b> trains stage {self.stage}" + self._before() + ".", "info"),
        }
        self._set_status(_note(*notes[status]))

    def _before(self) -> str:
        todo = [s.name for s in self.run.cfg.stages[self.run.completed(): self.index]]
        return f" (after {', '.join(todo)}, not trained yet)" if todo else ""

    def _show_existing(self) -> None:
        """Show the curves of the stage if the run has already trained it."""
        recs = [r for r in self.run.dir.metrics() if r.get("stage") == self.stage and "train_loss" in r]
        if recs and self.live:
            self.records = recs
            self._planned = {self.stage: self.run.cfg.stage(self.stage).epochs}
            self._draw(force=True)
        if self.is_trained():
            self.progress.max = self.progress.value = 1
            self.state = "done"
            self.outcome = "found"
        self._settings_changed()

    # ---------------------------------------------------------------- actions
    def start(self) -> bool:
        """Apply the settings and train in the background (as the Run button); False if nothing started."""
        if self.state in ("running", "stopping"):
            return False
        lock = _run_lock(self.run)
        if not lock.acquire(blocking=False):
            self._set_status(_note("Another panel is training this run; wait for it to finish.", "warn"))
            return False
        try:
            what = self.run.state.apply_stage_changes(self.stage, self.changes())
        except SartailError as exc:
            lock.release()
            self.state = "failed"
            self.error = exc
            self._set_status(_note(f"<b>Cannot run:</b> {html.escape(str(exc))}", "error"))
            return False
        if what == "trained":
            lock.release()
            self.state, self.outcome = "done", "found"
            self.progress.max = self.progress.value = 1
            self._set_status(_note(f"Stage {self.stage} is already trained with these settings "
                                   f"(checkpoint in {html.escape(str(self.run.dir.path))}).", "ok"))
            self._done.set()
            self._notify()
            return False
        self.outcome = "resumed" if what == "resume" and self.run.completed() <= self.index and self.run.state.in_progress() \
            else "trained"
        self.state = "running"
        self.error = None
        self._flag.clear()
        self.records, self.steps, self._planned = [], [], {}
        self.plot.value = b""  # no curves of an earlier run of the panel (a post-hoc stage draws none)
        self.progress.value = 0
        self.run_button.disabled = True
        self.stop_button.disabled = False
        self._done.clear()
        self._set_status(_note(f"Starting stage {self.stage}{self._before()} …"))
        self._thread = threading.Thread(target=self._work, args=(lock,), name=f"sartail-{self.stage}", daemon=True)
        self._thread.start()
        return True

    def stop(self) -> None:
        """Ask the training to stop at the next step (as the Stop button); a checkpoint is kept."""
        if self.state == "running":
            self.state = "stopping"
            self._flag.set()
            self.stop_button.disabled = True
            self._set_status(_note("Stopping at the next step …", "warn"))

    def wait(self, timeout: float | None = None) -> str:
        """Wait until the training ends (or ``timeout`` seconds); returns :attr:`state`."""
        self._done.wait(timeout)
        return self.state

    def train(self) -> StagePanel:
        """Train with the current settings and wait (for 'Run all'); nothing if already trained.

        Interrupting the kernel (the stop square) stops the training cleanly, keeping a
        checkpoint. Raises if the training failed or was stopped, so later cells do not run
        on a stage that is not there.
        """
        if self.state not in ("running", "stopping"):
            self.start()
        try:
            while not self._done.wait(0.2):
                pass
        except KeyboardInterrupt:
            self.stop()
            self._done.wait()
            raise
        if self.state == "failed" and self.error is not None:
            raise self.error
        if self.state == "stopped":
            raise StopRequested(f"stage {self.stage} was stopped; Run (or panel.train()) goes on from its checkpoint")
        return self

    def on_done(self, callback: Callable[[StagePanel], None]) -> None:
        """Call ``callback(panel)`` when a training ends (in the training thread; an error in it is printed)."""
        def call(_: Any) -> None:
            try:
                callback(self)
            except Exception:  # noqa: BLE001 - a training thread must end cleanly
                traceback.print_exc()

        self.observe(call, names="finished")

    # ---------------------------------------------------------------- the training thread
    def _work(self, lock: threading.Lock) -> None:
        t0 = time.perf_counter()
        try:
            self.run.fit(until=self.stage, callbacks=[_PanelCallback(self), self._flag, *self.callbacks])
            self.state = "done"
            self.progress.value = self.progress.max
            val = self.run.results.get(self.stage)
            score = ""
            if val is not None and val.val.get("balanced") is not None:
                score = f"; validation balanced accuracy {100 * val.val['balanced']:.1f}%"
            self._set_status(_note(f"Stage {self.stage} done in {time.perf_counter() - t0:.0f} s{score}.", "ok"))
        except StopRequested:
            self.state = "stopped"
            self._set_status(_note(f"Stopped after {time.perf_counter() - t0:.0f} s; a checkpoint was kept: "
                                   "<b>Run</b> goes on from it.", "warn"))
        except BaseException as exc:  # noqa: BLE001 - shown to the user, kept in .error
            self.state = "failed"
            self.error = exc
            detail = html.escape("".join(traceback.format_exception_only(type(exc), exc)).strip())
            self._set_status(_note(f"<b>Training failed:</b> {detail}", "error"))
        finally:
            lock.release()
            self.run_button.disabled = False
            self.stop_button.disabled = True
            try:
                self._draw(force=True)
            except Exception:  # noqa: BLE001 - a plot must never hide the outcome of the training
                traceback.print_exc()
            self._done.set()
            self._notify()

    def _notify(self) -> None:
        self.finished += 1

    def _stage_started(self, start: StageStart) -> None:
        name = start.stage.name
        self._stage_name = name
        spe = max(start.steps_per_epoch, 1)
        self._steps_per_epoch = spe
        self._planned[name] = start.epochs
        self.progress.max = max(start.epochs * spe, 1)
        self.progress.value = min(start.start_epoch * spe, self.progress.max)
        self._set_status(_note(f"Training stage {html.escape(name)}: {start.epochs} epochs of {spe} steps on "
                               f"{start.chips:,} chips of {len(start.classes)} classes …"))

    def _step(self, s: StepEnd) -> None:
        done = (s.epoch - 1) * s.steps + s.step
        self.progress.value = min(done, self.progress.max)
        self.steps.append((s.epoch - 1 + s.step / max(s.steps, 1), float(s.loss), s.stage))
        now = time.perf_counter()
        if now - self._last_status > 0.3:
            self._last_status = now
            self._set_status(_note(f"Stage {html.escape(s.stage)}: epoch {s.epoch}/{s.epochs}, "
                                   f"step {s.step}/{s.steps}, loss {s.loss:.3f}"))
        self._draw()

    def _epoch(self, record: EpochRecord) -> None:
        self.records.append(record.as_dict())
        self._draw(force=True)

    def _draw(self, force: bool = False) -> None:
        if not self.live:
            return
        now = time.perf_counter()
        if not force and now - self._last_plot < 1.5:
            return
        self._last_plot = now
        if not self.records and not self.steps:
            return
        syn = bool(self.run.data.train.synthetic)
        fig = plots.training_curves(self.records, steps=self.steps, epochs=self._planned, synthetic=syn,
                                    metrics=("train_loss", "val_balanced"))
        _show(self.plot, fig)

    def _set_status(self, value: str) -> None:
        self.status.value = value


