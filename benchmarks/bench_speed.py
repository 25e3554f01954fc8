"""Training throughput of sartail's loop against a plain hand-written PyTorch loop.

Both train the same model (SARNet) on the same in-memory uint8 chips, with the same batch
size, optimizer, augmentation (random crop and flip, batched) and memory format; runs
alternate (kit, plain, kit, plain, ...) and the best epoch time of each is compared. Then the
demo (`sartail demo`) is timed end to end in a subprocess.

    python benchmarks/bench_speed.py [--chips 6000] [--epochs 3] [--repeats 3] [--width 16] [--skip-demo]
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from sartail.config import load_config
from sartail.data import make_synthetic
from sartail.data.augment import AugmentConfig, augment_batch
from sartail.models import ModelConfig, build_model
from sartail.train.loop import Context, fit_stage
from sartail.train.samplers import plan_batches


def plain_epoch_times(chips, width: int, epochs: int, batch: int, lr: float, device: torch.device) -> list[float]:
    """What a researcher writes by hand: shuffle, gather, augment, forward, backward, step."""
    torch.manual_seed(0)
    model = build_model(ModelConfig(width=width), chips.num_classes).to(device).to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=5e-4)
    images, labels = chips.pixels().to(device), chips.labels.to(device)
    aug = AugmentConfig(crop=4, flip=True)
    g = torch.Generator().manual_seed(0)
    times = []
    model.train()
    for _ in range(epochs):
        t0 = time.perf_counter()
        for idx in plan_batches(torch.randperm(len(chips), generator=g), batch):
            idx = idx.to(device)
            x = augment_batch(images[idx].float(), aug, g).contiguous(memory_format=torch.channels_last)
            loss = F.cross_entropy(model(x), labels[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    return times


class EpochTimer:
    """Collects the kit's per-epoch wall times (training only: no validation is given)."""

    def __init__(self) -> None:
        self.times: list[float] = []

    def __call__(self, record: dict) -> None:
        self.times.append(record["seconds"])


def kit_epoch_times(chips, width: int, epochs: int, batch: int, lr: float, device: torch.device,
                    progress: bool) -> list[float]:
    torch.manual_seed(0)
    model = build_model(ModelConfig(width=width), chips.num_classes)
    stage = load_config("ce", {"stages.rough.epochs": epochs, "stages.rough.optimizer.lr": lr,
                               "stages.rough.schedule.warmup_epochs": 0}).stage("rough")
    timer = EpochTimer()
    ctx = Context(device=device, batch_size=batch, progress=progress, timing=timer)
    fit_stage(model, stage, chips, None, ctx)
    return timer.times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--chips", type=int, default=6000)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--width", type=int, default=16)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--skip-demo", action="store_true")
    args = ap.parse_args()
    device = torch.device(args.device)
    per_class = args.chips // 10
    chips, _ = make_synthetic(counts=[per_class] * 10, test_per_class=1, progress=False)
    print(f"device {device}, torch {torch.__version__}, {torch.get_num_threads()} threads; {len(chips)} chips "
          f"56x56, SARNet width {args.width}, batch {args.batch}, {args.epochs} epochs x {args.repeats} repeats\n")
    kit, kit_bar, plain = [], [], []
    for _ in range(args.repeats):
        plain += plain_epoch_times(chips, args.width, args.epochs, args.batch, 0.05, device)[1:]
        kit += kit_epoch_times(chips, args.width, args.epochs, args.batch, 0.05, device, progress=False)[1:]
        kit_bar += kit_epoch_times(chips, args.width, args.epochs, args.batch, 0.05, device, progress=True)[1:]
    rows = [("plain PyTorch loop", plain), ("sartail fit_stage", kit), ("sartail fit_stage + progress bar", kit_bar)]
    best_plain = min(plain)
    print(f"{'loop':36s} {'best epoch s':>12s} {'median s':>9s} {'chips/s':>8s} {'vs plain':>8s}")
    for name, t in rows:
        print(f"{name:36s} {min(t):12.3f} {statistics.median(t):9.3f} {len(chips) / min(t):8.0f} "
              f"{best_plain / min(t):8.3f}")
    ratio = best_plain / min(kit)
    print(f"\nthroughput ratio kit / plain (best epochs, first epoch of each run excluded): {ratio:.3f} "
          f"(goal >= 0.95: {'met' if ratio >= 0.95 else 'NOT met'})")
    if not args.skip_demo:
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            proc = subprocess.run([sys.executable, "-m", "sartail", "demo", "--out", str(Path(tmp) / "demo"), "--quiet",
                                   "--device", args.device], capture_output=True, text=True,
                                  env={**os.environ, "SARTAIL_CACHE_DIR": tmp})
            wall = time.perf_counter() - t0
        if proc.returncode:
            print(proc.stderr[-2000:])
            raise SystemExit("the demo failed")
        print(f"\n`sartail demo` wall time: {wall:.0f} s (goal < 180 s on 2 CPU cores)")


if __name__ == "__main__":
    main()
