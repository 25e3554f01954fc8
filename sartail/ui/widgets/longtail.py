"""A long-tail profile, ratio and seed, and the class histogram they give."""
from __future__ import annotations

import html
from typing import Any

import ipywidgets as W

from ...errors import SartailError
from ...report import figures as plots
from .common import _note, _show


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
        from ...data.longtail import imbalance_ratio, long_tailed

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
