"""Sector and grouped folds: the exact sector rule, nothing on both sides, class coverage, determinism,
errors that name the class, the random split unchanged, and runs that record their split and leakage."""
import json

import numpy as np
import pytest
import torch
from chip_textures import planted, textured_chips

from sartail.config import load_config
from sartail.data.chipset import ChipSet
from sartail.data.folds import (
    aspect_folds,
    fold_split,
    grouped_folds,
    near_duplicate_groups,
    sector_folds,
    split_note,
    sweep_period,
)
from sartail.data.leakage import shifted_copy
from sartail.data.longtail import stratified_split
from sartail.data.splits import prepare_data
from sartail.errors import ConfigError, DataError


def shuffled_numbers(per_class=(50, 37, 24), seed=0) -> ChipSet:
    """Chips whose file numbers are a shuffle of their sample order (as a folder scan may list them)."""
    rng = np.random.default_rng(seed)
    chips = textured_chips(per_class, size=24)
    ids = [f"c{c}/hb{n:05d}.jpeg" for c, n in zip(chips.labels.tolist(), rng.permutation(len(chips)) + 19000)]
    return ChipSet.from_tensors(chips.pixels(), chips.labels, chips.class_names, ids)


def reference_sector_folds(chips: ChipSet, n_sectors: int, n_folds: int, seed: int) -> np.ndarray:
    """The sector rule as written for the protocol, step by step."""
    rng = np.random.default_rng(seed)
    fold = np.full(len(chips), -1)
    ids = chips.chip_ids
    for name in sorted(chips.class_names):
        c = chips.class_names.index(name)
        members = [p for p in range(len(chips)) if int(chips.labels[p]) == c]
        members.sort(key=lambda p: (int(ids[p].split("hb")[1].split(".")[0]), ids[p]))
        perm = rng.permutation(n_sectors)
        for r, p in enumerate(members):
            block = r * n_sectors // len(members)
            fold[p] = int(np.flatnonzero(perm == block)[0]) % n_folds
    return fold


@pytest.mark.parametrize("seed", [0, 1, 7])
def test_sector_folds_follow_the_rule_exactly(seed):
    chips = shuffled_numbers()
    assert np.array_equal(sector_folds(chips, 4, seed), reference_sector_folds(chips, 12, 4, seed))


def test_sector_test_fold_is_three_contiguous_runs_of_file_numbers_in_every_class():
    chips = shuffled_numbers()
    rest, held = fold_split(chips, "sector", 0.25, seed=3)
    assert not set(rest.chip_ids) & set(held.chip_ids) and len(rest) + len(held) == len(chips)
    assert (held.class_counts() > 0).all() and (rest.class_counts() > 0).all()
    for c in range(3):
        numbers = sorted(int(i[-10:-5]) for i, lab in zip(chips.chip_ids, chips.labels.tolist()) if lab == c)
        inside = {int(i[-10:-5]) for i, lab in zip(held.chip_ids, held.labels.tolist()) if lab == c}
        flags = [n in inside for n in numbers]
        runs = sum(1 for a, b in zip([False] + flags, flags) if b and not a)
        assert 1 <= runs <= 3                                      # three blocks, adjacent ones merge
        assert abs(sum(flags) - len(numbers) / 4) <= 2


def test_folds_are_deterministic_under_the_seed_and_change_with_it():
    chips = shuffled_numbers()
    for split in ("sector", "grouped"):
        a, b, c = (fold_split(chips, split, 0.25, seed=s)[1].chip_ids for s in (5, 5, 6))
        assert a == b and a != c


def test_ids_without_numbers_keep_the_sample_order_and_say_so():
    letters = [f"x/{chr(97 + i // 26)}{chr(97 + i % 26)}.png" for i in range(48)][::-1]   # names against the order
    bare = textured_chips((24, 24), size=12, ids=letters)
    numbered = textured_chips((24, 24), size=12, ids=[f"x/{i}.png" for i in range(48)])
    assert "sample order" in split_note(bare, "sector") and "file name" in split_note(numbered, "sector")
    assert np.array_equal(sector_folds(bare, 4, 0), sector_folds(numbered, 4, 0))


def grouped_chips(groups_per_class=(6, 6), copies=2, seed=0) -> tuple[ChipSet, np.ndarray]:
    """Distinct chips each with ``copies`` shifted noisy copies: planted groups, and each chip's group."""
    base = textured_chips(groups_per_class, size=24, seed=seed)
    parts, group = [base], [np.arange(len(base))]
    for k in range(copies):
        parts.append(planted(base, range(len(base)), noise=0.3, seed=10 + k))
        group.append(np.arange(len(base)))
    pix = torch.cat([p.pixels() for p in parts])
    labels = torch.cat([p.labels for p in parts])
    return ChipSet.from_tensors(pix, labels, base.class_names), np.concatenate(group)


def test_near_duplicate_groups_are_the_planted_ones():
    chips, truth = grouped_chips()
    found = near_duplicate_groups(chips)
    pairs = lambda g: {(i, j) for i in range(len(g)) for j in range(len(g)) if g[i] == g[j]}  # noqa: E731
    assert pairs(found) == pairs(truth)


def test_grouped_split_keeps_every_group_on_one_side_and_covers_every_class():
    chips, truth = grouped_chips((8, 9))
    fold = grouped_folds(chips, 4, seed=2)
    for g in np.unique(truth):
        assert len(set(fold[truth == g].tolist())) == 1
    rest, held = fold_split(chips, "grouped", 0.25, seed=2)
    assert (held.class_counts() > 0).all() and (rest.class_counts() > 0).all()
    assert held.class_counts().tolist() == [6, 9]                      # groups dealt to the emptiest fold


def test_a_class_with_fewer_groups_or_sectors_than_folds_is_named():
    chips, _ = grouped_chips((6, 3))
    with pytest.raises(DataError, match=r"class 'c1'.* 3 near-duplicate groups, fewer than the 4 folds"):
        fold_split(chips, "grouped", 0.25)
    rest, held = fold_split(chips, "grouped", 0.25, strict=False)       # validation: one group held out
    assert held.class_counts().tolist()[1] == 3 and rest.class_counts().tolist()[1] == 6
    with pytest.raises(DataError, match=r"class 'c2'.* 3 sectors, fewer than the 10 folds"):
        fold_split(textured_chips((40, 40, 3), size=12), "sector", 0.1)
    with pytest.raises(DataError, match="unknown split 'sectors'.*sector"):
        fold_split(chips, "sectors", 0.25)


def test_random_split_is_the_stratified_split_unchanged():
    chips = shuffled_numbers()
    a, b = fold_split(chips, "random", 0.25, seed=4), stratified_split(chips, 0.25, seed=4)
    assert a[0].chip_ids == b[0].chip_ids and a[1].chip_ids == b[1].chip_ids


def test_split_defaults_and_bad_values():
    assert load_config("ce", {"data.train": "mstar:/x"}).data.split == "aspect"
    assert load_config("ce", {"data.train": "folder:/x"}).data.split == "random"
    assert load_config("ce", {"data.train": "mstar:/x", "data.split": "random"}).data.split == "random"
    with pytest.raises(ConfigError, match="data.split 'group'.*grouped"):
        load_config("ce", {"data.split": "group"})


def write_folder(root, write_chip, per_class=(24, 24), size=32):
    chips = textured_chips(per_class, size=size, seed=21)
    for i, c in enumerate(chips.labels.tolist()):
        write_chip(root / f"k{c}" / f"hb{i:04d}.png", chips.pixels(torch.tensor([i]))[0, 0].numpy())
    return root


def test_long_tailed_subsets_draw_only_from_the_training_side(tmp_path, write_chip):
    root = write_folder(tmp_path / "f", write_chip)
    over = {"data.train": f"folder:{root}", "data.size": 32, "data.split": "sector"}
    full = prepare_data(load_config("ce", over), progress=False)
    lt = prepare_data(load_config("ce", {**over, "data.profile": "exp", "data.ratio": 4}), progress=False)
    assert lt.test.chip_ids == full.test.chip_ids                       # the test fold comes first
    assert not set(lt.train.chip_ids + lt.val.chip_ids) & set(lt.test.chip_ids)
    assert not set(lt.train.chip_ids) & set(lt.val.chip_ids)
    assert lt.summary()["split"] == "sector" and lt.summary()["test_leakage"]["test_chips"] == len(lt.test)


def test_results_json_records_the_split_and_the_test_folds_leakage(tmp_path, write_chip):
    from tiny_runs import TINY

    from sartail import Run

    root = write_folder(tmp_path / "f", write_chip)
    cfg = load_config("ce", {**TINY, "data.train": f"folder:{root}", "data.size": 32, "data.split": "sector"})
    Run.create(cfg, tmp_path / "run", progress=False).fit_and_test()
    data = json.loads((tmp_path / "run" / "results.json").read_text())["data"]
    assert data["split"] == "sector" and "file name" in data["split_note"]
    leak = data["test_leakage"]
    assert leak["near_duplicate_share"] == 0.0 and leak["test_chips"] == sum(data["test_counts"]) == 12


def swept(periods=(30, 26), sweeps=3, seed=0) -> ChipSet:
    """Chips whose file order sweeps an aspect circle ``sweeps`` times: rank ``r`` of class ``c`` is a
    shifted noisy copy of the class's pose ``r % periods[c]`` (as MSTAR's file order repeats its azimuths)."""
    poses = textured_chips(periods, size=24, seed=seed)
    pix, labels, ids = [], [], []
    for c, period in enumerate(periods):
        base = poses.pixels(torch.nonzero(poses.labels == c).reshape(-1))
        for s in range(sweeps):
            pix.append(shifted_copy(base, shift=(s % 2, 1), noise=0.3, seed=seed + 10 * c + s))
            labels += [c] * period
            ids += [f"c{c}/hb{19000 + 1000 * c + s * period + r:05d}.jpeg" for r in range(period)]
    return ChipSet.from_tensors(torch.cat(pix), torch.as_tensor(labels), poses.class_names, ids)


def test_sweep_period_is_found_and_a_class_without_sweeps_is_one_sweep():
    chips = swept()
    for c, period in enumerate((30, 26)):
        assert sweep_period(chips.take(torch.nonzero(chips.labels == c).reshape(-1))) == period
    plain = textured_chips((60,), size=24)
    assert sweep_period(plain) == 60


@pytest.mark.parametrize("seed", [0, 3])
def test_aspect_folds_hold_out_whole_arcs_of_every_sweep(seed):
    chips = swept()
    fold = aspect_folds(chips, 4, seed)
    assert np.array_equal(fold, aspect_folds(chips, 4, seed))
    for c, period in enumerate((30, 26)):
        rank = np.array([int(i[-10:-5]) - 19000 - 1000 * c for i in chips.chip_ids])
        mine = chips.labels.numpy() == c
        phase_fold = {}
        for r, f in zip(rank[mine] % period, fold[mine]):
            assert phase_fold.setdefault(int(r), int(f)) == f  # one pose, one side, in every sweep
        held = [phase_fold[r] == 0 for r in range(period)]
        runs = sum(1 for a, b in zip(held[-1:] + held[:-1], held) if b and not a)
        assert 1 <= runs <= 3 and abs(sum(held) - period / 4) <= 2  # three arcs of the circle, adjacent ones merge
    assert set(fold.tolist()) == {0, 1, 2, 3}


def test_aspect_split_without_sweeps_is_the_sector_split_and_is_named():
    chips = shuffled_numbers()
    assert np.array_equal(aspect_folds(chips, 4, 5), sector_folds(chips, 4, 5))
    rest, held = fold_split(swept(), "aspect", 0.25, seed=1)
    assert len(rest) + len(held) == 168 and (held.class_counts() > 0).all()
    assert split_note(held, "aspect").startswith("aspect: 3 arcs of the aspect circle per fold")
    with pytest.raises(DataError, match=r"class 'c1'.* 3 aspect sectors, fewer than the 4 folds"):
        aspect_folds(textured_chips((20, 3), size=24), 4, 0)
