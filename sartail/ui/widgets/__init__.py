"""Widgets (ipywidgets 8) that steer the stages from a notebook.

- :class:`ClassRemovalPicker` (:mod:`.picker`): tick the classes stage 2 removes (class 0
  preset); it shows the residual set and refuses a choice that leaves fewer than two classes.
- :class:`StagePanel` (:mod:`.panel`): a stage's controls, Run and Stop, progress and a live plot.
- :class:`RecipeChooser` (:mod:`.chooser`): pick one recipe (e.g. the classifier
  re-optimisation: cRT, LWS or tau-norm) or several (the recipes to compare).
- :class:`LongTailBuilder` (:mod:`.longtail`): a long-tail profile, ratio and seed, and the
  histogram they give.

Widgets show and forward: what a click does to a run is decided by the run
(:class:`sartail.run.run.Run`). Their controls are ordinary ipywidgets, so tests drive them
headlessly: set ``.value`` on a control, call ``.click()`` on a button, then
:meth:`StagePanel.wait`. Figures are rendered to PNG (``ipywidgets.Image``) rather than into
``Output`` widgets, which works from a background thread and can be checked without a browser.
"""
from .chooser import RecipeChooser
from .longtail import LongTailBuilder
from .panel import SAMPLER_CHOICES, StagePanel
from .picker import ClassRemovalPicker

__all__ = ["ClassRemovalPicker", "LongTailBuilder", "RecipeChooser", "SAMPLER_CHOICES", "StagePanel"]
