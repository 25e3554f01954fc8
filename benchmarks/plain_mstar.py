"""A plain PyTorch pipeline on the MSTAR 17-degree chips: the reference a protocol must rank correctly.

Its own loop, nothing of sartail's training code (sartail only reads the chips). The pipeline
is the plain script that scores 96.1 % (two seeds) on the standard 15-degree test:

- network ``cnn6``: six 3x3 conv-BN-ReLU layers of width 32, 32, 64, 64, 128, 128 (the first
  with stride 2, max-pool after the 2nd and 4th), global average pool, linear head; or
  ``sarnet``: a 3x3 stem at full resolution, then four stages of a stride-2 3x3 conv and a
  3x3 conv (widths 16, 16, 32, 64, 128), global average pool, linear head;
- chips centre-cropped to 88 px; training on one random 64 px crop offset per batch plus
  per-chip horizontal flips; testing on the centre 64 px; input ``(x / 255 - 0.09) / 0.09``;
- SGD (Nesterov 0.9, weight decay 5e-4), one-cycle lr 0.05 (15 % warm-up), batch 64, 60 epochs.

Folds (``--fold``): ``random`` is the kit's stratified 25 % test fold (split seed 0, the same
chips as ``sartail run ce --data mstar:...``); ``sector`` holds out contiguous runs of file
numbers (neighbouring azimuths), ``--sectors`` blocks per class dealt to ``--folds`` folds,
test fold ``--test-fold`` (benchmarks/history/2026-12-08-protocol-calibration.md); ``aspect``
is the kit's ``data.split: aspect`` (arcs of each class's aspect circle, placed by the rank
within a sweep of the file order; 3 arcs per fold, ``--sectors`` unused;
benchmarks/history/2026-12-08-protocol-calibration-aspect.md).

    python benchmarks/plain_mstar.py --net cnn6 --fold sector --seed 0 --out results.jsonl

Appends one JSON line (top-1, balanced accuracy, per-class recall, settings) to ``--out``.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from sartail.data.folds import aspect_folds
from sartail.data.longtail import stratified_split
from sartail.data.sources import load_mstar

_ROOT = Path(os.environ.get("SARTAIL_MSTAR_ROOT", Path(__file__).resolve().parents[2] / "shared/data/mstar_soc10"))
#: The class folders of the 17-degree chips (``$SARTAIL_MSTAR_ROOT/train``, as benchmarks/plain_loop.py).
MSTAR = _ROOT / "train" if (_ROOT / "train").is_dir() else _ROOT


def conv_bn(cin: int, cout: int, stride: int = 1) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


def make_net(name: str, classes: int) -> nn.Sequential:
    """``cnn6`` or ``sarnet`` (see the module docstring), pooled, with a linear head."""
    if name == "cnn6":
        layers = conv_bn(1, 32, 2) + conv_bn(32, 32) + [nn.MaxPool2d(2)] + conv_bn(32, 64) + conv_bn(64, 64)
        layers += [nn.MaxPool2d(2)] + conv_bn(64, 128) + conv_bn(128, 128)
    else:
        widths, layers = [16, 16, 32, 64, 128], conv_bn(1, 16)
        for cin, cout in zip(widths, widths[1:]):
            layers += conv_bn(cin, cout, 2) + conv_bn(cout, cout)
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(128, classes))


def file_number(chip_id: str) -> int:
    """The integer in a chip's file name (``2S1/hb19377.jpeg`` -> 19377)."""
    digits = re.findall(r"\d+", Path(chip_id).stem)
    return int(digits[-1]) if digits else -1


def sector_folds(labels: np.ndarray, ids: list[str], class_names: list[str], n_sectors: int, n_folds: int,
                 seed: int) -> np.ndarray:
    """The fold of every chip: contiguous file-number blocks per class, dealt to folds by a seeded permutation."""
    rng, fold = np.random.default_rng(seed), np.full(len(labels), -1)
    for c in sorted(range(len(class_names)), key=lambda k: class_names[k]):
        pos = [p for p in np.flatnonzero(labels == c)]
        pos.sort(key=lambda p: (file_number(ids[p]), Path(ids[p]).name))
        perm = rng.permutation(n_sectors)  # perm[p] is the block at permuted position p
        block_fold = np.empty(n_sectors, dtype=int)
        block_fold[perm] = np.arange(n_sectors) % n_folds
        for r, p in enumerate(pos):
            fold[p] = block_fold[r * n_sectors // len(pos)]
    return fold


def split(args) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, list[str]]:
    chips = load_mstar(MSTAR, size=88, progress=False)
    if args.limit:  # a handful of chips per class (smoke tests)
        chips = chips.take(torch.cat([torch.nonzero(chips.labels == c).reshape(-1)[:args.limit]
                                      for c in range(chips.num_classes)]))
    if args.fold == "random":
        train, test = stratified_split(chips, 0.25, seed=args.split_seed)
    elif args.fold == "aspect":  # the kit's rule on the centre 64 px it measures similarity on
        small = load_mstar(MSTAR, size=64, progress=False)
        where = dict(zip(small.chip_ids, aspect_folds(small, args.folds, args.split_seed).tolist()))
        test_mask = torch.as_tensor([where[i] == args.test_fold for i in chips.chip_ids])
        train, test = chips.take(~test_mask), chips.take(test_mask)
    else:
        fold = sector_folds(chips.labels.numpy(), chips.chip_ids, list(chips.class_names), args.sectors,
                            args.folds, args.split_seed)
        test_mask = torch.as_tensor(fold == args.test_fold)
        train, test = chips.take(~test_mask), chips.take(test_mask)
    return (train.pixels().float(), train.labels, test.pixels().float()[..., 12:76, 12:76], test.labels,
            list(chips.class_names))


def norm(x: torch.Tensor) -> torch.Tensor:
    return (x / 255 - 0.09) / 0.09


def train(args, x: torch.Tensor, y: torch.Tensor, classes: int) -> nn.Module:
    torch.manual_seed(args.seed)
    net = make_net(args.net, classes)
    opt = torch.optim.SGD(net.parameters(), lr=args.lr, momentum=0.9, nesterov=True, weight_decay=5e-4)
    steps_per_epoch = (len(y) + args.batch - 1) // args.batch
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=args.epochs * steps_per_epoch,
                                                pct_start=0.15, cycle_momentum=False)
    g = torch.Generator().manual_seed(args.seed)
    net.train()
    for epoch in range(args.epochs):
        order, seen, total = torch.randperm(len(y), generator=g), 0, 0.0
        for i in range(steps_per_epoch):
            idx = order[i * args.batch:(i + 1) * args.batch]
            oy, ox = (int(v) for v in torch.randint(0, 88 - 64 + 1, (2,), generator=g))  # one offset per batch
            xb = x[idx, :, oy:oy + 64, ox:ox + 64]
            flip = torch.rand(len(idx), generator=g) < 0.5
            xb = torch.where(flip[:, None, None, None], xb.flip(-1), xb)
            if len(idx) > 1:  # BatchNorm needs two chips
                loss = F.cross_entropy(net(norm(xb)), y[idx])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                total, seen = total + float(loss.detach()) * len(idx), seen + len(idx)
            sched.step()
        if args.verbose:
            print(f"epoch {epoch + 1}/{args.epochs} loss {total / max(seen, 1):.4f}", flush=True)
    return net


@torch.no_grad()
def score(net: nn.Module, x: torch.Tensor, y: torch.Tensor, names: list[str]) -> dict:
    net.eval()
    pred = torch.cat([net(norm(x[i:i + 256])).argmax(1) for i in range(0, len(y), 256)])
    recall = {n: float((pred[y == c] == c).float().mean()) * 100 for c, n in enumerate(names) if (y == c).any()}
    return {"top1": float((pred == y).float().mean()) * 100, "balanced": float(np.mean(list(recall.values()))),
            "per_class": recall}


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--net", choices=("cnn6", "sarnet"), default="cnn6")
    p.add_argument("--fold", choices=("random", "sector", "aspect"), default="sector")
    p.add_argument("--sectors", type=int, default=12, help="sector blocks per class (default 12)")
    p.add_argument("--folds", type=int, default=4, help="folds the sectors are dealt to (default 4)")
    p.add_argument("--test-fold", type=int, default=0)
    p.add_argument("--split-seed", type=int, default=0, help="seed of the fold (fixed across run seeds)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epochs", type=int, default=60)
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--limit", type=int, default=0, help="use only the first N chips of each class (0: all)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--verbose", action="store_true", help="print the loss of every epoch")
    p.add_argument("--out", type=Path, required=True, help="JSON-lines file the result is appended to")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    start = time.time()
    x, y, xt, yt, names = split(args)
    result = score(train(args, x, y, len(names)), xt, yt, names)
    result = {"pipeline": f"plain-{args.net}", "fold": args.fold, "sectors": args.sectors, "folds": args.folds,
              "test_fold": args.test_fold, "split_seed": args.split_seed, "seed": args.seed, "epochs": args.epochs,
              "n_train": len(y), "n_test": len(yt), **result, "seconds": round(time.time() - start, 1)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("a") as f:
        f.write(json.dumps(result) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "per_class"}))
    return result


if __name__ == "__main__":
    main()
