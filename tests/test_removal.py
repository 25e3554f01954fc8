"""The removal-set sweep: which sets, one plan on the one sweep, stage 1 shared per seed, the figure."""
from __future__ import annotations

import pytest
from tiny_runs import NO_FLOOR

from sartail.config import load_config
from sartail.errors import ConfigError
from sartail.report.figures import removal_figure, removal_table
from sartail.run.removal import removal_plan, removal_sets, sweep_removal
from sartail.run.reuse import stage_key

COUNTS = [700, 200, 60, 30, 10]


def test_removal_sets_from_the_class_counts():
    sets = removal_sets(COUNTS, shares=(0.15, 0.5), tops=(1, 2, 3), extra={"mine": [3, 1]})
    assert sets == {"none": (), "{0} = >50% = top 1": (0,), ">15% = top 2": (0, 1), "top 3": (0, 1, 2),
                    "mine": (1, 3)}
    assert removal_sets([5, 50, 500], shares=(), tops=(1,), zero=False) == {"none": (), "top 1": (2,)}
    with pytest.raises(ConfigError, match="leaves fewer than two"):
        removal_sets(COUNTS, tops=(), extra={"all but one": [0, 1, 2, 3]})
    with pytest.raises(ConfigError, match="k must be 1 to 4"):
        removal_sets(COUNTS, tops=(5,))
    with pytest.raises(ConfigError, match="no class \\[7\\]"):
        removal_sets(COUNTS, extra={"x": [7]})


def _tiny():
    return load_config("three_stage", {"data.train": "synthetic", "data.scale": 0.002, "data.test_per_class": 5,
                                       "model.width": 4, "stages.*.epochs": 1, "device": "cpu", **NO_FLOOR})


def test_plan_goes_seed_by_seed_and_changes_only_stage_2(tmp_path):
    plan = removal_plan(_tiny(), {"none": (), "{0}": (0,), "top 2": (0, 1)}, [3, 4], tmp_path)
    assert [(p.name, p.cfg.seed) for p in plan] == [("none", 3), ("{0}", 3), ("top 2", 3),
                                                    ("none", 4), ("{0}", 4), ("top 2", 4)]
    assert [p.path.relative_to(tmp_path).as_posix() for p in plan[:3]] == \
        ["none/seed-3", "remove-0/seed-3", "remove-top-2/seed-3"]
    assert [list(p.cfg.stage("residual").remove) for p in plan[:3]] == [[], [0], [0, 1]]
    # stage 1 is the same run for every set of a seed, so the sweep trains it once
    assert stage_key(plan[0].cfg, 0) == stage_key(plan[2].cfg, 0) != stage_key(plan[3].cfg, 0)
    assert stage_key(plan[0].cfg, 1) != stage_key(plan[1].cfg, 1)
    with pytest.raises(ConfigError, match="distinct seeds"):
        removal_plan(_tiny(), {"none": ()}, [1, 1], tmp_path)


@pytest.mark.slow
def test_sweep_shares_stage_1_and_draws_intervals(tmp_path):
    from sartail.run.rundir import RunDir

    res = sweep_removal(_tiny(), [0, 1], tmp_path, sets={"none": (), "{0}": (0,)})
    assert {k: [r.seed for r in v] for k, v in res.results.items()} == {"none": [0, 1], "{0}": [0, 1]}
    for seed in (0, 1):
        rd = RunDir(tmp_path / "remove-0" / f"seed-{seed}")
        assert rd.load(rd.stage_checkpoint(0, "rough"))["reused_from"] == str(tmp_path / "none" / f"seed-{seed}")
    assert res.results["{0}"][0].stages["residual"].removed == ["sedan"]
    rows = res.rows()
    assert [r["removed"] for r in rows] == ["none", "{0}"] and rows[1]["classes"] == ["sedan"]
    b = rows[0]["balanced"]
    assert b["lo"] <= b["mean"] <= b["hi"]
    vals = [r.final.balanced for r in res.results["none"]]
    assert b["mean"] == pytest.approx(sum(vals) / 2)
    fig = removal_figure(res)
    ax = fig.axes[0]
    assert [t.get_text().split("\n")[0] for t in ax.get_xticklabels()] == ["none", "{0}"]
    assert "(sedan)" in ax.get_xticklabels()[1].get_text()
    assert ax.get_xlabel() == "classes removed in stage 2" and "95% t-interval over 2 seeds" in ax.get_title(loc="left")
    assert fig.legends[0].get_texts()[0].get_text() == "balanced"
    table = removal_table(res)
    assert table[0]["balanced %"] == pytest.approx(round(100 * b["mean"], 1)) and table[1]["classes"] == "sedan"
