"""Which self-supervised method pre-trains the kit's body best on MSTAR-LT: a plain stand-alone loop.

Data (real MSTAR 17-degree chips, ../shared/data/mstar_soc10 or $SARTAIL_MSTAR_ROOT), loaded at
``--load`` px (centre) so that views are crops of real pixels:

- test fold: held-out aspect sectors (the sector rule shared with the protocol's splits: per
  class, chips sorted by file number, 12 contiguous blocks, blocks permuted with ``default_rng(--split-seed)``,
  block at position p to fold p % 4; fold 0 is the test fold), about 25 % of every class;
- MSTAR-LT exp100: a long-tailed subset (exponential, ratio 100) of the rest, drawn with the
  seed; 10 % of it split off for validation (unused here, but excluded from the pool);
- unlabelled pool: every other chip of the rest (:func:`sartail.data.unlabelled.protocol_pool`),
  labels dropped. Pre-training sees the LT subset and the pool, labels unused.

Each method trains the kit's default network body (``sartail.models.build_model`` at the default
``ModelConfig``) for ``--steps`` steps of ``--batch`` chips, SGD (momentum 0.9, weight decay 5e-4,
cosine lr from ``--lr``), two views per chip (``sartail.data.views``, default view):

- ``none``: no training (the random-init body: the "before" row);
- ``simsiam`` / ``simclr`` / ``rotation``: self-supervised on LT subset + pool;
- ``ce``: supervised cross-entropy on the LT subset only (one view), the same steps: a reference;
- ``simsiam+ce`` / ``rotation+ce``: the self-supervised steps, then ``ce`` for ``--steps`` more from
  that body (run ``--methods ce --steps 2N`` for the equal-budget control, reported as ``ce@2N``).

Read-out of the frozen body (``sartail.eval.probe``): the LT training chips' pooled features
(centre crop) fit k-NN (cosine, k = 1 and 5) and a linear probe; scored on the test fold,
balanced and many / medium / few-shot (ShotGroups defaults on the LT counts); methods ending in
``ce`` also report their classifier's own test accuracy (``classifier``). One JSON line per
method to stdout and ``--out``:

    python benchmarks/plain_pretrain.py --methods none,simsiam,rotation,ce --seed 0 --steps 600 \
        [--batch 128 --lr 0.05 --load 80 --size 64] [--out FILE.jsonl]
"""
from __future__ import annotations

import argparse
import json
import math
import os
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from sartail.config import ModelConfig
from sartail.data.longtail import long_tailed, stratified_split
from sartail.data.sources import load_mstar
from sartail.data.unlabelled import protocol_pool
from sartail.data.views import DEFAULT_VIEW, make_view, two_views
from sartail.eval.features import extract_features
from sartail.eval.probe import readout
from sartail.models import build_model
from sartail.ssl_heads import build_ssl_heads
from sartail.train.ssl_losses import pretrain_step

MSTAR = Path(os.environ.get("SARTAIL_MSTAR_ROOT", Path(__file__).resolve().parents[2] / "shared/data/mstar_soc10"))


def sector_folds(chips, n_sectors: int = 12, n_folds: int = 4, seed: int = 0) -> torch.Tensor:
    """The fold of every chip of ``chips`` by the sector rule (see the module docstring)."""
    fold = torch.empty(len(chips), dtype=torch.int64)
    ids = chips.chip_ids
    rng = np.random.default_rng(seed)
    for c in sorted(range(chips.num_classes), key=lambda c: chips.class_names[c]):
        pos = torch.nonzero(chips.labels == c).reshape(-1).tolist()
        name = [ids[p].rpartition("/")[2] for p in pos]
        num = [int("".join(ch for ch in n if ch.isdigit()) or 0) for n in name]
        order = sorted(range(len(pos)), key=lambda i: (num[i], name[i]))
        perm = rng.permutation(n_sectors)
        position = {int(b): p for p, b in enumerate(perm)}
        for r, i in enumerate(order):
            fold[pos[i]] = position[r * n_sectors // len(pos)] % n_folds
    return fold


def load(args):
    full = load_mstar(args.mstar, size=args.load, progress=False)
    fold = sector_folds(full, seed=args.split_seed)
    test, rest = full.take(fold == 0), full.take(fold != 0)
    lt = long_tailed(rest, "exp", 100, seed=args.seed)
    train, val = stratified_split(lt, 0.1, seed=args.seed)
    pool = protocol_pool(full, [train, val, test])
    return train, val, test, pool


def body_readout(model, train, test, size: int) -> dict:
    tr, te = train.center_crop(size), test.center_crop(size)
    ftr, fte = extract_features(model, tr), extract_features(model, te)
    out = {}
    for name, kw in (("knn1", {"method": "knn", "k": 1}), ("knn5", {"method": "knn", "k": 5}),
                     ("linear", {"method": "linear"})):
        r = readout(ftr, tr.labels, fte, te.labels, tr.class_names, **kw)
        out[name] = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in r.items() if k != "per_class"}
    return out


@torch.no_grad()
def classifier_scores(model, train, test, size: int) -> dict:
    """The trained classifier's own balanced and shot-group accuracy on the test fold (centre crop)."""
    from sartail.eval.metrics import confusion_matrix, summarize

    model.eval()
    te = test.center_crop(size)
    pred = model(te.pixels().float()).argmax(1)
    out = summarize(confusion_matrix(te.labels, pred, te.num_classes), te.class_names,
                    train_counts=train.class_counts().tolist())
    return {k: round(out[k], 4) for k in ("top1", "balanced", "many_shot", "medium_shot", "few_shot")}


def train_method(method: str, model, ssl_x: torch.Tensor, train, args) -> tuple[int, float]:
    if method == "none":
        return 0, 0.0
    if method.endswith("+ce"):  # pre-train, then ce from that body with a fresh optimizer
        s1, t1 = train_method(method[:-3], model, ssl_x, train, args)
        s2, t2 = train_method("ce", model, ssl_x, train, args)
        return s1 + s2, t1 + t2
    g = torch.Generator().manual_seed(args.seed)
    heads = build_ssl_heads(method, model.body.out_features) if method != "ce" else None
    params = list(model.parameters()) + (list(heads.parameters()) if heads is not None else [])
    opt = torch.optim.SGD(params, lr=args.lr, momentum=0.9, weight_decay=5e-4)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * s / args.steps)))
    data_x = train.pixels().float() if method == "ce" else ssl_x
    data_y = train.labels
    model.train()
    if heads is not None:
        heads.train()
    t0, step, order = time.perf_counter(), 0, torch.empty(0, dtype=torch.int64)
    while step < args.steps:
        if order.numel() < args.batch:
            order = torch.cat([order, torch.randperm(data_x.shape[0], generator=g)])
        idx, order = order[: args.batch], order[args.batch:]
        x = data_x[idx]
        if method == "ce":
            loss = F.cross_entropy(model(make_view(x, DEFAULT_VIEW, g, size=args.size)), data_y[idx])
        else:
            a, b = two_views(x, DEFAULT_VIEW, g, size=args.size)
            loss = pretrain_step(model, heads, a, b)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        step += 1
        if step % 100 == 0:
            print(f"# {method} seed {args.seed} step {step} loss {float(loss):.4f} {time.perf_counter() - t0:.0f}s",
                  flush=True)
    return step, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--methods", default="none,simsiam,rotation,ce")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--split-seed", type=int, default=0)
    ap.add_argument("--steps", type=int, default=600)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=0.05)
    ap.add_argument("--load", type=int, default=80)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--mstar", default=str(MSTAR))
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    train, val, test, pool = load(args)
    ssl_x = torch.cat([train.pixels(), pool.pixels()]).float()
    mean, std = float(ssl_x.mean()), float(ssl_x.std())
    print(f"# train {train.class_counts().tolist()} val {len(val)} test {test.class_counts().tolist()} "
          f"pool {len(pool)}", flush=True)
    for method in args.methods.split(","):
        torch.manual_seed(args.seed)
        model = build_model(ModelConfig(), train.num_classes, mean=mean, std=std)
        steps, seconds = train_method(method, model, ssl_x, train, args)
        label = f"ce@{args.steps}" if method == "ce" and args.steps != 300 else method
        row = {"method": label, "seed": args.seed, "steps": steps, "batch": args.batch, "seconds": round(seconds, 1),
               "lt_train": len(train), "pool": len(pool), "test": len(test),
               **body_readout(model, train, test, args.size)}
        if method == "ce" or method.endswith("+ce"):
            row["classifier"] = classifier_scores(model, train, test, args.size)
        print(json.dumps(row), flush=True)
        if args.out:
            with open(args.out, "a") as f:
                f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
