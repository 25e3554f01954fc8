"""Widgets (ipywidgets 8) that steer the stages from a notebook.

- :class:`ClassRemovalPicker`: tick the classes stage 2 removes (class 0 preset); it shows the
  residual set and refuses a choice that leaves fewer than two classes, saying why.
- :class:`StagePanel`: a stage's controls (epochs, learning rate, sampler), Run and Stop
  buttons, a progress bar and a live plot of the loss and validation curves. Training runs
  in a background thread, so the notebook stays responsive; Stop ends it cleanly at the next
  step and keeps a checkpoint, from which Run goes on.
- :class:`RecipeChooser`: pick one recipe (e.g. the classifier re-optimisation: cRT, LWS or
  tau-norm) or several (the recipes to compare).
- :class:`LongTailBuilder`: a long-tail profile, ratio and seed, and the histogram they give.

Every widget keeps its state in plain Python attributes (``removed``, ``state``, ``value``,
``counts`` ...) and its controls are ordinary ipywidgets, so tests drive them headlessly:
set ``.value`` on a control, call ``.click()`` on a button, then :meth:`StagePanel.wait`.
Figures are rendered to PNG (``ipywidgets.Image``) rather than into ``Output`` widgets, which
works from a background thread and can be checked without a browser.
"""
from __future__ import annotations

import html
import threading
import time
import traceback
import weakref
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import ipywidgets as W

from . import plots
from .config import load_config
from .errors import DataError, SartailError, StopRequested
from .notebook import apply_stage_changes, stage_settings
from .stages import Callback, StopFlag

SAMPLER_CHOICES = (("instance-balanced", "instance"), ("class-balanced", "class_balanced"),
                   ("square-root", "sqrt"), ("progressive", "progressive"))
PNG_DPI = 100  # screen pixels per inch of the figures in widgets
_RUN_LOCKS: weakref.WeakKeyDictionary[Any, threading.Lock] = weakref.WeakKeyDictionary()
_RUN_LOCKS_GUARD = threading.Lock()


def _run_lock(run: Any) -> threading.Lock:
    with _RUN_LOCKS_GUARD:
        lock = _RUN_LOCKS.get(run)
        if lock is None:
            lock = _RUN_LOCKS[run] = threading.Lock()
        return lock


def _show(image: W.Image, fig: Any) -> None:
    """Render ``fig`` into ``image`` at twice the screen resolution, shown at its natural size (sharp on HiDPI)."""
    png = plots.figure_png(fig, dpi=2 * PNG_DPI)
    width = int.from_bytes(png[16:20], "big") // 2  # from the PNG header
    image.value = png
    image.layout.width = f"{width}px"


class _Listeners:
    """The callbacks a widget calls after a change, in the order they were added."""

    def __init__(self) -> None:
        self._fns: list[Callable[[Any], None]] = []

    def add(self, fn: Callable[[Any], None]) -> None:
        self._fns.append(fn)

    def notify(self, value: Any, *, keep_going: bool = False) -> None:
        """Call every callback with ``value``; ``keep_going`` prints a callback's error and goes on."""
        for fn in list(self._fns):
            try:
                fn(value)
            except Exception:  # noqa: BLE001 - only with keep_going (a training thread must end cleanly)
                if not keep_going:
                    raise
                traceback.print_exc()


def _note(text: str, kind: str = "info") -> str:
    colour = {"info": "#333", "ok": "#1a7f37", "warn": "#9a6700", "error": "#b42318"}[kind]
    return f"<div class='sartail-{kind}' style='color:{colour};line-height:1.35'>{text}</div>"


# ------------------------------------------------------------------------------ class removal
class ClassRemovalPicker(W.VBox):
    """Tick the classes that stage 2 (the residual stage) removes.

    Args:
        chips: the training chips (e.g. ``run.data.train``); their classes and counts are listed.
        removed: the classes ticked at first (original class ids; class 0 by default).
        histogram: also draw the residual set's class histogram under the summary.

    State: :attr:`removed` (the ticked class ids), :attr:`residual` (the chips left),
    :attr:`refusals` (how many ticks were refused) and :attr:`message` (why). A tick that
    would leave fewer than two classes is undone and the reason shown; :meth:`set_removed`
    raises :class:`~sartail.errors.DataError` for such a choice.
    """

    def __init__(self, chips: Any, removed: Sequence[int] = (0,), *, histogram: bool = True) -> None:
        self.chips = chips
        self.counts = chips.class_counts().tolist()
        self.refusals = 0
        self._listeners = _Listeners()
        self._syncing = False
        self.checkboxes: dict[int, W.Checkbox] = {}
        for cid, name, n in zip(chips.class_ids, chips.class_names, self.counts):
            cb = W.Checkbox(value=False, description=f"{cid} · {name} ({n:,} chips)", indent=False,
                            layout=W.Layout(width="auto"), style={"description_width": "initial"})
            cb.add_class("sartail-class-checkbox")
            cb.observe(self._on_tick, names="value")
            self.checkboxes[cid] = cb
        grid = W.GridBox(list(self.checkboxes.values()),
                         layout=W.Layout(grid_template_columns="repeat(2, max-content)", grid_gap="2px 28px"))
        self.message = W.HTML()
        self.summary = W.HTML()
        self.summary.add_class("sartail-residual-summary")
        self.histogram = W.Image(format="png", layout=W.Layout(max_width="100%", height="auto")) if histogram else None
        head = W.HTML("<b>Classes to remove in stage 2</b> (tick to remove; at least two classes must stay)")
        parts = [head, grid, self.message, self.summary] + ([self.histogram] if self.histogram is not None else [])
        super().__init__(parts)
        self.add_class("sartail-picker")
        self._removed: tuple[int, ...] = ()
        self.set_removed(removed)

    # ---------------------------------------------------------------- state
    @property
    def removed(self) -> tuple[int, ...]:
        """The ticked class ids, in order."""
        return self._removed

    @property
    def residual(self) -> Any:
        """The chips that stage 2 trains on (a view, no copy)."""
        return self.chips.remove_classes(list(self._removed)) if self._removed else self.chips

    @property
    def refused(self) -> bool:
        """Whether the last change was refused (and undone)."""
        return "sartail-error" in self.message.value

    def stage_changes(self) -> dict[str, Any]:
        """The stage settings this picker decides: ``{"remove": [...]}``."""
        return {"remove": list(self._removed)}

    def observe_removed(self, callback: Callable[[tuple[int, ...]], None]) -> None:
        """Call ``callback(removed)`` after every accepted change."""
        self._listeners.add(callback)

    def set_removed(self, classes: Sequence[int]) -> tuple[int, ...]:
        """Tick exactly ``classes`` (ids); raises :class:`DataError` if fewer than two classes would remain."""
        wanted = tuple(sorted({int(c) for c in classes}))
        unknown = [c for c in wanted if c not in self.checkboxes]
        if unknown:
            raise DataError(f"no class {unknown[0]} here; classes are {list(self.checkboxes)}")
        reason = self._check(wanted)
        if reason:
            self._refuse(reason)
            raise DataError(reason)
        self._sync(wanted)
        self._accept(wanted)
        return wanted

    # ---------------------------------------------------------------- internals
    def _check(self, wanted: tuple[int, ...]) -> str | None:
        left = [c for c in self.checkboxes if c not in wanted]
        if len(left) >= 2:
            return None
        names = dict(zip(self.chips.class_ids, self.chips.class_names))
        what = "no class" if not left else f"only class {left[0]} ({names[left[0]]})"
        return (f"Removing {len(wanted)} of {len(self.checkboxes)} classes would leave {what}: stage 2 learns to tell "
                f"classes apart, so at least two classes must remain.")

    def _sync(self, wanted: tuple[int, ...]) -> None:
        self._syncing = True
        try:
            for cid, cb in self.checkboxes.items():
                cb.value = cid in wanted
        finally:
            self._syncing = False

    def _on_tick(self, change: dict[str, Any]) -> None:
        if self._syncing:
            return
        wanted = tuple(sorted(c for c, cb in self.checkboxes.items() if cb.value))
        reason = self._check(wanted)
        if reason:
            self._syncing = True
            try:
                change["owner"].value = change["old"]  # undo the tick
            finally:
                self._syncing = False
            self._refuse(reason + " The tick was undone.")
            return
        self._accept(wanted)

    def _refuse(self, reason: str) -> None:
        self.refusals += 1
        self.message.value = _note("<b>Refused.</b> " + html.escape(reason), "error")

    def _accept(self, wanted: tuple[int, ...]) -> None:
        self._removed = wanted
        self.message.value = ""
        self._render()
        self._listeners.notify(wanted)

    def summary_text(self) -> str:
        """The residual-set summary as plain text."""
        res = self.residual
        counts = res.class_counts().tolist()
        total = sum(self.counts)
        gone = [(n, c) for cid, n, c in zip(self.chips.class_ids, self.chips.class_names, self.counts)
                if cid in self._removed]
        kept = [c for c in counts if c > 0]
        ratio = max(kept) / min(kept) if kept else float("nan")
        full = [c for c in self.counts if c > 0]
        full_ratio = max(full) / min(full) if full else float("nan")
        text = f"Residual set: {len(counts)} classes, {sum(counts):,} chips"
        if gone:
            held = sum(c for _, c in gone)
            text += (f" (removed: {', '.join(n for n, _ in gone)}, {held:,} chips, "
                     f"{100 * held / max(total, 1):.0f}% of the training set)")
        else:
            text += " (nothing removed: stage 2 would simply go on with stage 1's data)"
        return text + f"; imbalance ratio {ratio:,.0f} (all classes: {full_ratio:,.0f})."

    def _render(self) -> None:
        self.summary.value = f"<div class='sartail-summary'><b>{html.escape(self.summary_text())}</b></div>"
        if self.histogram is not None:
            ids = list(self.chips.class_ids)
            fig = plots.class_histogram(self.counts, self.chips.class_names, synthetic=self.chips.synthetic,
                                        removed=[ids.index(c) for c in self._removed],
                                        title=self.summary_text().split(";")[0].split(" (")[0])
            _show(self.histogram, fig)


# ------------------------------------------------------------------------------ recipe chooser
class RecipeChooser(W.VBox):
    """Choose one recipe (``multiple=False``) or several.

    Args:
        options: recipe names (see ``sartail recipes``).
        value: the initial choice (a name, or names when ``multiple``).
        labels: short names to show (e.g. ``{"crt": "cRT"}``).
        multiple: tick boxes (several recipes) instead of toggle buttons (one).

    State: :attr:`value` (a name, or a tuple of names). An empty choice is refused, saying
    why. :meth:`stage` gives the last stage of the chosen recipe, to put in place of a stage
    of another run (the classifier re-optimisation of the three-stage recipe).
    """

    def __init__(self, options: Sequence[str], value: str | Sequence[str] | None = None, *,
                 labels: Mapping[str, str] | None = None, multiple: bool = False, title: str = "") -> None:
        from .config import recipe_dict

        self.options = list(options)
        self.labels = {o: (labels or {}).get(o, o) for o in self.options}
        self.descriptions = {o: recipe_dict(o).get("description", "") for o in self.options}
        self.multiple = multiple
        self.refusals = 0
        self._listeners = _Listeners()
        self._syncing = False
        self.message = W.HTML()
        self.info = W.HTML()
        head = [W.HTML(f"<b>{html.escape(title)}</b>")] if title else []
        if multiple:
            chosen = set(self.options if value is None else [value] if isinstance(value, str) else value)
            self.checkboxes = {o: W.Checkbox(value=o in chosen, indent=False, layout=W.Layout(width="auto"),
                                             description=f"{self.labels[o]}: {self.descriptions[o]}",
                                             style={"description_width": "initial"}) for o in self.options}
            for cb in self.checkboxes.values():
                cb.observe(self._on_tick, names="value")
            self.toggle = None
            body: list[W.Widget] = list(self.checkboxes.values())
            self._value: Any = tuple(o for o in self.options if o in chosen)
            if not self._value:
                raise DataError("choose at least one recipe")
        else:
            first = self.options[0] if value is None else value
            if first not in self.options:
                raise DataError(f"{first!r} is not one of {self.options}")
            self.toggle = W.ToggleButtons(options=[(self.labels[o], o) for o in self.options], value=first,
                                          tooltips=[self.descriptions[o] for o in self.options],
                                          style={"button_width": "auto"})
            self.toggle.observe(self._on_toggle, names="value")
            self.checkboxes = {}
            body = [self.toggle]
            self._value = first
        super().__init__([*head, *body, self.message, self.info])
        self.add_class("sartail-recipe-chooser")
        self._render()

    @property
    def value(self) -> Any:
        return self._value

    @value.setter
    def value(self, value: Any) -> None:
        self.set_value(value)

    def set_value(self, value: Any) -> None:
        """Choose ``value``; raises :class:`DataError` for an unknown recipe or an empty choice."""
        if self.multiple:
            names = [value] if isinstance(value, str) else list(value)
            bad = [n for n in names if n not in self.options]
            if bad:
                raise DataError(f"{bad[0]!r} is not one of {self.options}")
            if not names:
                self._refuse()
                raise DataError("choose at least one recipe")
            self._syncing = True
            try:
                for o, cb in self.checkboxes.items():
                    cb.value = o in names
            finally:
                self._syncing = False
            self._accept(tuple(o for o in self.options if o in names))
        else:
            if value not in self.options:
                raise DataError(f"{value!r} is not one of {self.options}")
            assert self.toggle is not None
            self.toggle.value = value  # fires _on_toggle

    def observe_value(self, callback: Callable[[Any], None]) -> None:
        """Call ``callback(value)`` after every accepted change."""
        self._listeners.add(callback)

    def stage(self, name: str | None = None) -> dict[str, Any]:
        """The last stage of the chosen recipe as settings (without name and description)."""
        recipe = self._value if not self.multiple else self._value[0]
        st = load_config(recipe).to_dict()["stages"][-1]
        for k in ("name", "description"):
            st.pop(k, None)
        return st

    def stage_changes(self) -> dict[str, Any]:
        return self.stage()

    def _refuse(self) -> None:
        self.refusals += 1
        self.message.value = _note("<b>Refused.</b> Choose at least one recipe: there would be nothing to compare. "
                                   "The untick was undone.", "error")

    def _on_tick(self, change: dict[str, Any]) -> None:
        if self._syncing:
            return
        names = tuple(o for o in self.options if self.checkboxes[o].value)
        if not names:
            self._syncing = True
            try:
                change["owner"].value = change["old"]
            finally:
                self._syncing = False
            self._refuse()
            return
        self._accept(names)

    def _on_toggle(self, change: dict[str, Any]) -> None:
        self._accept(change["new"])

    def _accept(self, value: Any) -> None:
        self._value = value
        self.message.value = ""
        self._render()
        self._listeners.notify(value)

    def _render(self) -> None:
        if self.multiple:
            self.info.value = _note(f"{len(self._value)} recipe(s): " + ", ".join(self.labels[v] for v in self._value))
        else:
            self.info.value = _note(f"<b>{html.escape(self.labels[self._value])}</b>: "
                                    f"{html.escape(self.descriptions[self._value])}")


# ------------------------------------------------------------------------------ stage panel
class _PanelCallback(Callback):
    def __init__(self, panel: StagePanel) -> None:
        self.panel = panel

    def on_stage_start(self, stage: Any, info: dict[str, Any]) -> None:
        self.panel._stage_started(stage, info)

    def on_step(self, info: dict[str, Any]) -> None:
        self.panel._step(info)

    def on_epoch_end(self, record: dict[str, Any]) -> None:
        self.panel._epoch(record)


class StagePanel(W.VBox):
    """Controls, Run / Stop, progress and a live plot for one stage of a run.

    Args:
        run: a :class:`sartail.pipeline.Run` (e.g. from :func:`sartail.notebook.open_run`).
        stage: the stage this panel trains (earlier stages not done yet are trained first).
        epochs, lr, sampler: initial control values (default: the run's settings).
        picker: a :class:`ClassRemovalPicker` whose classes the stage removes.
        method: a :class:`RecipeChooser` whose recipe's last stage replaces this stage's
            settings (classifier re-optimisation: cRT, LWS, tau-norm).
        controls: which controls to show (``epochs``, ``lr``, ``sampler``).
        live: draw the live plot (off: progress and status only).
        callbacks: more :class:`~sartail.stages.Callback` hooks for the training loop.

    Run applies the settings: a stage already trained with them is not trained again; one
    trained with other settings is trained anew (and the later stages discarded). Training
    runs in a background thread. State: :attr:`state` (``idle``, ``running``, ``stopping``,
    ``stopped``, ``done``, ``failed``), :attr:`records` (epoch records of this panel's
    training), :attr:`error`, :attr:`progress` (``value`` / ``max``).
    """

    def __init__(self, run: Any, stage: str, *, epochs: int | None = None, lr: float | None = None,
                 sampler: str | None = None, picker: ClassRemovalPicker | None = None,
                 method: RecipeChooser | None = None, controls: Sequence[str] = ("epochs", "lr", "sampler"),
                 live: bool = True, title: str | None = None, callbacks: Sequence[Callback] = ()) -> None:
        self.run = run
        self.callbacks = list(callbacks)
        st = run.cfg.stage(stage)
        self.stage = st.name
        self.index = [s.name for s in run.cfg.stages].index(self.stage)
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
        self.plot = W.Image(format="png", layout=W.Layout(max_width="100%", height="auto"))
        self.state = "idle"
        self.error: BaseException | None = None
        self.records: list[dict[str, Any]] = []
        self.steps: list[tuple[float, float, str]] = []
        self.outcome = ""
        self._flag = StopFlag()
        self._thread: threading.Thread | None = None
        self._done = threading.Event()
        self._done.set()
        self._listeners = _Listeners()
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
        title_html = W.HTML(f"<b>{html.escape(title or self._title())}</b>")
        row = W.HBox([*shown, self.run_button, self.stop_button], layout=W.Layout(flex_flow="row wrap", grid_gap="6px"))
        super().__init__([title_html, row, W.HBox([self.progress]), self.status, self.plot])
        self.add_class("sartail-stage-panel")
        if method is not None:
            self._method_changed(initial=True)
        self._show_existing()

    # ---------------------------------------------------------------- settings
    def _title(self) -> str:
        desc = self.run.cfg.stage(self.stage).description
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

    def _new_config(self) -> Any:
        from .notebook import changed_config

        return changed_config(self.run, self.stage, self.changes())

    def is_trained(self) -> bool:
        """Whether the stage is done in the run with the current settings."""
        try:
            new = self._new_config()
        except SartailError:
            return False
        return self.run.completed() > self.index and stage_settings(new, self.stage) == stage_settings(self.run.cfg,
                                                                                                       self.stage)

    def _method_changed(self, initial: bool = False) -> None:
        assert self.method is not None
        st = self.method.stage()
        fixed = st["epochs"] == 0
        self.epochs.disabled = fixed
        if not initial:
            self.lr.value = float(st["optimizer"]["lr"])
            if st["sampler"]["name"] in [v for _, v in self.sampler.options]:
                self.sampler.value = st["sampler"]["name"]
        self._settings_changed()

    def _settings_changed(self) -> None:
        if self.state in ("running", "stopping"):
            return
        from .notebook import _partial

        try:
            self._new_config()
        except SartailError as exc:
            self._set_status(_note(f"<b>Invalid settings:</b> {html.escape(str(exc))}", "error"))
            return
        if self.is_trained():
            self._set_status(_note(f"Stage {self.stage} is trained with these settings.", "ok"))
        elif self.run.completed() == self.index and _partial(self.run):
            same = stage_settings(self._new_config(), self.stage) == stage_settings(self.run.cfg, self.stage)
            self._set_status(_note(f"Stage {self.stage} was stopped part way: <b>Run</b> goes on from its checkpoint."
                                   if same else f"Stage {self.stage} was stopped part way; the settings changed, so "
                                   "<b>Run</b> starts it again.", "warn"))
        elif self.run.completed() > self.index:
            self._set_status(_note(f"Settings changed: <b>Run</b> trains stage {self.stage} again"
                                   + (" (and discards the later stages)" if self.index + 1 < len(self.run.cfg.stages)
                                      else "") + ".", "warn"))
        else:
            self._set_status(_note(f"<b>Run</b> trains stage {self.stage}" + self._before() + ".", "info"))

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
            what = apply_stage_changes(self.run, self.stage, self.changes())
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
        self.outcome = "resumed" if what == "resume" and self.run.completed() <= self.index and self._partial() \
            else "trained"
        self.state = "running"
        self.error = None
        self._flag.clear()
        self.records, self.steps, self._planned = [], [], {}
        self.progress.value = 0
        self.run_button.disabled = True
        self.stop_button.disabled = False
        self._done.clear()
        self._set_status(_note(f"Starting stage {self.stage}{self._before()} …"))
        self._thread = threading.Thread(target=self._work, args=(lock,), name=f"sartail-{self.stage}", daemon=True)
        self._thread.start()
        return True

    def _partial(self) -> bool:
        from .notebook import _partial

        return _partial(self.run)

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
        """Call ``callback(panel)`` when a training ends (in the training thread)."""
        self._listeners.add(callback)

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
        self._listeners.notify(self, keep_going=True)

    def _stage_started(self, stage: Any, info: dict[str, Any]) -> None:
        self._stage_name = stage.name
        spe = max(int(info["steps_per_epoch"]), 1)
        self._steps_per_epoch = spe
        self._planned[stage.name] = int(info["epochs"])
        self.progress.max = max(int(info["epochs"]) * spe, 1)
        self.progress.value = min(int(info["start_epoch"]) * spe, self.progress.max)
        self._set_status(_note(f"Training stage {html.escape(stage.name)}: {info['epochs']} epochs of {spe} steps on "
                               f"{info['chips']:,} chips of {len(info['classes'])} classes …"))

    def _step(self, info: dict[str, Any]) -> None:
        done = (info["epoch"] - 1) * info["steps"] + info["step"]
        self.progress.value = min(done, self.progress.max)
        self.steps.append((info["epoch"] - 1 + info["step"] / max(info["steps"], 1), float(info["loss"]), info["stage"]))
        now = time.perf_counter()
        if now - self._last_status > 0.3:
            self._last_status = now
            self._set_status(_note(f"Stage {html.escape(info['stage'])}: epoch {info['epoch']}/{info['epochs']}, "
                                   f"step {info['step']}/{info['steps']}, loss {info['loss']:.3f}"))
        self._draw()

    def _epoch(self, record: dict[str, Any]) -> None:
        self.records.append(dict(record))
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


# ------------------------------------------------------------------------------ long-tail builder
class LongTailBuilder(W.VBox):
    """A long-tail profile (exponential, step, MAVOC-shaped), its imbalance ratio and seed.

    Every change redraws the histogram of the long-tailed subset of ``pool`` (outlines: the
    chips available). State: :attr:`counts` (chips per class), :attr:`subset` (the chips
    drawn, a view), :attr:`actual_ratio`, :attr:`redraws`.
    """

    PROFILES = (("exponential", "exp"), ("step (half the classes)", "step"), ("MAVOC-shaped", "mavoc"))

    def __init__(self, pool: Any, profile: str = "exp", ratio: float = 100.0, seed: int = 0) -> None:
        self.pool = pool
        self.available = pool.class_counts().tolist()
        self.profile = W.Dropdown(options=list(self.PROFILES), value=profile, description="profile")
        self.ratio = W.FloatLogSlider(value=ratio, base=10, min=0, max=3, step=0.05, description="ratio",
                                      readout_format=".0f", continuous_update=False)
        self.seed = W.BoundedIntText(value=seed, min=0, max=2**31 - 1, description="seed", layout=W.Layout(width="160px"))
        self.summary = W.HTML()
        self.summary.add_class("sartail-longtail-summary")
        self.histogram = W.Image(format="png", layout=W.Layout(max_width="100%", height="auto"))
        self.redraws = 0
        self.counts: list[int] = []
        self.subset: Any = None
        self.actual_ratio = float("nan")
        for w in (self.profile, self.ratio, self.seed):
            w.observe(lambda _: self.redraw(), names="value")
        super().__init__([W.HBox([self.profile, self.ratio, self.seed], layout=W.Layout(flex_flow="row wrap")),
                          self.summary, self.histogram])
        self.add_class("sartail-longtail")
        self.redraw()

    def redraw(self) -> None:
        """Draw the subset for the current controls and redraw the histogram."""
        from .data.longtail import imbalance_ratio, long_tailed

        try:
            self.subset = long_tailed(self.pool, self.profile.value, float(self.ratio.value), seed=int(self.seed.value))
        except SartailError as exc:
            self.summary.value = _note(html.escape(str(exc)), "error")
            return
        self.counts = self.subset.class_counts().tolist()
        self.actual_ratio = imbalance_ratio(self.counts)
        self.redraws += 1
        names = self.pool.class_names
        prof = {v: k for k, v in self.PROFILES}[self.profile.value]
        self.summary.value = _note(
            f"{prof} profile, ratio asked {self.ratio.value:,.0f}: <b>{sum(self.counts):,} of {sum(self.available):,} "
            f"chips kept</b>, head {names[0]} {self.counts[0]:,}, tail {names[-1]} {self.counts[-1]:,}; actual "
            f"imbalance ratio {self.actual_ratio:,.0f} (seed {self.seed.value} picks which chips)")
        fig = plots.class_histogram(self.counts, names, reference=self.available, synthetic=self.pool.synthetic,
                                    title=f"{prof} profile, seed {self.seed.value}: {sum(self.counts):,} chips, "
                                          f"imbalance ratio {self.actual_ratio:,.0f}")
        _show(self.histogram, fig)
