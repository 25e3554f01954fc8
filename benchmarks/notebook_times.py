"""Wall and CPU time of every notebook run top to bottom on its shipped defaults.

The notebooks run in order (00 -> 06) in one fresh folder, as a reader would run them: 02-06
find the run the earlier ones trained. Each runs in a fresh kernel (nbclient, as
``jupyter nbconvert --execute``); its wall time includes the kernel's start, its CPU time is
the kernel's user + system time. A fresh decode cache is used unless ``--warm-cache``, so the
first notebook generates the synthetic chips as on a fresh clone. The machine's load average
is printed beside each notebook: on a shared machine wall time is larger than CPU time. The
executed notebooks are kept in ``<folder>/executed/`` (use ``--keep`` to look at them).

    PYTHONPATH=$PWD python benchmarks/notebook_times.py [--only 04,06] [--keep DIR] [--warm-cache]
        [--set NAME=VALUE ...]   # SARTAIL_NB_<NAME> overrides (tiny settings), e.g. --set SEEDS=[0]
"""
from __future__ import annotations

import argparse
import datetime
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
LIMIT_S = 60.0


def run_notebook(path: Path, workdir: Path) -> tuple[float, float]:
    """Execute one notebook in a fresh kernel with ``workdir`` as its folder; (wall s, kernel CPU s)."""
    import nbformat
    from nbclient import NotebookClient

    book = nbformat.read(path, as_version=4)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    NotebookClient(book, timeout=1200, kernel_name="python3", resources={"metadata": {"path": str(workdir)}}).execute()
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)  # the kernel has exited and been waited for
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    (workdir / "executed").mkdir(exist_ok=True)
    nbformat.write(book, workdir / "executed" / path.name)  # what each cell printed, for a look at where time went
    return wall, cpu


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", default="", help="comma-separated notebook prefixes, e.g. 04,06 (default: all)")
    ap.add_argument("--keep", default="", help="run in this folder (kept) instead of a temporary one")
    ap.add_argument("--warm-cache", action="store_true", help="use $SARTAIL_CACHE_DIR instead of a fresh cache")
    ap.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="a notebook parameter")
    args = ap.parse_args(argv)

    names = sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb"))
    if args.only:
        wanted = [w.strip() for w in args.only.split(",") if w.strip()]
        names = [n for n in names if any(n.startswith(w) for w in wanted)]
        if not names:
            ap.error(f"no notebook matches {args.only!r}")
    for item in args.set:
        key, eq, value = item.partition("=")
        if not eq:
            ap.error(f"--set expects NAME=VALUE, got {item!r}")
        os.environ[f"SARTAIL_NB_{key.upper()}"] = value
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    os.environ.setdefault("PYTHONPATH", str(REPO))
    os.environ["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"

    with tempfile.TemporaryDirectory(prefix="sartail-nb-") as tmp:
        workdir = Path(args.keep).resolve() if args.keep else Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        if not args.warm_cache:
            os.environ["SARTAIL_CACHE_DIR"] = str(Path(tmp) / "cache")
        print(f"{datetime.date.today()}, {os.cpu_count()} CPUs, {platform.machine()}, Python "
              f"{platform.python_version()}, in {workdir}", flush=True)
        print("| notebook | wall | CPU time | load average (1 min) | under 60 s? |")
        print("|---|---|---|---|---|", flush=True)
        worst = 0.0
        for name in names:
            wall, cpu = run_notebook(NOTEBOOKS / f"{name}.ipynb", workdir)
            load = os.getloadavg()[0]
            ok = "yes" if wall < LIMIT_S else ("CPU only" if cpu < LIMIT_S else "**no**")
            print(f"| `{name}` | {wall:.0f} s | {cpu:.0f} s | {load:.1f} | {ok} |", flush=True)
            worst = max(worst, wall)
        print(f"slowest: {worst:.0f} s wall (target: under {LIMIT_S:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
