"""The plain-PyTorch control: a hand-written loop on the same MSTAR chips as bench_accuracy.py.

It trains the kit's network (``sartail.models``: SARNet, or the issue's six-layer conv net)
with nothing of the kit's training code: the kit is used for the chip *selection* only
(``prepare_data``: the stratified 25 % test fold with ``--split-seed`` (0), the long-tailed subset
drawn with the seed, the 10 % validation split), so the chips are identical to the kit's.
Chips are loaded with a larger centre region (``--load``) and trained on random crops of
real pixels (``--size``); evaluation uses the centre crop. Prints one JSON line per method:

    python benchmarks/plain_loop.py --methods ce,crt,three,la,focal,cutmix --seed 0 [--profile exp100|full]
        [--load 88 --size 64 --crop random|pad|none] [--steps N | --epochs E] [--lr 0.05]
        [--schedule cosine|onecycle|constant] [--arch sarnet|conv6] [--width 16]
        [--subset-seed K --save-logits DIR]   # members of a seed ensemble (bench_ensemble.py --plain DIR)

``ce``: instance-balanced cross-entropy. ``crt``: the ``ce`` body frozen in eval mode, a fresh
linear head trained on class-balanced batches (Kang et al. 2020). ``three``: Li et al.'s
stages from the ``ce`` model: residual without class 0, class-balanced fine-tuning, cRT.
``la``: a second network trained from scratch (same seed, same steps) with the logit-adjusted
loss, ``logits + tau * log(prior)`` in training only (Menon et al. 2021, ``--la-tau`` 1).
``focal``: likewise with the focal loss (Lin et al. 2017, ``--focal-gamma`` 2). ``cutmix``:
likewise with CutMix (Yun et al. 2019: on a share ``--cutmix-prob`` of the batches, one box per
batch, area from Beta(1, 1), centre anywhere, labels weighted by the pasted area), then cRT as ``crt``; its line also
holds the CutMix body's own score (``body``).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from sartail.config import load_config
from sartail.data.splits import prepare_data
from sartail.eval.metrics import evaluate_logits
from sartail.models import Classifier, Head, ModelConfig, build_model

MSTAR = Path(os.environ.get("SARTAIL_MSTAR_ROOT", Path(__file__).resolve().parents[2] / "shared/data/mstar_soc10"))
#: Methods that train their own network from scratch rather than start from the ce body.
OWN_NETWORK = ("la", "focal", "cutmix")
PROFILES = {"exp100": {"data.profile": "exp", "data.ratio": 100}, "full": {}}


def conv6(width: int = 32) -> nn.Module:
    """The issue's control net: six 3x3 conv-BN-ReLU layers (w, w, 2w, 2w, 4w, 4w), pooled."""
    chans, layers, cin = [width, width, 2 * width, 2 * width, 4 * width, 4 * width], [], 1
    for i, c in enumerate(chans):
        layers += [nn.Conv2d(cin, c, 3, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU(inplace=True)]
        if i % 2 == 1:
            layers.append(nn.MaxPool2d(2))
        cin = c
    body = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())
    body.out_features = cin  # type: ignore[assignment]
    return body


def make_model(args, mean: float, std: float) -> Classifier:
    torch.manual_seed(args.seed)
    if args.arch == "conv6":
        body = conv6(args.width)
        return Classifier(body, Head(body.out_features, range(10)), mean=mean, std=std)
    return build_model(ModelConfig(arch=args.arch, width=args.width), 10, mean=mean, std=std)


def augment(x: torch.Tensor, args, g: torch.Generator) -> torch.Tensor:
    """Random crop of real pixels (or zero-padded shift), flip, and the optional SAR augmentations."""
    b, _, big, _ = x.shape
    s = args.size
    if args.crop == "pad":  # the kit's habit: centre crop, then a zero-padded shift of up to 4 px
        o = (big - s) // 2
        x = F.pad(x[:, :, o:o + s, o:o + s], (4, 4, 4, 4))
        big = s + 8
    if args.crop == "none":
        o = (big - s) // 2
        x = x[:, :, o:o + s, o:o + s]
    else:
        dy = torch.randint(0, big - s + 1, (b,), generator=g)
        dx = torch.randint(0, big - s + 1, (b,), generator=g)
        rows = (dy[:, None] + torch.arange(s))[:, :, None]  # one gather for the whole batch
        cols = (dx[:, None] + torch.arange(s))[:, None, :]
        x = x[torch.arange(b)[:, None, None], 0, rows, cols][:, None]
    flip = torch.rand(b, generator=g) < 0.5
    x = torch.where(flip[:, None, None, None], x.flip(-1), x)
    if args.rotate > 0:  # small rotations about the chip centre (bilinear, border pixels repeated)
        a = (torch.rand(b, generator=g) * 2 - 1) * math.radians(args.rotate)
        theta = torch.stack([torch.stack([a.cos(), -a.sin(), torch.zeros(b)], 1),
                             torch.stack([a.sin(), a.cos(), torch.zeros(b)], 1)], 1)
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        x = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
    if args.gamma > 0:  # intensity gamma in [1/(1+g), 1+g] on the 0..255 scale
        gam = torch.exp((torch.rand(b, generator=g) * 2 - 1) * math.log1p(args.gamma))
        x = 255.0 * (x.clamp_min(0) / 255.0) ** gam[:, None, None, None]
    if args.speckle > 0:  # multiplicative gamma speckle of `speckle` looks, unit mean
        k = args.speckle
        x = x * torch._standard_gamma(torch.full(x.shape, float(k))) / k
    if args.erase > 0:  # random erasing of one box (up to `erase` of the side) with probability 0.5
        for i in torch.nonzero(torch.rand(b, generator=g) < 0.5).reshape(-1).tolist():
            h = int(torch.randint(4, max(5, int(args.erase * s)) + 1, (1,), generator=g))
            y0, x0 = (int(v) for v in torch.randint(0, s - h + 1, (2,), generator=g))
            x[i, :, y0:y0 + h, x0:x0 + h] = 0
    return x


def centre(x: torch.Tensor, s: int) -> torch.Tensor:
    o = (x.shape[-1] - s) // 2
    return x[:, :, o:o + s, o:o + s]


def lr_at(step: int, total: int, base: float, schedule: str, warmup: int) -> float:
    if schedule == "constant":
        return base
    if schedule == "onecycle":  # linear up for 30 %, cosine down to base/1e4
        up = max(int(0.3 * total), 1)
        if step < up:
            return base / 25 + (base - base / 25) * step / up
        return base * 1e-4 + (base - base * 1e-4) * 0.5 * (1 + math.cos(math.pi * (step - up) / max(total - up, 1)))
    if step < warmup:
        return base * (step + 1) / warmup
    return base * 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(total - warmup, 1)))


def batches(labels: torch.Tensor, balanced: bool, steps: int, bs: int, g: torch.Generator):
    """`steps` batches of positions: shuffled epochs (instance) or class-uniform draws (balanced)."""
    by_class = [torch.nonzero(labels == c).reshape(-1) for c in range(int(labels.max()) + 1)]
    by_class = [p for p in by_class if p.numel()]
    order = torch.zeros(0, dtype=torch.int64)
    for _ in range(steps):
        if balanced:
            cls = torch.randint(0, len(by_class), (bs,), generator=g)
            yield torch.stack([by_class[c][torch.randint(0, by_class[c].numel(), (1,), generator=g)][0] for c in cls])
        else:
            while order.numel() < bs:
                order = torch.cat([order, torch.randperm(labels.numel(), generator=g)])
            yield order[:bs]
            order = order[bs:]


def focal(logits: torch.Tensor, y: torch.Tensor, gamma: float) -> torch.Tensor:
    """Mean focal loss ``-(1 - p_t)**gamma * log p_t``."""
    logp = F.log_softmax(logits, dim=1).gather(1, y[:, None]).squeeze(1)
    return (-((1 - logp.exp()) ** gamma) * logp).mean()


def criterion(logits: torch.Tensor, y: torch.Tensor, loss: str, gamma: float) -> torch.Tensor:
    """``focal`` or cross-entropy."""
    return focal(logits, y, gamma) if loss == "focal" else F.cross_entropy(logits, y)


def cutmix(x: torch.Tensor, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, float]:
    """Yun et al.'s CutMix of a batch with a shuffled copy: (mixed, permutation, own-label weight)."""
    b, _, h, w = x.shape
    lam = float(torch.rand(1, generator=g))  # Beta(1, 1) is uniform
    perm = torch.randperm(b, generator=g)
    cy, cx = (int(v) for v in (torch.rand(2, generator=g) * torch.tensor([h, w])).tolist())
    ch, cw = int(h * (1 - lam) ** 0.5), int(w * (1 - lam) ** 0.5)
    y0, y1, x0, x1 = max(cy - ch // 2, 0), min(cy + ch // 2, h), max(cx - cw // 2, 0), min(cx + cw // 2, w)
    x = x.clone()
    x[:, :, y0:y1, x0:x1] = x[perm][:, :, y0:y1, x0:x1]
    return x, perm, 1.0 - (y1 - y0) * (x1 - x0) / (h * w)


def train(model: Classifier, x: torch.Tensor, y: torch.Tensor, args, *, steps: int, lr: float, balanced: bool,
          head_only: bool = False, keep: list[int] | None = None, adjust: torch.Tensor | None = None,
          loss: str = "ce", mix: bool = False, tag: int = 0) -> None:
    """One stage. ``head_only``: body frozen in eval mode (BN statistics kept), a fresh head.
    ``keep``: train on these classes only (the other classes' head rows are restored after).
    ``adjust``: added to the logits in the loss only (logit adjustment). ``loss``: ``ce`` or
    ``focal``. ``mix``: CutMix a share ``args.cutmix_prob`` of the batches."""
    g = torch.Generator().manual_seed(args.seed * 1000 + tag)
    if keep is not None:
        sel = torch.isin(y, torch.tensor(keep))
        x, y = x[sel], y[sel]
        saved = model.head.weight.detach().clone(), model.head.bias.detach().clone()
    if head_only:
        torch.manual_seed(args.seed * 1000 + tag)
        model.head.reset_parameters()
    params = list(model.head.parameters()) if head_only else list(model.parameters())
    params = [p for p in params if p.requires_grad]
    wd = args.head_wd if head_only else args.wd
    opt = torch.optim.SGD(params, lr=lr, momentum=0.9, nesterov=True, weight_decay=wd)
    warm = 0 if head_only else int(args.warmup * steps)
    for step, pos in enumerate(batches(y, balanced, steps, args.batch, g)):
        model.train()
        if head_only:
            model.body.eval()
        for group in opt.param_groups:
            group["lr"] = lr_at(step, steps, lr, args.schedule, warm)
        xb = augment(x[pos].float(), args, g) if not (head_only and args.crt_no_aug) else centre(x[pos].float(), args.size)
        yb, lam, perm = y[pos], 1.0, None
        if mix and (args.cutmix_prob >= 1 or float(torch.rand(1, generator=g)) < args.cutmix_prob):
            xb, perm, lam = cutmix(xb, g)
        logits = model(xb)
        if keep is not None:  # the removed classes take no part (as a head without their rows)
            mask = torch.full((logits.shape[1],), float("-inf"))
            mask[keep] = 0
            logits = logits + mask
        if adjust is not None:
            logits = logits + adjust
        if perm is None:
            value = criterion(logits, yb, loss, args.focal_gamma)
        else:
            value = lam * criterion(logits, yb, loss, args.focal_gamma) + (1 - lam) * criterion(logits, yb[perm], loss, args.focal_gamma)
        opt.zero_grad(set_to_none=True)
        value.backward()
        opt.step()
    if keep is not None:
        with torch.no_grad():
            drop = [c for c in range(model.head.num_classes) if c not in keep]
            model.head.weight[drop], model.head.bias[drop] = saved[0][drop], saved[1][drop]


@torch.no_grad()
def logits_of(model: Classifier, chips, args) -> torch.Tensor:
    """The model's logits for every chip's centre crop, in order."""
    model.eval()
    x = centre(chips.pixels().float(), args.size)
    return torch.cat([model(x[i:i + 512]) for i in range(0, len(x), 512)])


def score(model: Classifier, chips, args, counts: list[int]) -> dict:
    m = evaluate_logits(logits_of(model, chips, args), chips.labels, chips.class_names, train_counts=counts)
    return {k: m[k] for k in ("balanced", "top1", "many_shot", "medium_shot", "few_shot")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--methods", default="ce,crt,three")
    ap.add_argument("--profile", default="exp100", choices=list(PROFILES))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--split-seed", type=int, default=0, help="seed of the stratified 25 %% test fold (bench_accuracy's data.split_seed)")
    ap.add_argument("--subset-seed", type=int, default=None,
                    help="draw the long-tailed subset with this seed, not --seed (data.subset_seed: seed ensembles)")
    ap.add_argument("--save-logits", default="", metavar="DIR",
                    help="also write each method's test logits to DIR/METHOD-subset-K-seed-S.pt (bench_ensemble.py --plain)")
    ap.add_argument("--load", type=int, default=88, help="centre region loaded (px)")
    ap.add_argument("--size", type=int, default=64, help="training / test input size (px)")
    ap.add_argument("--crop", default="random", choices=["random", "pad", "none"])
    ap.add_argument("--steps", type=int, default=0, help="optimizer steps of the ce stage (0: from --epochs)")
    ap.add_argument("--epochs", type=float, default=60)
    ap.add_argument("--crt-steps", type=int, default=0, help="steps of each later stage (0: 1/4 of ce's)")
    ap.add_argument("--residual-steps", type=int, default=0, help="three: steps of the residual stage (0: 2x --crt-steps)")
    ap.add_argument("--balanced-steps", type=int, default=0, help="three: steps of the balanced stage (0: --crt-steps)")
    ap.add_argument("--lr", type=float, default=0.05)
    ap.add_argument("--crt-lr", type=float, default=0.05)
    ap.add_argument("--schedule", default="cosine", choices=["cosine", "onecycle", "constant"])
    ap.add_argument("--warmup", type=float, default=0.03, help="warm-up fraction of the ce stage (cosine)")
    ap.add_argument("--wd", type=float, default=5e-4)
    ap.add_argument("--head-wd", type=float, default=5e-4)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--arch", default="sarnet", choices=["sarnet", "conv6", "resnet10"])
    ap.add_argument("--width", type=int, default=16)
    ap.add_argument("--rotate", type=float, default=0.0, help="max rotation in degrees")
    ap.add_argument("--erase", type=float, default=0.0, help="random erasing, max box side as a fraction")
    ap.add_argument("--gamma", type=float, default=0.0, help="intensity gamma range")
    ap.add_argument("--speckle", type=float, default=0.0, help="speckle looks (0 off)")
    ap.add_argument("--la-tau", type=float, default=1.0, help="la: tau of the logit adjustment")
    ap.add_argument("--focal-gamma", type=float, default=2.0, help="focal: gamma")
    ap.add_argument("--cutmix-prob", type=float, default=0.5,
                    help="cutmix: share of batches mixed (0.5, the kit recipe's; phase 6's plain rows used 1)")
    ap.add_argument("--crt-no-aug", action="store_true", help="no augmentation in head-only stages")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default="", help="append the JSON lines to this file too")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    over = {"data.train": f"mstar:{MSTAR}", "data.size": args.load, "data.split_seed": args.split_seed,
            "data.test_fraction": 0.25, "seed": args.seed, "data.subset_seed": args.subset_seed, **PROFILES[args.profile]}
    data = prepare_data(load_config("ce", over), progress=False)
    x, y = data.train.pixels(), data.train.labels
    counts = data.train.class_counts().tolist()
    px = centre(x.float(), args.size)
    model = make_model(args, float(px.mean()), float(px.std()))
    steps = args.steps or math.ceil(args.epochs * len(y) / args.batch)
    later = args.crt_steps or max(steps // 4, 1)
    t0 = time.perf_counter()
    methods = args.methods.split(",")
    unknown = [m for m in methods if m not in ("ce", "crt", "three") + OWN_NETWORK]
    if unknown:
        raise SystemExit(f"unknown method {unknown[0]!r}; use ce, crt, three, la, focal, cutmix")
    body: dict | None = None
    if any(m not in OWN_NETWORK for m in methods):
        train(model, x, y, args, steps=steps, lr=args.lr, balanced=False, tag=1)
        body = {k: v.clone() for k, v in model.state_dict().items()}
    subset = args.seed if args.subset_seed is None else args.subset_seed
    common = {"profile": args.profile, "seed": args.seed, "subset_seed": subset, "train_counts": counts, "steps": steps, "later_steps": later,
              "args": {k: v for k, v in vars(args).items() if k not in ("out", "methods", "seed", "profile")}}

    def report(method: str, extra: dict | None = None) -> None:
        line = {"method": method, **common, "test": score(model, data.test, args, counts),
                "val": score(model, data.val, args, counts), "seconds": round(time.perf_counter() - t0, 1), **(extra or {})}
        print(json.dumps(line), flush=True)
        if args.save_logits:
            Path(args.save_logits).mkdir(parents=True, exist_ok=True)
            torch.save({"logits": logits_of(model, data.test, args), "labels": data.test.labels, "method": method,
                        "seed": args.seed, "subset_seed": subset, "class_names": list(data.test.class_names)},
                       Path(args.save_logits) / f"{method}-subset-{subset}-seed-{args.seed}.pt")
        if args.out:
            with open(args.out, "a") as f:
                f.write(json.dumps(line) + "\n")

    for method in methods:
        if method in OWN_NETWORK:  # its own network from the same initialisation and steps as ce
            model = make_model(args, float(px.mean()), float(px.std()))
            prior = torch.tensor(counts, dtype=torch.float32).clamp_min(1) / sum(counts)
            train(model, x, y, args, steps=steps, lr=args.lr, balanced=False, tag=1,
                  adjust=args.la_tau * prior.log() if method == "la" else None,
                  loss="focal" if method == "focal" else "ce", mix=method == "cutmix")
            if method == "cutmix":  # then cRT on the CutMix body
                extra = {"body": score(model, data.test, args, counts)}
                train(model, x, y, args, steps=later, lr=args.crt_lr, balanced=True, head_only=True, tag=2)
                report(method, extra)
            else:
                report(method)
            continue
        assert body is not None
        model.load_state_dict(body)
        if method == "crt":
            train(model, x, y, args, steps=later, lr=args.crt_lr, balanced=True, head_only=True, tag=2)
        elif method == "three":
            train(model, x, y, args, steps=args.residual_steps or later * 2, lr=0.4 * args.lr, balanced=False,
                  keep=list(range(1, 10)), tag=3)
            train(model, x, y, args, steps=args.balanced_steps or later, lr=0.2 * args.lr, balanced=True, tag=4)
            train(model, x, y, args, steps=later, lr=args.crt_lr, balanced=True, head_only=True, tag=5)
        report(method)


if __name__ == "__main__":
    main()
