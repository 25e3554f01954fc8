"""Where a model looks in a SAR chip: attribution maps, a target / shadow / clutter segmentation, and their overlap.

Attribution comes from **captum** (``captum.attr``), the PyTorch team's attribution
library: maintained beside PyTorch, pure Python (no compiled parts, nothing to build),
and it has both methods used here behind one interface:

- ``gradcam``: Grad-CAM (:class:`captum.attr.LayerGradCam`) on the body's deepest feature
  map of at least a quarter of the chip size (:func:`gradcam_layer`: SARNet's second stage;
  its last map, 1/16 of the chip, is too coarse to localise anything on 56 px chips),
  positive part only, upsampled bilinearly to the chip;
- ``occlusion``: the gradient-free check (:class:`captum.attr.Occlusion`): a square window
  (a sixth of the chip, half a window apart: coarse, so a few hundred chips take seconds)
  slides over the chip, replaced by the chip's median (the clutter level, so that the window
  looks like neither a return nor a shadow), and each pixel gets the mean drop of the target
  logit over the windows that cover it.

:func:`segment_chip` splits a chip into its bright target returns (above a high percentile
after smoothing, cleaned: opened, kept near the brightest blob, holes filled), its shadow (a
dark region, below a low percentile, within reach of the target) and clutter (the rest, zero
padding included). :func:`region_shares` gives the share of a map's *positive* attribution
that falls on each region, and :func:`clutter_check` answers "does my model look at the
clutter?" over many chips in one call: the mean shares per class, beside the regions' shares
of the chip's area (what a map spread evenly would give).
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from sartail.data.chipset import ChipSet
from sartail.errors import ConfigError
from sartail.models import Classifier

from .regions import CLUTTER, REGIONS, SHADOW, TARGET, region_areas, region_shares, segment_chip  # noqa: F401  (re-exported)

METHODS = ("gradcam", "occlusion")


# ------------------------------------------------------------------------------ attribution
def gradcam_layer(model: Classifier, min_fraction: float = 0.25) -> nn.Module:
    """The module of ``model.body`` whose feature map Grad-CAM weighs: the deepest at >= ``min_fraction`` of the chip size.

    Found by running a dummy chip: the last module (in order of completion) whose output is
    ``[N, C, H, W]`` with ``H`` at least ``min_fraction`` of the input's. For SARNet that is
    the end of its second stage (14 x 14 on a 56 px chip); for the ResNets ``layer3``. The
    very last map (1/16 of the chip) is too coarse on such small chips: every one of its
    cells sees the whole chip, and on a model trained to find a bright corner blob its
    Grad-CAM map came out flat (0.10 of the attribution on the corner, its area share 0.11,
    against 0.61 at 1/4; see tests/test_insight.py).
    """
    body = model.body
    size = 64
    found: list[nn.Module] = []
    hooks = []

    def hook(mod: nn.Module, inp: Any, out: Any) -> None:
        if isinstance(out, torch.Tensor) and out.ndim == 4 and out.shape[-2] >= min_fraction * size:
            found.append(mod)

    for mod in body.modules():
        if mod is not body:
            hooks.append(mod.register_forward_hook(hook))
    modes = {m: m.training for m in model.modules()}
    model.eval()
    try:
        p = next(iter(model.parameters()))
        with torch.no_grad():
            model.features(torch.zeros(1, 1, size, size, device=p.device, dtype=p.dtype))
    finally:
        for h in hooks:
            h.remove()
        for m, mode in modes.items():
            m.training = mode
    if not found:
        raise ValueError(f"{type(body).__name__} has no layer with a feature map of >= {min_fraction} of the chip size "
                         "for Grad-CAM")
    return found[-1]


def _rows(model: Classifier, class_ids: Sequence[int]) -> torch.Tensor:
    head_ids = [int(c) for c in model.head.class_ids.tolist()]
    missing = sorted({int(c) for c in class_ids} - set(head_ids))
    if missing:
        raise ValueError(f"class(es) {missing} are not in the model's head (it has {head_ids})")
    return torch.tensor([head_ids.index(int(c)) for c in class_ids], dtype=torch.int64)


def gradcam_maps(model: Classifier, x: torch.Tensor, rows: torch.Tensor, layer: nn.Module | None = None) -> torch.Tensor:
    """Grad-CAM of head rows ``rows`` for raw chips ``x [B, 1, H, W]``: ``[B, H, W]`` (non-negative)."""
    from captum.attr import LayerAttribution, LayerGradCam

    cam = LayerGradCam(model, layer if layer is not None else gradcam_layer(model))
    attr = cam.attribute(x, target=rows.tolist(), relu_attributions=True)
    up = LayerAttribution.interpolate(attr.detach(), tuple(x.shape[-2:]), interpolate_mode="bilinear")
    return up[:, 0].clamp_min(0)


def occlusion_maps(model: Classifier, x: torch.Tensor, rows: torch.Tensor, *, window: int | None = None,
                   stride: int | None = None) -> torch.Tensor:
    """Occlusion maps ``[B, H, W]``: the drop of each row's logit when a window covers a pixel.

    ``window`` defaults to a sixth of the chip size, ``stride`` to half the window (a 10 x 10
    grid of windows on a 56 px chip: 100 forward passes per chip); the window is filled with
    each chip's median.
    """
    from captum.attr import Occlusion

    h = int(x.shape[-1])
    window = window or max(2, h // 6)
    stride = stride or max(1, (window + 1) // 2)
    if window > h or stride < 1:
        raise ConfigError(f"occlusion window {window} / stride {stride} do not fit a {h} px chip")
    base = x.flatten(1).median(1).values.view(-1, 1, 1, 1).expand_as(x).contiguous()
    occ = Occlusion(model)
    with torch.no_grad():
        attr = occ.attribute(x, sliding_window_shapes=(1, window, window), strides=(1, stride, stride), baselines=base,
                             target=rows.tolist(), perturbations_per_eval=16)
    return attr[:, 0].detach()


@dataclass(frozen=True)
class Attributions:
    """Attribution maps of chips for one model and method.

    ``maps [N, H, W]`` (``float32``), ``segments [N, H, W]`` (:func:`segment_chip`), ``shares
    [N, 3]`` and ``areas [N, 3]`` over :data:`REGIONS`; ``targets``: the original class id
    explained for each chip; ``labels`` / ``predicted`` (original ids) and ``confidence``.
    """

    method: str
    maps: np.ndarray
    segments: np.ndarray
    shares: np.ndarray
    areas: np.ndarray
    targets: np.ndarray
    labels: np.ndarray
    predicted: np.ndarray
    confidence: np.ndarray


def attribute(model: Classifier, chips: ChipSet, method: str = "gradcam", *, target: str = "predicted",
              batch_size: int = 32, window: int | None = None, stride: int | None = None,
              progress: bool = False, segments: np.ndarray | None = None) -> Attributions:
    """Attribution maps of ``model`` for every chip of ``chips`` with ``method`` (``gradcam`` or ``occlusion``).

    ``target``: ``predicted`` explains the class the model predicts, ``true`` the chip's class
    (which must be in the model's head). The model is put in eval mode (and restored).
    """
    if method not in METHODS:
        raise ConfigError(f"unknown attribution method {method!r}; use one of {METHODS}")
    if target not in ("predicted", "true"):
        raise ConfigError(f"target must be 'predicted' or 'true', got {target!r}")
    from .features import model_outputs

    out = model_outputs(model, chips, batch_size=max(batch_size, 64))
    pred = out.predictions().numpy()
    conf = out.confidences().numpy()
    labels = np.asarray([chips.class_ids[int(c)] if c >= 0 else -1 for c in chips.labels.tolist()], dtype=np.int64)
    targets = pred if target == "predicted" else labels
    rows = _rows(model, targets.tolist())
    modes = {m: m.training for m in model.modules()}
    model.eval()
    p = next(iter(model.parameters()))
    layer = gradcam_layer(model) if method == "gradcam" else None
    maps = []
    try:
        for start in tqdm(range(0, len(chips), batch_size), desc=f"{method} maps", unit="batch",
                          disable=not progress, leave=False):
            pos = torch.arange(start, min(start + batch_size, len(chips)))
            x = chips.pixels(pos).to(p.device).float()
            if method == "gradcam":
                maps.append(gradcam_maps(model, x, rows[pos], layer).cpu())
            else:
                maps.append(occlusion_maps(model, x, rows[pos], window=window, stride=stride).cpu())
    finally:
        for m, mode in modes.items():
            m.training = mode
    h, w = chips.chip_size
    all_maps = torch.cat(maps).numpy().astype(np.float32) if maps else np.zeros((0, h, w), np.float32)
    if segments is None:
        px = chips.pixels().numpy()[:, 0] if len(chips) else np.zeros((0, h, w))
        segments = np.stack([segment_chip(c) for c in px]) if len(chips) else np.zeros((0, h, w), np.int8)
    return Attributions(method, all_maps, segments, region_shares(all_maps, segments), region_areas(segments),
                        np.asarray(targets), labels, pred, conf)


# ------------------------------------------------------------------------------ the clutter check
@dataclass(frozen=True)
class ClutterCheck:
    """Mean share of positive attribution on target, shadow and clutter, per method and class.

    ``shares[method][class name]`` and ``areas[class name]`` are ``{region: mean}``;
    ``overall[method]`` the mean over all chips, ``overall_area`` the regions' mean area share,
    ``chips[class name]`` how many chips each mean is over (chips whose map had no positive
    attribution are left out of that method's means; ``skipped[method]`` counts them).
    """

    stage: str
    class_names: tuple[str, ...]
    methods: tuple[str, ...]
    shares: dict[str, dict[str, dict[str, float | None]]]
    overall: dict[str, dict[str, float | None]]
    areas: dict[str, dict[str, float | None]]
    overall_area: dict[str, float | None]
    chips: dict[str, int]
    skipped: dict[str, int]
    target: str = "predicted"
    synthetic: bool = False
    attributions: dict[str, Attributions] = field(default_factory=dict, repr=False)

    def clutter_ratio(self, method: str | None = None) -> float | None:
        """Clutter's share of the attribution over its share of the area (1: no preference; > 1: drawn to it)."""
        m = method or self.methods[0]
        a, s = self.overall_area["clutter"], self.overall[m]["clutter"]
        return None if not a or s is None else s / a

    def summary(self) -> str:
        """One line per method answering "does my model look at the clutter?".

        The shares are set against the regions' shares of the area: a map spread evenly over
        the chip puts as much on each region as its area, so the target drawing ``k`` times
        its area share is what says the model looks at it.
        """
        lines = []
        a = {k: (0.0 if v is None else float(v)) for k, v in self.overall_area.items()}
        for m in self.methods:
            o = {k: (0.0 if v is None else float(v)) for k, v in self.overall[m].items()}
            if self.overall[m]["clutter"] is None or not a["target"]:
                lines.append(f"{m}: no positive attribution on any chip")
                continue
            lift = o["target"] / a["target"]
            shadow = f" (its shadow {100 * o['shadow']:.0f}%, area {100 * a['shadow']:.0f}%)" if a["shadow"] else ""
            verdict = ("it looks at the target" if lift >= 2 else
                       "it hardly prefers the target to the clutter" if lift >= 1.25 else
                       "it looks at the clutter as much as at the target")
            lines.append(f"{m}: {100 * o['target']:.0f}% of the positive attribution on the target, which covers "
                         f"{100 * a['target']:.0f}% of the chip (x{lift:.1f}){shadow}, {100 * o['clutter']:.0f}% on "
                         f"the clutter ({100 * a['clutter']:.0f}% of the chip): {verdict}")
        return "\n".join(lines)

    def rows(self) -> list[dict[str, Any]]:
        """One row per method and class: chips, the three shares and the three area shares."""
        out = []
        for m in self.methods:
            for c in (*self.class_names, "all"):
                sh = self.overall[m] if c == "all" else self.shares[m][c]
                ar = self.overall_area if c == "all" else self.areas[c]
                n = sum(self.chips.values()) if c == "all" else self.chips[c]
                out.append({"method": m, "class": c, "chips": n, **{r: sh[r] for r in REGIONS},
                            **{f"{r}_area": ar[r] for r in REGIONS}})
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"stage": self.stage, "target": self.target, "synthetic": self.synthetic,
                "class_names": list(self.class_names), "methods": list(self.methods), "shares": self.shares,
                "overall": self.overall, "areas": self.areas, "overall_area": self.overall_area, "chips": self.chips,
                "skipped": self.skipped}

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)


def _mean_regions(values: np.ndarray) -> dict[str, float | None]:
    ok = values[np.isfinite(values).all(1)] if values.size else values
    if not len(ok):
        return {r: None for r in REGIONS}
    mean = ok.mean(0)
    return {r: float(v) for r, v in zip(REGIONS, mean)}


def clutter_check(model: Classifier, chips: ChipSet, *, methods: Sequence[str] = METHODS, target: str = "predicted",
                  stage: str = "", batch_size: int = 32, window: int | None = None, stride: int | None = None,
                  progress: bool = False) -> ClutterCheck:
    """Does ``model`` look at the clutter? Mean attribution shares per class over every chip of ``chips``.

    Each chip is segmented once (:func:`segment_chip`); each method's maps (:func:`attribute`)
    are split over its regions (:func:`region_shares`) and averaged per (true) class. Keep
    ``chips`` to a few hundred (:func:`sartail.eval.features.sample_chips`): occlusion runs
    the model once per window position.
    """
    if not len(chips):
        raise ValueError("no chips to check")
    px = chips.pixels().numpy()[:, 0]
    segs = np.stack([segment_chip(c) for c in px])
    atts = {m: attribute(model, chips, m, target=target, batch_size=batch_size, window=window, stride=stride,
                         progress=progress, segments=segs) for m in methods}
    names = tuple(chips.class_names)
    labels = chips.labels.numpy()
    areas = region_areas(segs)
    shares = {m: {n: _mean_regions(a.shares[labels == c]) for c, n in enumerate(names)} for m, a in atts.items()}
    overall = {m: _mean_regions(a.shares) for m, a in atts.items()}
    per_area = {n: _mean_regions(areas[labels == c]) for c, n in enumerate(names)}
    skipped = {m: int((~np.isfinite(a.shares).all(1)).sum()) for m, a in atts.items()}
    return ClutterCheck(stage=stage, class_names=names, methods=tuple(methods), shares=shares, overall=overall,
                        areas=per_area, overall_area=_mean_regions(areas),
                        chips={n: int((labels == c).sum()) for c, n in enumerate(names)}, skipped=skipped,
                        target=target, synthetic=bool(chips.synthetic), attributions=atts)


__all__ = [
    "METHODS",
    "REGIONS",
    "Attributions",
    "ClutterCheck",
    "attribute",
    "clutter_check",
    "gradcam_layer",
    "gradcam_maps",
    "occlusion_maps",
    "region_areas",
    "region_shares",
    "segment_chip",
]
