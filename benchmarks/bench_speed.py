"""Training throughput of sartail's loop against a plain hand-written PyTorch loop.

Both train the same model (SARNet) on the same in-memory uint8 chips, with the same batch
size, optimizer, augmentation (random crop and flip, batched) and memory format; runs
alternate (kit, plain, kit, plain, ...) and the best epoch time of each is compared. Then the
demo (`sartail demo`) is timed end to end in a subprocess.

    python benchmarks/bench_speed.py [--chips 6000] [--epochs 3] [--repeats 3] [--width 16] [--skip-demo]
                                     [--ema-max-norm] [--no-bar]
    python benchmarks/bench_speed.py --formats [--widths 8,16] [--device cpu]

``--formats`` times one training step (forward, backward, SGD step) of SARNet in both memory
formats, for each width and for 1 thread and torch's default thread count, and prints which
one ``channels_last: auto`` picks (:func:`sartail.models.channels_last_for`); then one
BatchNorm layer's forward and backward alone, per channel count, in both formats.
``--ema-max-norm`` adds the kit's loop with an average of the weights (``ema: 0.999``) and a
MaxNorm cap on the head (``max_norm.thresh: 0.1``) on, and its ratio to the plain loop;
``--no-bar`` leaves out the run with a progress bar.
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
from sartail.models import ModelConfig, build_model, channels_last_for
from sartail.train.loop import Context, fit_stage
from sartail.train.samplers import plan_batches


def plain_epoch_times(chips, width: int, epochs: int, batch: int, lr: float, device: torch.device) -> list[float]:
    """What a researcher writes by hand: shuffle, gather, augment, forward, backward, step."""
    torch.manual_seed(0)
    model = build_model(ModelConfig(width=width), chips.num_classes).to(device)
    fmt = torch.channels_last if channels_last_for(model, device) else torch.contiguous_format  # as the kit's loop
    model.to(memory_format=fmt)
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
            x = augment_batch(images[idx].float(), aug, g).contiguous(memory_format=fmt)
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


#: The stage settings of ``--ema-max-norm``: an average of the weights and a MaxNorm cap on the head.
EMA_MAX_NORM = {"stages.rough.ema": 0.999, "stages.rough.max_norm.thresh": 0.1}


def kit_epoch_times(chips, width: int, epochs: int, batch: int, lr: float, device: torch.device,
                    progress: bool, extra: dict | None = None) -> list[float]:
    torch.manual_seed(0)
    model = build_model(ModelConfig(width=width), chips.num_classes)
    stage = load_config("ce", {"stages.rough.epochs": epochs, "stages.rough.optimizer.lr": lr,
                               "stages.rough.schedule.warmup_epochs": 0, **(extra or {})}).stage("rough")
    timer = EpochTimer()
    ctx = Context(device=device, batch_size=batch, progress=progress, timing=timer)
    fit_stage(model, stage, chips, None, ctx)
    return timer.times


def step_ms(width: int, channels_last: bool, device: torch.device, batch: int = 128, size: int = 56,
            steps: int = 8) -> float:
    """Best wall time (ms) of one SGD training step of SARNet(``width``) on random chips."""
    torch.manual_seed(0)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    model = build_model(ModelConfig(width=width), 10).to(device).to(memory_format=fmt)
    x = (torch.rand(batch, 1, size, size, device=device) * 255).contiguous(memory_format=fmt)
    y = torch.randint(0, 10, (batch,), device=device)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    times = []
    for i in range(steps + 2):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
        opt.step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        if i >= 2:
            times.append(time.perf_counter() - t0)
    return 1000 * min(times)


def batchnorm_ms(channels: int, channels_last: bool, batch: int = 128, size: int = 56, steps: int = 10) -> float:
    """Best wall time (ms) of one BatchNorm2d forward + backward on a random ``[batch, channels, size, size]``."""
    torch.manual_seed(0)
    bn = torch.nn.BatchNorm2d(channels)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    x = torch.randn(batch, channels, size, size).contiguous(memory_format=fmt).requires_grad_()
    grad = torch.randn_like(x)
    times = []
    for i in range(steps + 2):
        t0 = time.perf_counter()
        bn(x).backward(grad)
        if i >= 2:
            times.append(time.perf_counter() - t0)
    return 1000 * min(times)


def format_table(widths: list[int], device: torch.device, batch: int) -> None:
    """Step times in both memory formats, per width and thread count, and what ``auto`` picks."""
    default = torch.get_num_threads()
    print(f"{'width':>5s} {'threads':>7s} {'channels-last ms':>16s} {'default ms':>10s} {'default / cl':>12s}  auto picks")
    for threads in sorted({1, default}):
        torch.set_num_threads(threads)
        for w in widths:
            cl, nchw = step_ms(w, True, device, batch), step_ms(w, False, device, batch)
            pick = "channels-last" if channels_last_for(build_model(ModelConfig(width=w), 10), device) else "default"
            faster = "channels-last" if cl < nchw else "default"
            print(f"{w:5d} {threads:7d} {cl:16.1f} {nchw:10.1f} {nchw / cl:12.2f}  {pick}"
                  f"{'' if pick == faster else '  (the other is faster here)'}")
    print(f"\none BatchNorm2d, forward + backward, [{batch}, C, 56, 56] on the CPU, ms (channels-last / default)")
    for threads in sorted({1, default}):
        torch.set_num_threads(threads)
        cells = [f"C={c}: {batchnorm_ms(c, True, batch):5.1f} / {batchnorm_ms(c, False, batch):5.1f}" for c in (8, 16, 32)]
        print(f"threads {threads}:  " + "   ".join(cells))
    torch.set_num_threads(default)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--chips", type=int, default=6000)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--width", type=int, default=16)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--skip-demo", action="store_true")
    ap.add_argument("--ema-max-norm", action="store_true", help="also time the kit's loop with EMA and MaxNorm on")
    ap.add_argument("--no-bar", action="store_true", help="leave out the kit's run with a progress bar")
    ap.add_argument("--formats", action="store_true", help="only: step times in both memory formats (see above)")
    ap.add_argument("--widths", default="8,16", help="--formats: SARNet widths")
    args = ap.parse_args()
    device = torch.device(args.device)
    if args.formats:
        print(f"device {device}, torch {torch.__version__} ({torch.backends.cpu.get_cpu_capability()}), batch "
              f"{args.batch}, 56 x 56 chips; best of 8 steps\n")
        format_table([int(w) for w in args.widths.split(",")], device, args.batch)
        return
    per_class = args.chips // 10
    chips, _ = make_synthetic(counts=[per_class] * 10, test_per_class=1, progress=False)
    print(f"device {device}, torch {torch.__version__}, {torch.get_num_threads()} threads; {len(chips)} chips "
          f"56x56, SARNet width {args.width}, batch {args.batch}, {args.epochs} epochs x {args.repeats} repeats\n")
    kit, kit_bar, kit_ema, plain = [], [], [], []
    for _ in range(args.repeats):
        plain += plain_epoch_times(chips, args.width, args.epochs, args.batch, 0.05, device)[1:]
        kit += kit_epoch_times(chips, args.width, args.epochs, args.batch, 0.05, device, progress=False)[1:]
        if not args.no_bar:
            kit_bar += kit_epoch_times(chips, args.width, args.epochs, args.batch, 0.05, device, progress=True)[1:]
        if args.ema_max_norm:
            kit_ema += kit_epoch_times(chips, args.width, args.epochs, args.batch, 0.05, device, progress=False,
                                       extra=EMA_MAX_NORM)[1:]
    rows = [("plain PyTorch loop", plain), ("sartail fit_stage", kit), ("sartail fit_stage + progress bar", kit_bar),
            ("sartail fit_stage + EMA + MaxNorm", kit_ema)]
    rows = [(name, t) for name, t in rows if t]
    best_plain = min(plain)
    print(f"{'loop':36s} {'best epoch s':>12s} {'median s':>9s} {'chips/s':>8s} {'vs plain':>8s}")
    for name, t in rows:
        print(f"{name:36s} {min(t):12.3f} {statistics.median(t):9.3f} {len(chips) / min(t):8.0f} "
              f"{best_plain / min(t):8.3f}")
    ratio = best_plain / min(kit)
    print(f"\nthroughput ratio kit / plain (best epochs, first epoch of each run excluded): {ratio:.3f} "
          f"(goal >= 0.95: {'met' if ratio >= 0.95 else 'NOT met'})")
    if kit_ema:
        ratio = best_plain / min(kit_ema)
        print(f"throughput ratio kit with EMA + MaxNorm / plain: {ratio:.3f} "
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
        print(f"\n`sartail demo` wall time: {wall:.0f} s (goal < 60 s on 2 CPU cores)")


if __name__ == "__main__":
    main()
