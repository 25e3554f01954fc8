"""Pick one recipe (e.g. the classifier re-optimisation: cRT, LWS or tau-norm) or several (to compare)."""
from __future__ import annotations

import html
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import ipywidgets as W

from ...config import load_config
from ...errors import DataError
from .common import _Listeners, _note


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
        from ...config import recipe_dict

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
