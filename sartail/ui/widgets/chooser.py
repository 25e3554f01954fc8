"""Pick one recipe (e.g. the classifier re-optimisation: cRT, LWS or tau-norm) or several (to compare)."""
from __future__ import annotations

import html
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import ipywidgets as W
import traitlets as T

from ...config import load_config
from ...errors import DataError
from .common import _note


class RecipeChooser(W.VBox):
    """Choose one recipe (``multiple=False``) or several.

    Args:
        options: recipe names (see ``sartail recipes``).
        value: the initial choice (a name, or names when ``multiple``).
        labels: short names to show (e.g. ``{"crt": "cRT"}``).
        multiple: tick boxes (several recipes) instead of toggle buttons (one).

    State (traitlets, so ``chooser.observe(fn, names="value")`` works): :attr:`value` (a name,
    or a tuple of names), :attr:`refusals`. An unknown recipe raises; an empty choice is refused, saying why. :meth:`stage` gives the last stage of the chosen recipe, to put in place of a stage
    of another run (the classifier re-optimisation of the three-stage recipe).
    """

    value = T.Any(help="the chosen recipe (a tuple of recipes when multiple)")
    refusals = T.Int(0, help="how many changes were refused")

    def __init__(self, options: Sequence[str], value: str | Sequence[str] | None = None, *,
                 labels: Mapping[str, str] | None = None, multiple: bool = False, title: str = "") -> None:
        from ...config import recipe_dict

        self.options = list(options)
        self.labels = {o: (labels or {}).get(o, o) for o in self.options}
        self.descriptions = {o: recipe_dict(o).get("description", "") for o in self.options}
        self.multiple = multiple
        self._syncing = False
        self.message = W.HTML()
        self.info = W.HTML()
        head = [W.HTML(f"<b>{html.escape(title)}</b>")] if title else []
        if multiple:
            chosen = set(self.options if value is None else [value] if isinstance(value, str) else value)
            self.checkboxes = {o: W.Checkbox(value=o in chosen, indent=False, layout=W.Layout(width="auto"),
                                             description=f"{self.labels[o]}: {self.descriptions[o]}",
                                             style={"description_width": "initial"}) for o in self.options}
            for o, cb in self.checkboxes.items():
                cb.add_class(f"sartail-recipe-{o}")
                cb.observe(self._on_tick, names="value")
            self.toggle = None
            body: list[W.Widget] = list(self.checkboxes.values())
            first: Any = tuple(o for o in self.options if o in chosen)
            if not first:
                raise DataError("choose at least one recipe")
        else:
            first = self.options[0] if value is None else value
            if first not in self.options:
                raise DataError(f"{first!r} is not one of {self.options}")
            self.toggle = W.ToggleButtons(options=[(self.labels[o], o) for o in self.options], value=first,
                                          tooltips=[self.descriptions[o] for o in self.options],
                                          style={"button_width": "auto"})
            self.toggle.observe(self._on_toggle, names="value")
            self.toggle.add_class("sartail-recipe-toggle")
            self.checkboxes = {}
            body = [self.toggle]
        super().__init__([*head, *body, self.message, self.info])
        self.add_class("sartail-recipe-chooser")
        self.value = first

    def set_value(self, value: Any) -> None:
        """Choose ``value`` (the same as ``chooser.value = value``)."""
        self.value = value

    @T.validate("value")
    def _check_value(self, proposal: dict[str, Any]) -> Any:
        """An unknown recipe raises :class:`DataError`; an empty choice is refused (and raises)."""
        value = proposal["value"]
        if not self.multiple:
            if value not in self.options:
                raise DataError(f"{value!r} is not one of {self.options}")
            return value
        names = [value] if isinstance(value, str) else list(value)
        bad = [n for n in names if n not in self.options]
        if bad:
            raise DataError(f"{bad[0]!r} is not one of {self.options}")
        if not names:
            self._refuse()
            raise DataError("choose at least one recipe")
        return tuple(o for o in self.options if o in names)

    @T.observe("value")
    def _show_value(self, change: dict[str, Any]) -> None:
        self._syncing = True
        try:
            if self.multiple:
                for o, cb in self.checkboxes.items():
                    cb.value = o in change["new"]
            else:
                assert self.toggle is not None
                self.toggle.value = change["new"]
        finally:
            self._syncing = False
        self.message.value = ""
        self._render()

    def observe_value(self, callback: Callable[[Any], None]) -> None:
        """Call ``callback(value)`` after every accepted change of :attr:`value`."""
        self.observe(lambda change: callback(change["new"]), names="value")

    def stage(self, name: str | None = None) -> dict[str, Any]:
        """The last stage of the chosen recipe as settings (without name and description)."""
        recipe = self.value if not self.multiple else self.value[0]
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
        self.value = names

    def _on_toggle(self, change: dict[str, Any]) -> None:
        if not self._syncing:
            self.value = change["new"]

    def _render(self) -> None:
        if self.multiple:
            self.info.value = _note(f"{len(self.value)} recipe(s): " + ", ".join(self.labels[v] for v in self.value))
        else:
            self.info.value = _note(f"<b>{html.escape(self.labels[self.value])}</b>: "
                                    f"{html.escape(self.descriptions[self.value])}")
