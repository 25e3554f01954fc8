"""Side-by-side tables of finished runs, and mean +- std over seeds."""
from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .errors import RunError

METRICS = ("top1", "balanced", "macro_f1", "many_shot", "medium_shot", "few_shot", "ece")


def _mean_std(values: Sequence[float | None]) -> tuple[float | None, float | None, int]:
    vals = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    if not vals:
        return None, None, 0
    return statistics.fmean(vals), (statistics.stdev(vals) if len(vals) > 1 else 0.0), len(vals)


def _cell(mean: float | None, std: float | None, pct: bool) -> str:
    if mean is None:
        return "-"
    k = 100 if pct else 1
    fmt = "{:.1f}" if pct else "{:.3f}"
    return fmt.format(k * mean) + (f" ± {fmt.format(k * std)}" if std else "")


def summarize_runs(results: Mapping[str, Sequence[Mapping[str, Any]]],
                   metrics: Sequence[str] = METRICS) -> tuple[list[dict[str, Any]], str]:
    """Mean and standard deviation of the final test metrics per recipe over its seeds.

    ``results`` maps a recipe to the ``results.json`` dicts of its runs. Returns the rows
    (for JSON) and a text table (accuracies in %, ECE as a fraction).
    """
    from .cli import table

    rows, text_rows = [], []
    for recipe, runs in results.items():
        row: dict[str, Any] = {"recipe": recipe, "seeds": [r.get("seed") for r in runs], "n": len(runs)}
        cells = [recipe, str(len(runs))]
        for m in metrics:
            mean, std, _ = _mean_std([r["final"].get(m) for r in runs])
            row[m] = {"mean": mean, "std": std}
            cells.append(_cell(mean, std, m != "ece"))
        rows.append(row)
        text_rows.append(cells)
    return rows, table(text_rows, ["recipe", "runs", *[m.replace("_", "-") for m in metrics]])


def compare_runs(run_dirs: Sequence[str | Path], csv_path: str | Path | None = None) -> str:
    """A table of finished runs (one row each, final stage on the test set); optionally CSV too."""
    from .cli import table
    from .runs import RunDir

    header = ["run", "recipe", "seed", *METRICS]
    rows = []
    for d in run_dirs:
        res = RunDir.open(d).results()
        f = res["final"]
        rows.append([str(d), res["recipe"], res.get("seed"), *[f.get(m) for m in METRICS]])
    if not rows:
        raise RunError("no runs to compare")
    if csv_path:
        import csv
        import io

        from .atomic import write_text

        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerows([header, *rows])
        write_text(csv_path, buf.getvalue())
    fmt = [[r[0], r[1], r[2], *[_cell(v, None, m != "ece") for v, m in zip(r[3:], METRICS)]] for r in rows]
    return table(fmt, [h.replace("_", "-") for h in header])
