"""Text tables: a stage table of a run, a multi-seed summary, a side-by-side of finished runs."""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..errors import RunError
from ..eval.results import RunResults, StageMetrics
from ..eval.summary import BASELINES, METRICS, paired_against


def table(rows: Sequence[Sequence[Any]], header: Sequence[str]) -> str:
    """A plain text table with aligned columns (numeric columns right-aligned)."""
    cells = [list(map(str, header))] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    numeric = [all(_numeric(r[i]) for r in cells[1:]) for i in range(len(header))]
    line = lambda r: "  ".join(c.rjust(w) if num else c.ljust(w) for c, w, num in zip(r, widths, numeric))  # noqa: E731
    return "\n".join([line(cells[0]), "  ".join("-" * w for w in widths)] + [line(r) for r in cells[1:]])


def _numeric(cell: str) -> bool:
    return bool(cell.strip()) and all(ch in "0123456789.,-+± %e" for ch in cell.strip())


def fmt(x: Any, pct: bool = True) -> str:
    """A metric for a table: a percentage with one decimal, or a fraction with three; ``-`` if missing."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "  -  "
    return f"{100 * x:5.1f}" if pct else f"{x:.3f}"


def cell(mean: float | None, std: float | None, pct: bool) -> str:
    """``mean ± std`` (the std left out when it is 0 or missing)."""
    if mean is None:
        return "-"
    k = 100 if pct else 1
    form = "{:.1f}" if pct else "{:.3f}"
    return form.format(k * mean) + (f" ± {form.format(k * std)}" if std else "")


def stage_table(results: RunResults, label: str = "", stages: Mapping[str, StageMetrics] | None = None) -> str:
    """Overall, balanced and per-class test accuracy (%) of every stage of a run (or of ``stages``)."""
    names = results.class_names
    header = ["stage", "top-1", "balanced"] + [f"{i}" for i in range(len(names))]
    rows = []
    for stage, m in (results.stages if stages is None else stages).items():
        rows.append([f"{label}{stage}", fmt(m.top1), fmt(m.balanced)] + [fmt(m.per_class.get(n)) for n in names])
    return table(rows, header)


def paired_cell(d: Mapping[str, Any] | None) -> str:
    """A paired difference (a ``PairedDifference.to_json()`` dict) in points: ``+5.2 [+1.3, +9.1]`` or ``+0.4 [-1.0, +1.8] n.s.``."""
    if not d:
        return ""
    m = f"{100 * d['mean']:+.1f}"
    if d.get("ci_low") is None:
        return f"{m} (1 seed)"
    return f"{m} [{100 * d['ci_low']:+.1f}, {100 * d['ci_high']:+.1f}]" + ("" if d["significant"] else " n.s.")


def summary_table(rows: Sequence[Mapping[str, Any]], metrics: Sequence[str] = METRICS) -> str:
    """The text of :func:`sartail.eval.summary.summarize_runs` rows (accuracies in %, ECE as a fraction).

    The ``vs ce`` / ``vs ce@equal`` columns give the paired balanced-accuracy difference over the
    same seeds with its 95 % confidence interval (``n.s.``: the interval includes 0).
    """
    baselines = [b for b in BASELINES if any(b in row.get("vs", {}) for row in rows)]
    text_rows = [[row["recipe"], str(row["n"]), *[cell(row[m]["mean"], row[m]["std"], m != "ece") for m in metrics],
                  *[paired_cell(row.get("vs", {}).get(b)) for b in baselines]] for row in rows]
    return table(text_rows, ["recipe", "runs", *[m.replace("_", "-") for m in metrics], *[f"vs {b} (95% CI)" for b in baselines]])


def compare_runs(results: Sequence[tuple[str | Path, RunResults]], csv_path: str | Path | None = None) -> str:
    """A table of finished runs (one row each: ``(run folder, results)``, final stage on the test set); optionally CSV too."""
    header = ["run", "recipe", "seed", *METRICS]
    rows = [[str(d), res.recipe, res.seed, *[getattr(res.final, m) for m in METRICS]] for d, res in results]
    if not rows:
        raise RunError("no runs to compare")
    if csv_path:
        import csv
        import io

        from ..atomic import write_text

        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerows([header, *rows])
        write_text(csv_path, buf.getvalue())
    shown = [[r[0], r[1], r[2], *[cell(v, None, m != "ece") for v, m in zip(r[3:], METRICS)]] for r in rows]
    text = table(shown, [h.replace("_", "-") for h in header])
    paired = paired_table(results)
    return text + ("\n\n" + paired if paired else "")


def paired_table(results: Sequence[tuple[str | Path, RunResults]]) -> str:
    """Per recipe, balanced accuracy paired by seed with ``ce`` and the equal-budget control (95 % CI).

    A run folder named ``ce@equal`` (or under one, ``ce@equal/seed-N``) is the control; empty
    when no baseline is among the runs.
    """
    by: dict[str, list[RunResults]] = {}
    for d, res in results:
        parts = Path(d).parts
        name = "ce@equal" if "ce@equal" in parts else res.recipe
        by.setdefault(name, []).append(res)
    base = [b for b in BASELINES if b in by]
    if not base:
        return ""
    rows = [[name, str(len(runs)), *[paired_cell(pd.to_json()) if b != name and (pd := paired_against(runs, by[b])) else ""
                                     for b in base]] for name, runs in by.items()]
    return "balanced accuracy, paired by seed (mean difference [95% CI]; n.s.: the interval includes 0)\n" + \
        table(rows, ["recipe", "runs", *[f"vs {b}" for b in base]])
