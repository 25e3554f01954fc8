"""Tick the classes that stage 2 (the residual stage) removes."""
from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from typing import Any

import ipywidgets as W
import traitlets as T

from ...errors import DataError
from ...report import figures as plots
from .common import _note, _show


class ClassRemovalPicker(W.VBox):
    """Tick the classes that stage 2 (the residual stage) removes.

    Args:
        chips: the training chips (e.g. ``run.data.train``); their classes and counts are listed.
        removed: the classes ticked at first (original class ids; class 0 by default).
        histogram: also draw the residual set's class histogram under the summary.

    State (traitlets, so ``picker.observe(fn, names="removed")`` works): :attr:`removed` (the
    ticked class ids), :attr:`refused` (whether the last change was refused), :attr:`refusals`
    (how many were); :attr:`residual` gives the chips left and :attr:`message` says why a change was refused. A tick that
    would leave fewer than two classes is undone and the reason shown; :meth:`set_removed`
    raises :class:`~sartail.errors.DataError` for such a choice.
    """

    removed = T.Tuple(help="the ticked class ids, in order")
    refused = T.Bool(False, help="whether the last change was refused (and undone)")
    refusals = T.Int(0, help="how many changes were refused")

    def __init__(self, chips: Any, removed: Sequence[int] = (0,), *, histogram: bool = True) -> None:
        self.chips = chips
        self.counts = chips.class_counts().tolist()
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
        self.set_removed(removed)

    # ---------------------------------------------------------------- state
    @property
    def residual(self) -> Any:
        """The chips that stage 2 trains on (a view, no copy)."""
        return self.chips.remove_classes(list(self.removed)) if self.removed else self.chips

    def stage_changes(self) -> dict[str, Any]:
        """The stage settings this picker decides: ``{"remove": [...]}``."""
        return {"remove": list(self.removed)}

    def observe_removed(self, callback: Callable[[tuple[int, ...]], None]) -> None:
        """Call ``callback(removed)`` after every accepted change of :attr:`removed`."""
        self.observe(lambda change: callback(change["new"]), names="removed")

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
        self.refused = True
        self.message.value = _note("<b>Refused.</b> " + html.escape(reason), "error")

    def _accept(self, wanted: tuple[int, ...]) -> None:
        with self.hold_trait_notifications():  # observers hear of the change once the residual set is drawn
            self.refused = False
            self.message.value = ""
            self.removed = wanted
            self._render()

    def summary_text(self) -> str:
        """The residual-set summary as plain text."""
        res = self.residual
        counts = res.class_counts().tolist()
        total = sum(self.counts)
        gone = [(n, c) for cid, n, c in zip(self.chips.class_ids, self.chips.class_names, self.counts)
                if cid in self.removed]
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
                                        removed=[ids.index(c) for c in self.removed],
                                        title=self.summary_text().split(";")[0].split(" (")[0])
            _show(self.histogram, fig)
