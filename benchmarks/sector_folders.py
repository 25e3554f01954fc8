"""Write one sector fold of the MSTAR chips as two folders of links, for ``sartail run --test``.

The kit's ``--data mstar:TRAIN`` carves its own stratified random fold; to score the kit on the
held-out aspect sectors of ``plain_mstar.py`` (the same rule, the same chips), this writes
``OUT/train/<class>/<file>`` and ``OUT/test/<class>/<file>`` as symbolic links to the chips:

    python benchmarks/sector_folders.py OUT [--sectors 12 --folds 4 --test-fold 0 --split-seed 0]
    sartail run ce --data mstar:OUT/train --test mstar:OUT/test --seeds 0,1 --threads 1
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from plain_mstar import MSTAR, sector_folds

from sartail.data.sources import load_mstar


def main(argv: list[str] | None = None) -> dict[str, int]:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("out", type=Path, help="folder to write train/ and test/ into (must not exist)")
    p.add_argument("--sectors", type=int, default=12)
    p.add_argument("--folds", type=int, default=4)
    p.add_argument("--test-fold", type=int, default=0)
    p.add_argument("--split-seed", type=int, default=0)
    p.add_argument("--root", type=Path, default=MSTAR, help="the MSTAR class folders")
    args = p.parse_args(argv)
    if args.out.exists():
        raise SystemExit(f"{args.out}: already exists; give a new folder")
    chips = load_mstar(args.root, size=64, progress=False)
    ids = chips.chip_ids
    fold = sector_folds(chips.labels.numpy(), ids, list(chips.class_names), args.sectors, args.folds,
                        args.split_seed)
    counts = {"train": 0, "test": 0}
    for chip_id, f in zip(ids, fold.tolist()):
        side = "test" if f == args.test_fold else "train"
        link = args.out / side / chip_id
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to((args.root / chip_id).resolve())
        counts[side] += 1
    print(json.dumps(counts))
    return counts


if __name__ == "__main__":
    main()
