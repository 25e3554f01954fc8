"""Data-layer benchmark: reading chips through sartail versus torchvision, the decode cache, and
building the MAVOC-sized synthetic set.

Measured side by side in one run:

1. First (cold: empty cache folder) and cached load of the real MSTAR training chips (2,746
   JPEGs, 128-193 px, centre-cropped to 64 x 64) and of the 826 real MAVOC test chips.
2. Time per epoch over MSTAR: the kit (chips decoded once, then every epoch gathers batches of
   128 from the in-memory uint8 tensor, as float, with a batched random crop (padding 4) and
   flip from ``sartail.data.augment``) against torchvision's ``ImageFolder`` with PIL
   transforms (greyscale loader, CenterCrop(64), RandomCrop(64, padding=4),
   RandomHorizontalFlip, ToTensor) and a ``DataLoader(batch_size=128, shuffle=True)`` with
   ``num_workers`` 0 and 2 (default settings: the workers start again every epoch).
3. A synthetic MAVOC-sized training set (293,772 chips of 56 x 56, MAVOC's class counts),
   built in a fresh subprocess: build time, resident memory after the build and peak.

4. Optionally (``--mavoc-layout DIR``), first and cached load of a MAVOC-sized training folder
   (293,772 PNGs in class folders 0..9): DIR is filled with the synthetic set's chips if it
   does not exist yet (about 1.2 GB on disk; written once, reused afterwards).

    python benchmarks/bench_data.py [--epochs 5] [--threads N] [--skip-synthetic] [--mavoc-layout DIR] [--markdown]

"First" loads use an empty decode cache; the image files themselves are in the operating
system's page cache (they were read or written shortly before), as on a second session.

Real data: $SARTAIL_MSTAR_ROOT (default ../shared/data/mstar_soc10) and
$SARTAIL_MAVOC_TEST_ROOT (default ../shared/data/mavoc2022_test_sar). Goals: kit epoch >= 10x
faster than torchvision, cached load >= 10x faster than the first, synthetic set < 1.5 GB.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import torch

REPO = Path(__file__).resolve().parents[1]
MSTAR = Path(os.environ.get("SARTAIL_MSTAR_ROOT") or REPO.parent / "shared" / "data" / "mstar_soc10")
MAVOC_TEST = Path(os.environ.get("SARTAIL_MAVOC_TEST_ROOT") or REPO.parent / "shared" / "data" / "mavoc2022_test_sar")
BATCH = 128
GIB = 1024**3


# ---------------------------------------------------------------------------- machine load
def busy_processes(window: float = 1.0) -> list[str]:
    """Other processes using more than a fifth of a core over ``window`` seconds."""
    me = os.getpid()
    procs = [p for p in psutil.process_iter(["pid", "name", "cmdline"]) if p.info["pid"] != me]
    for p in procs:
        try:
            p.cpu_percent(None)
        except psutil.Error:
            pass
    time.sleep(window)
    out = []
    for p in procs:
        try:
            cpu = p.cpu_percent(None)
        except psutil.Error:
            continue
        if cpu > 20:
            cmd = " ".join(p.info["cmdline"] or [p.info["name"] or "?"])
            out.append(f"{cpu:.0f}% {cmd[:90]}")
    return out


# ---------------------------------------------------------------------------- loads
def timed_loads(loader, root: Path, cache: Path, **kw):
    """(first load s, cached load s, chips): the first into an empty cache folder."""
    t0 = time.perf_counter()
    chips = loader(root, cache=cache, progress=False, **kw)
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    again = loader(root, cache=cache, progress=False, **kw)
    cached = time.perf_counter() - t0
    assert torch.equal(again.images, chips.images) and torch.equal(again.labels, chips.labels)
    return first, cached, again


# ---------------------------------------------------------------------------- epochs
def kit_epoch(chips, g: torch.Generator) -> int:
    from sartail.data.augment import AugmentConfig, augment_batch

    cfg = AugmentConfig(crop=4, flip=True)
    order = torch.randperm(len(chips), generator=g)
    seen = 0
    for start in range(0, len(chips), BATCH):
        pos = order[start:start + BATCH]
        x = chips.pixels(pos).float()  # as the training loop takes a batch
        y = chips.labels[pos]  # what a training step would take along
        x = augment_batch(x, cfg, g)
        seen += min(x.shape[0], y.shape[0])
    return seen


def torchvision_loader(workers: int):
    from torchvision import datasets, transforms

    tf = transforms.Compose([
        transforms.CenterCrop(64),
        transforms.RandomCrop(64, padding=4),
        transforms.RandomHorizontalFlip(),
        transforms.ToTensor(),
    ])

    ds = datasets.ImageFolder(str(MSTAR / "train"), transform=tf, loader=grey_loader)
    return torch.utils.data.DataLoader(ds, batch_size=BATCH, shuffle=True, num_workers=workers)


def grey_loader(path: str):
    from PIL import Image

    with open(path, "rb") as fh:
        return Image.open(fh).convert("L")


def tv_epoch(loader) -> int:
    seen = 0
    for x, _ in loader:
        seen += x.shape[0]
    return seen


def epoch_times(fn, arg, epochs: int) -> list[float]:
    out = []
    for _ in range(epochs):
        t0 = time.perf_counter()
        n = fn(arg)
        out.append(time.perf_counter() - t0)
        assert n == 2746, n
    return out


# ---------------------------------------------------------------------------- synthetic
SYNTH_CHILD = r"""
import json, resource, sys, time, psutil, torch
threads = int(sys.argv[1])
if threads:
    torch.set_num_threads(threads)
from sartail.data import MAVOC_TRAIN_COUNTS
from sartail.data.sources.synthetic import generate
proc = psutil.Process()
base = proc.memory_info().rss
t0 = time.perf_counter()
chips = generate(list(MAVOC_TRAIN_COUNTS), size=56, seed=0, progress=False)
build = time.perf_counter() - t0
rss = proc.memory_info().rss
# the peak of this process image: VmHWM (ru_maxrss would carry over the parent's peak, since
# exec records the forked image's high-water mark)
try:
    peak = next(int(line.split()[1]) * 1024 for line in open("/proc/self/status") if line.startswith("VmHWM:"))
except (OSError, StopIteration):
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"n": len(chips), "build_s": build, "rss": rss, "peak": peak, "base": base,
                  "pixels": chips.images.numel(), "threads": torch.get_num_threads(),
                  "counts": chips.class_counts().tolist()}))
"""


def synthetic_build(threads: int) -> dict:
    proc = subprocess.run([sys.executable, "-c", SYNTH_CHILD, str(threads)], capture_output=True, text=True,
                          cwd=REPO, timeout=3600)
    if proc.returncode:
        raise SystemExit(f"synthetic build failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


WRITE_CHILD = r"""
import os, sys, torch
from PIL import Image
from sartail.data import MAVOC_TRAIN_COUNTS
from sartail.data.sources.synthetic import generate
root = sys.argv[1]
tmp = root + ".partial"
chips = generate(list(MAVOC_TRAIN_COUNTS), size=56, seed=0, progress=False)
px = chips.images.numpy()[:, 0]
for c in range(10):
    os.makedirs(os.path.join(tmp, str(c)), exist_ok=True)
for i, (a, lab) in enumerate(zip(px, chips.labels.tolist())):
    Image.fromarray(a).save(os.path.join(tmp, str(lab), f"SAR_{i}.png"))
os.replace(tmp, root)
"""


def mavoc_layout(root: Path) -> Path:
    """A MAVOC-sized training folder of synthetic PNG chips (written once, in a subprocess)."""
    if not root.is_dir():
        print(f"writing a MAVOC-sized PNG folder to {root} (once) ...", flush=True)
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", WRITE_CHILD, str(root)], check=True, cwd=REPO)
        print(f"  written in {time.perf_counter() - t0:.0f} s", flush=True)
    return root


# ---------------------------------------------------------------------------- main
WIDTH = 66


class Rows(list):
    """The result table; every row is also printed as soon as it is measured."""

    @staticmethod
    def format(name: str, value: str, ratio: str, goal: str) -> str:
        return f"{name:{WIDTH}s}  {value:>10s}  {ratio:40s}  {goal}"

    def append(self, row: tuple[str, str, str, str]) -> None:
        super().append(row)
        print("  " + self.format(*row), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--epochs", type=int, default=5, help="epochs timed per loader (median reported)")
    ap.add_argument("--threads", type=int, default=0, help="torch intra-op threads (0: torch's default)")
    ap.add_argument("--workers", default="0,2", help="DataLoader num_workers to time")
    ap.add_argument("--skip-synthetic", action="store_true")
    ap.add_argument("--mavoc-layout", type=Path, help="time loading a MAVOC-sized PNG folder here (made if absent)")
    ap.add_argument("--markdown", action="store_true", help="also print the figures as a Markdown table")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if not (MSTAR / "train").is_dir():
        raise SystemExit(f"MSTAR not found at {MSTAR} (set SARTAIL_MSTAR_ROOT)")

    import torchvision

    from sartail.data import load_mavoc, load_mavoc_test, load_mstar

    busy_before = busy_processes()
    load_before = os.getloadavg()
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}, "
          f"torchvision {torchvision.__version__}, {torch.get_num_threads()} torch threads")
    print(f"load average {load_before[0]:.2f}; other busy processes: {busy_before or 'none'}")
    rows = Rows()

    # 1. loads
    with tempfile.TemporaryDirectory() as tmp:
        first, cached, chips = timed_loads(load_mstar, MSTAR, Path(tmp) / "mstar", size=64)
        rows.append(("MSTAR load, 2,746 chips: first (empty cache)", f"{first:.2f} s", "", ""))
        rows.append(("MSTAR load: cached", f"{cached:.3f} s", f"{first / cached:.0f}x faster", ">= 10x"))
        if (MAVOC_TEST / "SAR").is_dir() or MAVOC_TEST.is_dir():
            mf, mc, _ = timed_loads(load_mavoc_test, MAVOC_TEST, Path(tmp) / "mavoc", size=56)
            rows.append(("MAVOC test load, 826 chips: first (empty cache)", f"{mf:.2f} s", "", ""))
            rows.append(("MAVOC test load: cached", f"{mc:.3f} s", f"{mf / mc:.0f}x faster", ">= 10x"))

        # 2. epochs (the chips stay memory-mapped from the cache, as in a real second run)
        g = torch.Generator().manual_seed(0)
        kit_epoch(chips, g)  # warm-up
        kit = epoch_times(lambda _: kit_epoch(chips, g), None, args.epochs)
        kit_med = statistics.median(kit)
        rows.append(("epoch over MSTAR: sartail (in memory, batched aug.)", f"{kit_med * 1000:.1f} ms", "", ""))
        for w in (int(x) for x in args.workers.split(",")):
            loader = torchvision_loader(w)
            tv = epoch_times(tv_epoch, loader, args.epochs)
            tv_med = statistics.median(tv)
            rows.append((f"epoch over MSTAR: torchvision ImageFolder, {w} workers", f"{tv_med:.2f} s",
                         f"kit {tv_med / kit_med:.0f}x faster", ">= 10x"))

    # 4. (optional) a MAVOC-sized folder of PNGs
    if args.mavoc_layout:
        root = mavoc_layout(args.mavoc_layout)
        with tempfile.TemporaryDirectory() as tmp:
            bf, bc, big = timed_loads(load_mavoc, root, Path(tmp), size=56)
        rows.append((f"MAVOC-sized PNG folder load, {len(big):,} chips: first (empty cache)", f"{bf:.0f} s",
                     f"{len(big) / bf:,.0f} chips/s", ""))
        rows.append(("MAVOC-sized PNG folder load: cached", f"{bc:.2f} s", f"{bf / bc:.0f}x faster", ">= 10x"))
        del big

    # 3. synthetic
    if not args.skip_synthetic:
        s = synthetic_build(args.threads)
        rows.append((f"synthetic MAVOC-sized set, {s['n']:,} chips 56x56: build ({s['threads']} threads)",
                     f"{s['build_s']:.0f} s", f"{s['n'] / s['build_s']:,.0f} chips/s", ""))
        rows.append(("synthetic set: resident memory (RSS) after build", f"{s['rss'] / GIB:.2f} GiB",
                     f"= {s['rss'] / 1e9:.2f} GB; pixels {s['pixels'] / GIB:.2f} GiB", "< 1.5 GB"))
        rows.append(("synthetic set: RSS of the process before the build (imports)", f"{s['base'] / GIB:.2f} GiB",
                     f"the set itself: {(s['rss'] - s['base']) / GIB:.2f} GiB", ""))
        rows.append(("synthetic set: peak RSS during the build", f"{s['peak'] / GIB:.2f} GiB", "", ""))

    busy_after = busy_processes()
    load_after = os.getloadavg()
    print()
    print(f"{'measure':{WIDTH}s}  {'value':>10s}  {'ratio / note':40s}  goal")
    for row in rows:
        print(Rows.format(*row))
    print(f"\nkit epochs (s): {' '.join(f'{t:.4f}' for t in kit)}")
    print(f"load average at the end {load_after[0]:.2f}; other busy processes: {busy_after or 'none'}")
    if args.markdown:
        print("\n| measure | value | ratio / note | goal |\n|---|---:|---|---|")
        for name, value, ratio, goal in rows:
            print(f"| {name} | {value} | {ratio} | {goal} |")


if __name__ == "__main__":
    main()
