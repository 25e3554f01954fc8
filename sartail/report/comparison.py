"""The test results of several recipes over several seeds, with their table and figures."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..config import ShotGroups
from ..eval.results import RunResults
from ..eval.summary import BASELINES, summarize_runs
from . import figures as plots
from .frames import _frame
from .tables import paired_cell


class Comparison:
    """The test results of several recipes over several seeds, with their table and figures."""

    def __init__(self, results: Mapping[str, list[RunResults]], shots: Any = None) -> None:
        self.results = {k: list(v) for k, v in results.items()}
        first = next(iter(self.results.values()))[0]
        self.class_names = first.class_names
        self.synthetic = first.synthetic
        self.shots = shots
        self.train_counts = [float(sum(c) / len(c)) for c in zip(*(r.data["train_counts"] for rs in
                                                                       self.results.values() for r in rs))]

    def table(self) -> Any:
        """Mean +- std over seeds of the final test metrics per recipe (accuracies in %), and the
        balanced-accuracy difference to ``ce`` / ``ce@equal`` paired by seed with its 95 % CI (``n.s.``: it includes 0)."""
        rows = summarize_runs(self.results)
        out = []
        for row in rows:
            r: dict[str, Any] = {"recipe": row["recipe"], "seeds": row["n"]}
            for k, label in (("top1", "top-1"), ("balanced", "balanced"), ("macro_f1", "macro-F1"),
                             ("many_shot", "many-shot"), ("medium_shot", "medium-shot"), ("few_shot", "few-shot"),
                             ("ece", "ECE")):
                mean, std = row[k]["mean"], row[k]["std"]
                if mean is None:
                    r[label] = "–"
                elif k == "ece":
                    r[label] = f"{mean:.3f}" + (f" ± {std:.3f}" if row["n"] > 1 else "")
                else:
                    r[label] = f"{100 * mean:.1f}" + (f" ± {100 * std:.1f}" if row["n"] > 1 else "")
            for b in BASELINES:
                if any(b in x.get("vs", {}) for x in rows):
                    r[f"vs {b} (95% CI)"] = paired_cell(row.get("vs", {}).get(b))
            out.append(r)
        return _frame(out, index="recipe")

    def per_class(self) -> dict[str, dict[str, list[float | None]]]:
        """``{recipe: {class: [accuracy of every seed]}}`` of the final stages."""
        return {k: {c: [r.final.per_class.get(c) for r in rs] for c in self.class_names}
                for k, rs in self.results.items()}

    def plot_per_class(self, **kw: Any) -> Any:

        groups = (self.shots or ShotGroups()).assign([round(c) for c in self.train_counts])
        return plots.accuracy_heatmap(self.per_class(), self.class_names, counts=[round(c) for c in self.train_counts],
                                      synthetic=self.synthetic, shot_groups=groups,
                                      title=kw.pop("title", "Per-class test accuracy (%), mean over seeds"), **kw)

    def plot_per_class_bars(self, recipes: Sequence[str] | None = None, **kw: Any) -> Any:
        """Per-class bars (mean +- std over seeds) of a few recipes: by default the paper's recipe (``three_stage``), ``ce`` and ``two_stage``."""

        pc = self.per_class()
        if recipes is None:
            recipes = [r for r in ("three_stage", "ce", "two_stage") if r in pc]
            if len(recipes) < 2:
                recipes = list(pc)[:3]
        pick = {k: pc[k] for k in recipes}
        return plots.per_class_accuracy(pick, self.class_names, counts=[round(c) for c in self.train_counts],
                                        synthetic=self.synthetic,
                                        title=kw.pop("title", "Per-class test accuracy (mean ± std over seeds)"), **kw)

    def plot_shots(self, **kw: Any) -> Any:

        return plots.shot_accuracy({k: [r.final for r in rs] for k, rs in self.results.items()},
                                   groups=self.shots, synthetic=self.synthetic, **kw)

    def plot_reliability(self, **kw: Any) -> Any:

        return plots.reliability_diagram({k: [r.final for r in rs] for k, rs in self.results.items()},
                                         synthetic=self.synthetic, **kw)
