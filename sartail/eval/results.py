"""The typed results that every layer exchanges: a stage's test metrics and a run's results.

They are written as ``results.json`` (:meth:`RunResults.to_json`) and read back
(:meth:`RunResults.from_json`) with the same keys as ever, so older run folders stay readable.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

SHOTS = ("many_shot", "medium_shot", "few_shot")


@dataclass(frozen=True)
class StageMetrics:
    """Test metrics of one stage's model (see :func:`sartail.eval.metrics.evaluate_logits`).

    ``per_class`` maps a class name to its accuracy (``None`` without test chips); ``confusion``
    is indexed by ``classes_seen``; ``removed`` names the classes the stage did not see;
    ``many_shot`` ... ``shot_groups`` are set when the training counts are known.
    """

    n: int
    top1: float
    balanced: float
    macro_f1: float
    per_class: dict[str, float | None]
    confusion: list[list[int]]
    ece: float
    reliability: list[dict[str, Any]]
    many_shot: float | None = None
    medium_shot: float | None = None
    few_shot: float | None = None
    shot_groups: dict[str, str] | None = None
    loss: float | None = None
    classes_seen: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    def shot(self, group: str) -> float | None:
        """Mean accuracy of a shot group: ``many``, ``medium`` or ``few``."""
        return getattr(self, f"{group}_shot")

    def to_json(self) -> dict[str, Any]:
        """The ``results.json`` form (keys in the order ``evaluate_logits`` made them; unset ones left out)."""
        out: dict[str, Any] = {"n": self.n, "top1": self.top1, "balanced": self.balanced, "macro_f1": self.macro_f1,
                               "per_class": self.per_class, "confusion": self.confusion}
        if self.shot_groups is not None:
            out.update({k: getattr(self, k) for k in SHOTS}, shot_groups=self.shot_groups)
        out.update(ece=self.ece, reliability=self.reliability)
        if self.loss is not None:
            out["loss"] = self.loss
        out.update(classes_seen=self.classes_seen, removed=self.removed)
        return out

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> StageMetrics:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


def metric(m: StageMetrics | Mapping[str, Any], key: str) -> Any:
    """One metric of ``m``, given as :class:`StageMetrics` or as a (partial) ``results.json`` dict; ``None`` if absent."""
    return m.get(key) if isinstance(m, Mapping) else getattr(m, key)


@dataclass(frozen=True)
class RunResults:
    """A run's test results: every stage scored once, with the data summary and validation metrics.

    ``final_stage`` is ``None`` for the results of a run not finished yet (some stages scored).
    """

    recipe: str
    seed: int
    data: dict[str, Any]
    stages: dict[str, StageMetrics]
    val: dict[str, dict[str, Any]] = field(default_factory=dict)
    final_stage: str | None = None
    selected: dict[str, str] = field(default_factory=dict)  #: per stage: which epoch was kept and why
    budget: str = ""  #: the budget floor applied (or why none was)

    @property
    def final(self) -> StageMetrics:
        """The metrics of the last stage (the run's model)."""
        return self.stages[self.final_stage if self.final_stage is not None else list(self.stages)[-1]]

    @property
    def class_names(self) -> list[str]:
        return list(self.data["classes"])

    @property
    def synthetic(self) -> bool:
        return bool(self.data.get("synthetic"))

    def only(self, stages: list[str]) -> RunResults:
        """These results with only the named stages (no longer final unless the last stage is among them)."""
        final = self.final_stage if self.final_stage in stages else None
        return RunResults(self.recipe, self.seed, self.data, {s: self.stages[s] for s in stages}, self.val, final,
                          {s: v for s, v in self.selected.items() if s in stages}, self.budget)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"recipe": self.recipe, "seed": self.seed, "data": self.data,
                               "stages": {k: m.to_json() for k, m in self.stages.items()}}
        if self.final_stage is not None:
            out.update(val=self.val, final_stage=self.final_stage, final=self.final.to_json())
        if self.selected:
            out["selected"] = self.selected
        if self.budget:
            out["budget"] = self.budget
        return out

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> RunResults:
        return cls(d["recipe"], d.get("seed"), dict(d["data"]),  # type: ignore[arg-type]  # old files: no seed
                   {k: StageMetrics.from_json(m) for k, m in d["stages"].items()}, dict(d.get("val", {})),
                   d.get("final_stage"), dict(d.get("selected", {})), d.get("budget", ""))
