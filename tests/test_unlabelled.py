"""Unlabelled pools: parsing a pool spec, the protocol pool, and each bad input's one-line error."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from sartail.data.chipset import ChipSet
from sartail.data.longtail import long_tailed, stratified_split
from sartail.data.unlabelled import check_pool, drop_labels, load_unlabelled, protocol_pool
from sartail.errors import DataError


def test_class_folders_lose_their_labels(folder_layout):
    pool = load_unlabelled(f"folder:{folder_layout}", 40)
    assert len(pool) == 9 and pool.chip_size == (40, 40)
    assert (pool.labels == -1).all() and not pool.labelled


def test_flat_chip_folder(tmp_path, write_chip):
    for i in range(5):
        write_chip(tmp_path / "flat" / f"chip{i}.png", np.full((30, 30), 10 * i, np.uint8))
    pool = load_unlabelled(f"folder:{tmp_path / 'flat'}", 32)
    assert len(pool) == 5 and pool.chip_size == (32, 32)  # padded to the run's size, as the run's chips are
    assert sorted(int(v) for v in pool.pixels()[:, 0, 16, 16]) == [0, 10, 20, 30, 40]


def test_labelled_mavoc_and_mavoc_test(make_mavoc_layout, tmp_path, write_chip):
    labelled = load_unlabelled(f"mavoc:{make_mavoc_layout(tmp_path / 'm', counts=(2,) * 10)}", 56)
    assert len(labelled) == 20 and (labelled.labels == -1).all()
    for i in range(3):
        write_chip(tmp_path / "t" / f"SAR_{i}.png", np.full((56, 56), 7, np.uint8))
    test_pool = load_unlabelled(f"mavoc_test:{tmp_path / 't'}", 56)
    assert len(test_pool) == 3 and (test_pool.labels == -1).all()


def test_empty_pool_is_an_error(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="holds no chips"):
        load_unlabelled(f"folder:{tmp_path / 'empty'}", 32)
    empty = ChipSet.from_tensors(torch.zeros(0, 1, 8, 8, dtype=torch.uint8), [], ["a"])
    with pytest.raises(DataError, match="holds no chips") as e:
        check_pool(empty, 8)
    assert "\n" not in str(e.value)


def test_other_chip_size_is_an_error():
    pool = ChipSet.from_tensors(torch.zeros(3, 1, 48, 48, dtype=torch.uint8), [-1] * 3, ["a"])
    with pytest.raises(DataError, match="48x48 px chips but the run's are 64x64") as e:
        check_pool(pool, 64)
    assert "\n" not in str(e.value)
    assert check_pool(pool, (48, 48)) is pool


def test_naming_the_test_set_is_an_error_unless_transductive(folder_layout):
    spec = f"folder:{folder_layout}"
    with pytest.raises(DataError, match="is the labelled test set") as e:
        load_unlabelled(spec, 40, test_specs=[f"folder:{folder_layout}/"])
    assert "\n" not in str(e.value)
    assert len(load_unlabelled(spec, 40, test_specs=[spec], transductive=True)) == 9
    assert len(load_unlabelled(spec, 40, test_specs=["synthetic"])) == 9


def test_unknown_kind_and_generated_kind_are_errors():
    with pytest.raises(DataError, match="unknown data kind"):
        load_unlabelled("nope:/x", 32)
    with pytest.raises(DataError, match="chips on disk"):
        load_unlabelled("synthetic", 32)


def _chips(n_per_class=(40, 40, 40)) -> ChipSet:
    labels = [c for c, n in enumerate(n_per_class) for _ in range(n)]
    images = torch.arange(len(labels), dtype=torch.uint8)[:, None, None, None].expand(-1, 1, 4, 4).clone()
    return ChipSet.from_tensors(images, labels, ["a", "b", "c"], [f"c{y}/{i:03d}" for i, y in enumerate(labels)])


def test_protocol_pool_leaves_out_training_validation_and_test_chips():
    full = _chips()
    rest, test = stratified_split(full, 0.25, seed=0)
    lt = long_tailed(rest, "exp", 10, seed=1)
    train, val = stratified_split(lt, 0.1, seed=1)
    pool = protocol_pool(full, [train, val, test])
    used = set(train.chip_ids) | set(val.chip_ids) | set(test.chip_ids)
    assert not used & set(pool.chip_ids)
    assert len(pool) == len(full) - len(used) > 0
    assert (pool.labels == -1).all() and pool.images is full.images  # a view, labels dropped
    with pytest.raises(DataError, match="protocol pool .* is empty"):
        protocol_pool(full, [full])


def test_drop_labels_shares_pixels():
    full = _chips()
    assert drop_labels(full).images is full.images and (full.labels >= 0).all()
