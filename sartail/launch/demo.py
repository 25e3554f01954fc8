"""``sartail demo``: the three stages and the ``ce`` baseline on the embedded synthetic chips, with figures."""
from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ..config import QUICK_WIDTH, RunConfig
from ..report.tables import stage_table
from ..run.sweep import Planned, sweep
from .hooks import RunHooks
from .params import make_config

#: The demo's synthetic data, as a fraction of UNICORN (see ``sartail demo --scale``).
DEMO_SCALE = 0.01
#: The recipes the demo trains (the sweep adds the equal-budget control ``ce@equal``).
DEMO_RECIPES = ("three_stage", "ce")


def demo_config(recipe: str, *, device: str = "auto", seed: int = 0, scale: float = DEMO_SCALE,
                tensorboard: bool = False) -> RunConfig:
    """A recipe at the demo's quick settings (:func:`~sartail.launch.params.make_config` with a narrow network)."""
    cfg = make_config(recipe, {"WIDTH": QUICK_WIDTH, "DEVICE": device, "SEED": seed, "SCALE": scale})
    return dataclasses.replace(cfg, tensorboard=True) if tensorboard else cfg


def demo_plan(out: str | Path, **settings: Any) -> list[Planned]:
    """The demo's runs: :data:`DEMO_RECIPES` at :func:`demo_config` in ``out/<recipe>``."""
    return [Planned(recipe, demo_config(recipe, **settings), Path(out) / recipe) for recipe in DEMO_RECIPES]


def run_demo(out: str | Path, *, formats: Sequence[str] = ("png",), overwrite: bool = False, resume: bool = False,
             progress: bool = True, say: Callable[[str], None] = print, **settings: Any) -> int:
    """Train the demo into ``out``, say its table and where its figures are; ``settings`` go to :func:`demo_config`."""
    from ..report.figures import per_class_accuracy, save_figure

    out = Path(out)
    t0 = time.perf_counter()
    say("sartail demo: the three-stage strategy and a plain cross-entropy baseline")
    say("on the embedded SYNTHETIC SAR-like chips (MAVOC class structure; not real data).\n")
    plan = demo_plan(out, **settings)

    def started(run: Any) -> None:
        if run.cfg.recipe == "three_stage":
            s = run.data.summary()
            say("training chips per class: " + ", ".join(f"{i}:{c}" for i, c in enumerate(s["train_counts"])))
            say(f"validation chips: {sum(s['val_counts'])}, balanced test chips: {sum(s['test_counts'])}\n")

    # the baselines' figures are the comparison figure below
    hooks = RunHooks([p.cfg for p in plan], figures=lambda run: run.cfg.recipe == "three_stage", formats=formats,
                     before=started)
    done = sweep(plan, overwrite=overwrite, resume=resume, progress=progress, on_start=hooks.start,
                 on_done=hooks.done, control=True)
    res, res_ce, res_eq = done.results["three_stage"][0], done.results["ce"][0], done.results["ce@equal"][0]
    say("Test accuracy (%) by stage; columns 0-9 are the classes (0 sedan ... 9 flatbed w/ trailer):")
    say(stage_table(res, stages={**{f"three_stage/{k}": v for k, v in res.stages.items()},
                                 "ce (baseline)": res_ce.final, "ce@equal (control)": res_eq.final}))
    say(f"ce@equal: {res_eq.budget}")
    fig = per_class_accuracy({"ce": res_ce.final.per_class, "three_stage": res.final.per_class}, res.class_names,
                             title="ce vs three_stage: per-class test accuracy", synthetic=True,
                             counts=res.data["train_counts"])
    figs = save_figure(fig, out / "figures" / "ce_vs_three_stage", formats)
    say(f"\nfigures: {out / 'three_stage' / 'figures'}, {figs[0].parent}")
    say(f"runs:    {out / 'three_stage'}, {out / 'ce'}, {out / 'ce@equal'}")
    say(f"demo finished in {time.perf_counter() - t0:.0f} s")
    return 0
