"""``data.load_size``: train on random crops of real pixels of a larger centre region, score the centre."""
import torch
from tiny_runs import TINY

from sartail import Run, load_config, prepare_data
from sartail.data.augment import random_crop


def test_random_crop_cuts_windows_of_real_pixels():
    x = torch.arange(2 * 10 * 10, dtype=torch.float32).reshape(2, 1, 10, 10)
    out = random_crop(x, 6, torch.Generator().manual_seed(0))
    assert out.shape == (2, 1, 6, 6)
    for i in range(2):  # every output is a contiguous window of its own chip
        hits = [(dy, dx) for dy in range(5) for dx in range(5) if torch.equal(out[i, 0], x[i, 0, dy:dy + 6, dx:dx + 6])]
        assert len(hits) == 1


def test_load_size_keeps_training_chips_larger_and_scores_the_centre(tmp_path):
    over = {**TINY, "data.size": 32, "data.load_size": 40}
    data = prepare_data(load_config("ce", over), progress=False)
    assert data.train.chip_size == (40, 40) and data.val.chip_size == data.test.chip_size == (32, 32)
    big = prepare_data(load_config("ce", {**TINY, "data.size": 40}), progress=False)
    assert torch.equal(data.test.pixels(), big.test.pixels()[..., 4:36, 4:36])  # the centre of the loaded region
    assert torch.equal(data.train.pixels(), big.train.pixels())  # training keeps the whole region
    res = Run.create(load_config("ce", over), tmp_path / "r", data=data, progress=False).fit_and_test()
    assert res.final.n == len(data.test)
