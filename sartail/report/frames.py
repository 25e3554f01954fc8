"""Notebook tables of chip sets and results: pandas DataFrames and Markdown (plain rows without pandas)."""
from __future__ import annotations

import math
from typing import Any

from ..data.pixels import pixel_table as pixel_rows
from ..eval.results import RunResults

STAGE_TITLES = {"rough": "1 rough", "residual": "2 residual", "balanced": "3a balanced",
                "classifier": "3b classifier"}


STAGE_NAMES = {"rough": "Stage 1 (rough)", "residual": "Stage 2 (residual)", "balanced": "Stage 3a (balanced)",
               "classifier": "Stage 3b (classifier)"}


def class_table(chips: Any) -> Any:
    """The classes of a chip set with their counts and shares, as a table."""
    rows = [{"class": r["class"], "name": r["name"], "chips": r["count"], "share": f"{100 * r['share']:.2f}%"}
            for r in chips.table()]
    return _frame(rows, index="class")


def pixel_table(chips: Any) -> Any:
    """Per-class pixel statistics (mean, std, 1st / 99th percentile, share of zero pixels)."""
    rows = pixel_rows(chips)
    for r in rows:
        for k in ("mean", "std", "p1", "p99"):
            if k in r:
                r[k] = round(r[k], 1)
        if "zero_share" in r:
            r["zero_share"] = f"{100 * r['zero_share']:.1f}%"
    return _frame(rows, index="class")


def _frame(rows: list[dict[str, Any]], index: str | None = None) -> Any:
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - pandas comes with seaborn
        return rows
    df = pd.DataFrame(rows)
    return df.set_index(index) if index and index in df else df


def stage_labels(results: RunResults) -> dict[str, str]:
    """Legend labels of the three-stage stages: '1 rough', '2 residual', '3a balanced', '3b classifier'."""
    return {s: STAGE_TITLES.get(s, s) for s in results.stages}


def accuracy_table(results: RunResults) -> Any:
    """Top-1, balanced, many / medium / few-shot accuracy and ECE of every stage in ``results`` (%)."""
    rows = []
    for stage, m in results.stages.items():
        row = {"stage": STAGE_TITLES.get(stage, stage), "classes": len(m.classes_seen)}
        for k in ("top1", "balanced", "macro_f1", "many_shot", "medium_shot", "few_shot"):
            v = getattr(m, k)
            row[k.replace("_shot", "-shot").replace("top1", "top-1").replace("macro_f1", "macro-F1")] = \
                None if v is None else round(100 * v, 1)
        row["ECE"] = None if m.ece is None else round(m.ece, 3)
        rows.append(row)
    return _frame(rows, index="stage")


def tail_report(results: RunResults, stage: str, head: int = 0) -> Any:
    """How much of each tail class a stage predicts as class ``head`` (Markdown).

    The tail is the few-shot group (fewer training chips than ``shots.few``), or the half of
    the classes with the fewest chips when that group is empty.
    """
    m = results.stages[stage]
    names = results.class_names
    counts = results.data["train_counts"]
    seen = m.classes_seen
    head_name = names[head]
    if head_name not in seen:
        return _markdown(f"Stage {stage} does not see class {head} ({head_name}).")
    cm = m.confusion
    col = seen.index(head_name)
    groups = m.shot_groups or {}
    tail = [c for c in seen if groups.get(c) == "few"]
    if not tail:
        tail = sorted((c for c in seen if c != head_name), key=lambda c: counts[names.index(c)])[: max(1, len(seen) // 2)]
    lines = []
    sunk, total = 0, 0
    for c in tail:
        r = seen.index(c)
        n = sum(cm[r])
        if not n:
            continue
        sunk += cm[r][col]
        total += n
        acc = m.per_class.get(c)
        top = max(range(len(seen)), key=lambda j: cm[r][j])
        lines.append(f"| {c} | {counts[names.index(c)]:,} | {100 * cm[r][col] / n:.0f}% | "
                     f"{'–' if acc is None else f'{100 * acc:.0f}%'} | {seen[top]} ({100 * cm[r][top] / n:.0f}%) |")
    share = 100 * sunk / total if total else math.nan
    text = (f"**{STAGE_NAMES.get(stage, stage)}** predicts class {head} (*{head_name}*) for **{share:.0f}%** of the "
            f"test chips of the {len(tail)} tail classes (those with the fewest training chips):\n\n"
            f"| tail class | training chips | predicted as {head_name} | accuracy | most often predicted as |\n"
            "|---|---:|---:|---:|---|\n" + "\n".join(lines))
    return _markdown(text)


def _markdown(text: str) -> Any:
    try:
        from IPython.display import Markdown

        return Markdown(text)
    except ImportError:  # pragma: no cover
        return text
